"""The contract, §4 exposure: one sentence per test, numbers worked by hand.

Each test writes a small client folder the way a client would send it and goes
only through the public entry points (docs/contract.md).
"""

from __future__ import annotations

import pandas as pd
import pytest
from contract_support import (
    cli,
    client,
    ep,
    exp,
    imp,
    ip,
    run_folder,
)

import immex_nb
from immex_nb.cli import main

EXPOSURE_COLUMNS = [
    "import_pedimento",
    "import_line",
    "part_number",
    "status",
    "open",
    "open_value_mxn",
    "igi",
    "dta",
    "iva",
    "actualizacion",
    "recargos",
    "multa",
    "total",
]


def _exposure_folder(tmp_path):
    """Three lines, valued as of 2026-03-10 (see the tests)."""
    return client(
        tmp_path,
        [
            imp(ip(1), 1, "2024-03-15", "EXP", 10, mxn=50000, igi=0.10, prosec_rate=0.05),
            imp(ip(2), 1, "2025-06-20", "PRO", 100, mxn=80000, igi=0.15, prosec_rate=0.05),
            imp(ip(3), 1, "2019-02-10", "PRESS", 1, mt="AF", mxn=100000, igi=0.10),
            imp(ip(4), 1, "2025-01-10", "DONE", 5, mxn=999, igi=0.10),
        ],
        [
            exp(ep(1), 1, "2024-05-02", "EXP", 4),
            exp(ep(2), 1, "2025-02-01", "DONE", 5),
            exp(ep(3), 1, "2026-03-11", "PRO", 100),  # after as-of: ignored
        ],
    )


def _exposure_rows(df):
    df = df.copy()
    df["import_pedimento"] = df["import_pedimento"].astype(str)
    return {r["import_pedimento"]: r for r in df.to_dict("records")}


EXPIRED_LINE = {
    "status": "expired",
    "open": 6.0,
    "open_value_mxn": 30000.0,
    "igi": 3000.0,
    "dta": 240.0,
    "iva": 5318.4,
    "actualizacion": 634.17744,
    "recargos": 3353.452250112,
    "multa": 0.0,
    "total": 12546.029690112,
}
PROSEC_LINE = {
    "status": "in_time",
    "open": 100.0,
    "open_value_mxn": 80000.0,
    "igi": 4000.0,
    "dta": 640.0,
    "iva": 13542.4,
    "actualizacion": 102.0,
    "recargos": 0.0,
    "multa": 0.0,
    "total": 18284.4,
}
AF_LINE = {
    "status": "in_time",
    "open": 1.0,
    "open_value_mxn": 100000.0,
    "igi": 10000.0,
    "dta": 800.0,
    "iva": 17728.0,
    "actualizacion": 3925.0,
    "recargos": 0.0,
    "multa": 0.0,
    "total": 32453.0,
}


def _check_line(row, want, tol):
    for k, v in want.items():
        if isinstance(v, str):
            assert row[k] == v, k
        else:
            assert row[k] == pytest.approx(v, abs=tol), k


