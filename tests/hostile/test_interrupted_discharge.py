"""``discharge --out`` used to rename its files into OUT one by one: a kill
between renames left a new allocations.csv beside the old balances,
shortfalls and manifest, and ``.staging-*`` folders nothing removed.  The set
is now published by one atomic exchange of folders; a killed run leaves the
old set whole, and the next run removes its staging folder."""

from __future__ import annotations

import json

import pandas as pd

from hostile.conftest import (
    EXPORTS_HEADER,
    IMPORTS_HEADER,
    accounted,
    import_line,
    no_traceback,
    run_cli,
    write_client,
)

SET = ("allocations.csv", "balances.csv", "shortfalls.csv", "manifest.json")
#: a kill (no clean-up runs) just before, or just after, the set is exchanged
KILL_BEFORE = (
    "import os, immex_nb.outputs as o\no.exchange_folders = lambda *a, **k: os._exit(137)\n"
)
KILL_AFTER = (
    "import os, immex_nb.outputs as o\n"
    "real = o.exchange_folders\n"
    "o.exchange_folders = lambda *a, **k: (real(*a, **k), os._exit(137))\n"
)


def _folder(tmp_path):
    imports = [IMPORTS_HEADER, import_line(1, "P-1"), import_line(2, "P-2")]
    exports = [
        EXPORTS_HEADER,
        "24 47 3420 4009999,1,RT,2024-03-01,P-1,10",
        "24 47 3420 4009999,2,RT,2024-05-01,P-1,500",  # a shortfall, only from May on
    ]
    return write_client(tmp_path / "acme", "\n".join(imports) + "\n", "\n".join(exports) + "\n")


def _discharge(folder, out, as_of, prelude=""):
    p = run_cli("discharge", folder, "--out", out, "--as-of", as_of, prelude=prelude)
    no_traceback(p)
    return p


def _snapshot(out):
    return {n: (out / n).read_bytes() for n in SET}


def _same_set(out, reference) -> None:
    got = _snapshot(out)
    for name in SET[:3]:
        assert got[name] == reference[name], name
    manifest = json.loads(got["manifest.json"])
    assert manifest["parameters"] == json.loads(reference["manifest.json"])["parameters"]
    for name in SET[:3]:
        assert manifest["row_counts"][name[:-4]] == len(pd.read_csv(out / name))


def _staging(tmp_path):
    return sorted(p.name for p in tmp_path.rglob(".staging-*"))


def test_a_killed_discharge_leaves_one_whole_set(tmp_path):
    folder = _folder(tmp_path)
    refs = {}
    for as_of in ("2024-03-31", "2024-06-30"):  # each run's set, written on its own
        ref = tmp_path / f"ref-{as_of}"
        assert _discharge(folder, ref, as_of).returncode == 0
        refs[as_of] = _snapshot(ref)
    p = run_cli("validate", folder, "--out", tmp_path / "v")
    no_traceback(p)
    assert p.returncode == 0, p.stderr
    assert accounted(tmp_path / "v") == {"read": 2, "loaded": 2, "rejected": 0}
    assert accounted(tmp_path / "v", "exports") == {"read": 2, "loaded": 2, "rejected": 0}
    out = tmp_path / "out"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "keep.txt").write_text("the consultant's own file")
    assert _discharge(folder, out, "2024-03-31").returncode == 0
    _same_set(out, refs["2024-03-31"])

    p = _discharge(folder, out, "2024-06-30", prelude=KILL_BEFORE)
    assert p.returncode == 137
    _same_set(out, refs["2024-03-31"])  # the old set, whole
    assert _staging(tmp_path)  # the killed run's staging folder is left behind

    p = _discharge(folder, out, "2024-06-30", prelude=KILL_AFTER)
    assert p.returncode == 137
    _same_set(out, refs["2024-06-30"])  # the new set, whole

    p = _discharge(folder, out, "2024-06-30")
    assert p.returncode == 0, p.stderr
    _same_set(out, refs["2024-06-30"])
    assert _staging(tmp_path) == []  # stale staging removed by the next run
    assert (out / "notes" / "keep.txt").read_text() == "the consultant's own file"
    assert set(SET) <= {f.name for f in out.iterdir()}
