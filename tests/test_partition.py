"""The discharge partitioned over a Dask cluster (immex_nb.partition) gives the
single-process frames row for row, and the commands write byte-identical CSVs.

docs/batch.md: parts connected through the BOM form components; each group of
components is one task; the results are put back in the engine's order.
"""

from __future__ import annotations

import filecmp
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from test_discharge import _frames, bom, exp, imp, ledgers

from immex_nb.discharge import discharge
from immex_nb.partition import components, discharge_partitioned, part_groups, part_order

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as c:
        yield c


def _csv(result) -> dict[str, str]:
    return {
        name: getattr(result, name).to_csv(index=False)
        for name in ("allocations", "balances", "shortfalls")
    }


def test_components_follow_the_bom():
    """F0 → S0 → P0 and F0 → P1 are one component; P2 alone; X (export only) alone."""
    i = imp(
        [
            (1, 1, "2024-01-01", "P0", 5),
            (1, 2, "2024-01-01", "P1", 5),
            (2, 1, "2024-01-02", "P2", 1),
        ]
    )
    e = exp([(11, 1, "2024-02-01", "F0", 1), (11, 2, "2024-02-01", "X", 1)])
    b = bom(
        [
            ("F0", "S0", 1, 0, None, None),
            ("S0", "P0", 2, 0, None, None),
            ("F0", "P1", 1, 0, None, None),
        ]
    )
    parts = part_order(i, e, b)
    label = dict(zip(parts, components(parts, b), strict=True))
    assert label["F0"] == label["S0"] == label["P0"] == label["P1"]
    assert len({label["F0"], label["P2"], label["X"]}) == 3
    _, group = part_groups(i, e, b, n_groups=2)
    assert len(set(group)) == 2  # the big component on one side, the rest on the other


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ledgers())
def test_partitioned_equals_single_process(client, case):
    i, e, b, as_of = _frames(case)
    single = discharge(i, e, b, as_of=as_of)
    for n_groups in (1, 3):
        split = discharge_partitioned(i, e, b, as_of, client=client, n_groups=n_groups)
        assert _csv(split) == _csv(single)
        assert split.reference_date == single.reference_date


@pytest.mark.slow
def test_commands_write_byte_identical_files_on_a_local_cluster(tmp_path):
    """``--workers 2`` (a real local cluster of two processes) writes the same
    allocations, balances and shortfalls as a run in one process; the exposure
    of a partitioned run equals the single-process one too."""
    from immex_nb.cli import main

    client = ROOT / "data" / "demo" / "electronica-norte"
    one, two = tmp_path / "one", tmp_path / "two"
    for out, extra in ((one, []), (two, ["--workers", "2"])):
        assert (
            main(["discharge", str(client), "--out", str(out), "--as-of", "2026-10-31", *extra])
            == 0
        )
        assert (
            main(["exposure", str(client), "--out", str(out), "--as-of", "2026-10-31", *extra]) == 0
        )
    for name in ("allocations", "balances", "shortfalls", "exposure", "exposure_summary"):
        assert filecmp.cmp(one / f"{name}.csv", two / f"{name}.csv", shallow=False), name
    assert len(pd.read_csv(one / "allocations.csv")) > 1000


def test_exposure_of_a_partitioned_run(client):
    from immex_nb import load
    from immex_nb.run import ClientRun

    ledger = load(ROOT / "data" / "demo" / "autopartes-bajio")
    single = ClientRun(ledger, "2026-09-30").exposure
    split = ClientRun(ledger, "2026-09-30", client=client).exposure
    assert split.to_csv(index=False) == single.to_csv(index=False)


def test_workers_and_scheduler_exclude_each_other(capsys):
    from immex_nb.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["discharge", "x", "--out", "y", "--workers", "2", "--scheduler", "tcp://h:1"])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_unreachable_scheduler_is_one_line(tmp_path, capsys):
    from immex_nb.cli import main

    client = ROOT / "data" / "demo" / "textiles-sonora"
    code = main(
        ["discharge", str(client), "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert sys.modules.get("immex_nb.partition") is not None