def test_exposure_cli_hand_worked_lines(tmp_path):
    """§4: "`immex-nb exposure DATA_DIR --out OUT_DIR --as-of YYYY-MM-DD` writes
    `exposure.csv`, one row per import line still open after the discharge with
    the same cut-off: `import_pedimento, import_line, part_number, status
    (in_time | expired), open, open_value_mxn, igi, dta, iva, actualizacion,
    recargos, multa, total`".  As of 2026-03-10 (F's numerator: INPC Feb-2026 is
    beyond the table → the last published, Jan-2026 143.588).

    Expired line I1: 2024-03-15 MP, 10 units, MXN 50,000, igi 10 %, PROSEC 5 %;
    4 returned → open 6.  Deadline 2025-09-15 < as-of → expired, general rate.
    open value 50,000×6/10 = 30,000; igi 3,000; dta 240; iva 0.16×33,240 =
    5,318.4; tax 8,558.4.  F = 143.588 / INPC Feb-2024 133.681 = 1.074109… →
    1.0741; actualizacion = 8,558.4×0.0741 = 634.17744.  n: 2024-03-15 + 23
    months = 2026-02-15 < as-of ≤ + 24 → 24 months starting 2024-03-15 …
    2026-02-15: 22 start before 2026 (1.47 %) and 2 in 2026 (2.07 %) → Σ =
    0.3234 + 0.0414 = 0.3648; recargos = 9,192.57744×0.3648 = 3,353.452250112;
    multa 0; total = 12,546.029690112.

    In-time PROSEC line I2: 2025-06-20 MP, 100 units, MXN 80,000, igi 15 %,
    PROSEC 5 %; its export is dated 2026-03-11 (after the cut-off) → open 100.
    Deadline 2026-12-20 → in_time; rate min(15 %, 5 %) = 5 % → igi 4,000; dta
    640; iva 0.16×84,640 = 13,542.4; F = 143.588 / INPC May-2025 140.012 =
    1.02554… → 1.0255; actualizacion = igi × 0.0255 = 102; recargos = multa =
    0; total 18,284.4.

    AF line I3: 2019-02-10, MXN 100,000, igi 10 %: never expires (in_time);
    igi 10,000; dta 800; iva 17,728; F = 143.588 / Jan-2019 103.108 =
    1.39259… → 1.3925; actualizacion 3,925; total 32,453.
    I4 is fully returned: no row.
    """
    folder = _exposure_folder(tmp_path)
    out = tmp_path / "out"
    p = cli(["exposure", str(folder), "--out", str(out), "--as-of", "2026-03-10"])
    assert p.returncode == 0, p.stderr
    df = pd.read_csv(out / "exposure.csv", dtype={"import_pedimento": str})
    assert list(df.columns[: len(EXPOSURE_COLUMNS)]) == EXPOSURE_COLUMNS or set(
        EXPOSURE_COLUMNS
    ) <= set(df.columns)
    rows = _exposure_rows(df)
    assert set(rows) == {ip(1), ip(2), ip(3)}
    assert rows[ip(1)]["part_number"] == "EXP" and int(rows[ip(1)]["import_line"]) == 1
    _check_line(rows[ip(1)], EXPIRED_LINE, 0.005)
    _check_line(rows[ip(2)], PROSEC_LINE, 0.005)
    _check_line(rows[ip(3)], AF_LINE, 0.005)


def test_exposure_api_full_precision(tmp_path):
    """§4: "Full precision inside; money rounds to cents only for display":
    ``immex_nb.exposure(balances, as_of)`` on the balances of a discharge with
    the same cut-off gives the hand-worked numbers to 1e-6 (see
    ``test_exposure_cli_hand_worked_lines``)."""
    r = run_folder(_exposure_folder(tmp_path), as_of="2026-03-10")
    df = immex_nb.exposure(r.balances, "2026-03-10")
    assert set(EXPOSURE_COLUMNS) <= set(df.columns)
    rows = _exposure_rows(df)
    assert set(rows) == {ip(1), ip(2), ip(3)}
    _check_line(rows[ip(1)], EXPIRED_LINE, 1e-6)
    _check_line(rows[ip(2)], PROSEC_LINE, 1e-6)
    _check_line(rows[ip(3)], AF_LINE, 1e-6)


def test_exposure_expiry_boundary_and_prosec_only_when_lower(tmp_path):
    """§4: "`expired` ⇔ `deadline < as_of`" and "In time …: IGI rate = the lower
    of `igi_rate` and `prosec_rate` (when given)".  Import 2024-08-31 MP,
    deadline 2026-02-28: as of 2026-02-28 in_time, as of 2026-03-01 expired.
    igi 10 %, PROSEC 20 % (higher): in time the rate stays 10 % → igi on MXN
    1,000 = 100."""
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2024-08-31", "P", 1, mxn=1000, igi=0.10, prosec_rate=0.20)],
        [exp(ep(1), 1, "2024-09-01", "OTHER", 1)],
    )
    for as_of, status in (("2026-02-28", "in_time"), ("2026-03-01", "expired")):
        r = run_folder(folder, as_of=as_of)
        row = immex_nb.exposure(r.balances, as_of).iloc[0]
        assert row["status"] == status, as_of
        assert row["igi"] == pytest.approx(100.0)


def test_exposure_fine_rate(tmp_path):
    """§4: "`multa = tax × fine_rate` (default 0 …)" and `--fine-rate R`.  With
    R = 0.7: expired I1 multa = 8,558.4×0.7 = 5,990.88 → total 12,546.029690112
    + 5,990.88 = 18,536.90969…; in-time lines keep multa 0."""
    folder = _exposure_folder(tmp_path)
    out = tmp_path / "out"
    args = ["exposure", str(folder), "--out", str(out), "--as-of", "2026-03-10"]
    assert main([*args, "--fine-rate", "0.7"]) == 0
    rows = _exposure_rows(pd.read_csv(out / "exposure.csv", dtype={"import_pedimento": str}))
    assert rows[ip(1)]["multa"] == pytest.approx(5990.88, abs=0.005)
    assert rows[ip(1)]["total"] == pytest.approx(18536.909690112, abs=0.005)
    assert rows[ip(2)]["multa"] == 0 and rows[ip(3)]["multa"] == 0
    assert rows[ip(2)]["total"] == pytest.approx(18284.4, abs=0.005)


@pytest.mark.parametrize(
    ("as_of", "months"), [("2024-03-05", 26), ("2024-03-10", 26), ("2024-03-11", 27)]
)
def test_exposure_months_or_fraction(tmp_path, as_of, months):
    """§4: "`n` = months *or fraction* from the import date to `as_of`
    (2024-01-10 → 2024-03-05 is 2; → 2024-03-10 is 2; → 2024-03-11 is 3)" —
    the same boundaries two years earlier: import 2022-01-10 (MP, deadline
    2023-07-10, so expired on each as-of): → 2024-03-05 and → 2024-03-10 are
    26 months, → 2024-03-11 is 27.  All start before 2026 → Σ = n × 1.47 %, so
    recargos ÷ (tax + actualizacion) = 0.3822 or 0.3969.  Value 10,000, igi 10 %:
    tax = 1,000 + 80 + 0.16×11,080 = 2,852.8; F = INPC Feb-2024 133.681 / Dec-2021
    117.308 = 1.13957… → 1.1395; actualizacion = 397.9656."""
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2022-01-10", "OLD", 1, mxn=10000, igi=0.10)],
        [exp(ep(1), 1, "2022-02-01", "OTHER", 1)],
    )
    r = run_folder(folder, as_of=as_of)
    row = immex_nb.exposure(r.balances, as_of).iloc[0]
    assert row["status"] == "expired"
    assert row["actualizacion"] == pytest.approx(397.9656, abs=1e-6)
    tax = row["igi"] + row["dta"] + row["iva"]
    assert tax == pytest.approx(2852.8, abs=1e-6)
    assert row["recargos"] / (tax + row["actualizacion"]) == pytest.approx(months * 0.0147)


def test_exposure_surcharge_months_capped_at_60(tmp_path):
    """§4: "… at most 60".  Import 2019-02-10 MP, as of 2026-03-10: 86 months or
    fraction → 60, starting 2019-02-10 … 2024-01-10, all at 1.47 % → Σ = 0.882."""
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2019-02-10", "OLD", 1, mxn=10000, igi=0.10)],
        [exp(ep(1), 1, "2022-02-01", "OTHER", 1)],
    )
    r = run_folder(folder, as_of="2026-03-10")
    row = immex_nb.exposure(r.balances, "2026-03-10").iloc[0]
    tax = row["igi"] + row["dta"] + row["iva"]
    assert row["recargos"] / (tax + row["actualizacion"]) == pytest.approx(0.882)


def test_exposure_one_row_per_open_line_in_pedimento_order(tmp_path):
    """§4: "one row per import line still open after the discharge", whatever
    the order of the client's file.  Imports listed I5/2, I2, I5/1, I3, I1;
    exports return all of I2 (FIFO: the oldest line of part A) and 1 of the
    2 units of I1 (part B).  As of 2026-03-10: I1 (1 open), I3, I5/1, I5/2 —
    sorted by pedimento then line; I2 has no row."""
    folder = client(
        tmp_path,
        [
            imp(ip(5), 2, "2025-07-01", "C", 3),
            imp(ip(2), 1, "2024-01-05", "A", 4),
            imp(ip(5), 1, "2025-07-01", "C", 1),
            imp(ip(3), 1, "2025-02-01", "A", 2),
            imp(ip(1), 1, "2024-06-01", "B", 2),
        ],
        [exp(ep(1), 1, "2024-08-01", "A", 4), exp(ep(2), 1, "2024-08-01", "B", 1)],
    )
    r = run_folder(folder, as_of="2026-03-10")
    df = immex_nb.exposure(r.balances, "2026-03-10")
    keys = list(zip(df["import_pedimento"], df["import_line"], strict=True))
    assert keys == [(ip(1), 1), (ip(3), 1), (ip(5), 1), (ip(5), 2)]
    assert df["open"].tolist() == [1.0, 2.0, 1.0, 3.0]
    assert df["status"].tolist() == ["expired", "in_time", "in_time", "in_time"]
