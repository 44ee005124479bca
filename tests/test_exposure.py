"""Exposure (docs/rules/exposure.md) and ageing, each formula on a line worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immex_nb.ageing import BUCKETS, ageing, ageing_summary, bucket
from immex_nb.dates import months_or_fraction
from immex_nb.errors import ImmexError
from immex_nb.exposure import (
    CONTRACT_COLUMNS,
    exposure,
    exposure_summary_table,
    summarize_exposure,
    surcharge_rate_sum,
)
from immex_nb.rates import Rates


def balance(**kw) -> dict:
    row = {
        "import_pedimento": "22 47 3420 2000001",
        "import_line": 1,
        "import_date": "2022-11-20",
        "part_number": "P-1",
        "material_type": "MP",
        "quantity": 10.0,
        "open": 10.0,
        "value_mxn": 100_000.0,
        "value_usd": 5_000.0,
        "deadline": None,
        "origin": "CHN",
        "fraccion": "85444999",
        "igi_rate": 0.10,
        "prosec_rate": np.nan,
    }
    row.update(kw)
    if row["deadline"] is None and row["material_type"] != "AF":
        months = 24 if row["material_type"] == "CT" else 18
        row["deadline"] = (
            pd.Timestamp(row["import_date"]) + pd.DateOffset(months=months)
        ).strftime("%Y-%m-%d")
    return row


def frame(*rows: dict) -> pd.DataFrame:
    df = pd.DataFrame(list(rows))
    for c in ("import_date", "deadline"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    return df


# ------------------------------------------------------------------ months or fraction


@pytest.mark.parametrize(
    ("as_of", "n"),
    [("2024-01-10", 0), ("2024-03-05", 2), ("2024-03-10", 2), ("2024-03-11", 3), ("2024-02-10", 1)],
)
def test_months_or_fraction_contract_examples(as_of, n):
    """From 2024-01-10: to 03-05 is 2 (01-10 + 2 months = 03-10 ≥ 03-05,
    + 1 = 02-10 < 03-05); to 03-10 is 2; to 03-11 is 3."""
    assert months_or_fraction(pd.Series(pd.to_datetime(["2024-01-10"])), as_of)[0] == n


def test_months_or_fraction_month_end():
    """2024-01-31 + 1 month = 2024-02-29 (clamped): as of 02-29 → 1, as of 03-01 → 2."""
    d = pd.Series(pd.to_datetime(["2024-01-31"]))
    assert months_or_fraction(d, "2024-02-29")[0] == 1
    assert months_or_fraction(d, "2024-03-01")[0] == 2


def test_surcharge_sum_takes_the_rate_of_the_year_each_month_starts():
    """Entry 2025-11-15, 4 months: starts 2025-11-15, 2025-12-15 (1.47 %),
    2026-01-15, 2026-02-15 (2.07 %) → Σ = 2×0.0147 + 2×0.0207 = 0.0708."""
    s, est = surcharge_rate_sum(pd.Series(pd.to_datetime(["2025-11-15"])), np.array([4]))
    assert s[0] == pytest.approx(0.0708, abs=1e-12)
    assert not est[0]


# ------------------------------------------------------------------ expired lines


def test_regularisation_40_months_straddling_2026():
    """Entry 2022-11-20, MP, 10 units, MXN 100,000, general rate 10 %, all open;
    as of 2026-03-10.  Deadline 2024-05-20 < as-of → expired.

    igi = 10,000; dta = 800; iva = 0.16 × 110,800 = 17,728; tax = 28,528.
    F = INPC Feb-2026 (not published: Jan-2026 143.588 used, flagged) ÷
    INPC Oct-2022 125.276 = 1.146173 → 1.1461; actualizacion = 28,528 ×
    0.1461 = 4,167.9408.
    n: 2022-11-20 + 40 months = 2026-03-20 ≥ as-of, + 39 = 2026-02-20 < → 40.
    Months start 2022-11-20 … 2026-02-20: 38 before 2026 (1.47 %) and 2 in
    2026 (2.07 %) → Σ = 0.5586 + 0.0414 = 0.6.
    recargos = (28,528 + 4,167.9408) × 0.6 = 19,617.56448;
    total = 28,528 + 4,167.9408 + 19,617.56448 = 52,313.50528; in USD at the
    line's own 5,000/100,000: 2,615.675264.
    """
    e = exposure(frame(balance()), "2026-03-10")
    row = e.iloc[0]
    assert row["status"] == "expired"
    assert row["open_value_mxn"] == 100_000
    assert row["igi"] == pytest.approx(10_000)
    assert row["dta"] == pytest.approx(800)
    assert row["iva"] == pytest.approx(17_728)
    assert row["inpc_factor"] == 1.1461 and row["inpc_estimated"]
    assert row["actualizacion"] == pytest.approx(4_167.9408)
    assert row["surcharge_months"] == 40
    assert row["surcharge_rate_sum"] == pytest.approx(0.6)
    assert row["recargos"] == pytest.approx(19_617.56448)
    assert row["multa"] == 0
    assert row["total"] == pytest.approx(52_313.50528)
    assert row["total_usd"] == pytest.approx(2_615.675264)
    assert row["bucket"] == "Expired"
    assert e.attrs["inpc_estimated"]


def test_sixty_month_cap_drops_the_2026_months():
    """Entry 2020-12-10, 4 units MXN 40,000 at 5 %, 2 still open → open value
    20,000; as of 2026-03-01.  igi 1,000; dta 160; iva 0.16 × 21,160 =
    3,385.6; tax 4,545.6.  F = 143.588 / Nov-2020 108.856 = 1.31906 → 1.3190;
    actualizacion = 4,545.6 × 0.319 = 1,450.0464.
    n = 63 (2020-12-10 + 63 months = 2026-03-10 ≥ 03-01) → capped to 60:
    months start 2020-12-10 … 2025-11-10, all at 1.47 % → Σ = 0.882 (the
    2025-12, 2026-01 and 2026-02 months fall beyond the cap).
    recargos = (4,545.6 + 1,450.0464) × 0.882 = 5,288.160125; total
    11,283.806525."""
    b = frame(
        balance(import_date="2020-12-10", quantity=4.0, open=2.0, value_mxn=40_000.0, igi_rate=0.05)
    )
    row = exposure(b, "2026-03-01").iloc[0]
    assert row["open_value_mxn"] == 20_000
    assert row["inpc_factor"] == 1.319
    assert row["surcharge_months"] == 60
    assert row["surcharge_rate_sum"] == pytest.approx(0.882)
    assert row["recargos"] == pytest.approx(5_288.160125)
    assert row["total"] == pytest.approx(11_283.806525)


def test_expired_line_ignores_prosec_and_carries_the_fine():
    """Expired: the general rate (10 %) even with PROSEC 0 %; fine 70 % of the
    tax: tax 28,528 → multa 19,969.6, added to the total."""
    b = frame(balance(prosec_rate=0.0))
    e0 = exposure(b, "2026-03-10")
    e = exposure(b, "2026-03-10", fine_rate=0.7)
    assert e["rate_used"].iloc[0] == 0.10
    assert e["multa"].iloc[0] == pytest.approx(19_969.6)
    assert e["total"].iloc[0] == pytest.approx(e0["total"].iloc[0] + 19_969.6)
    with pytest.raises(ImmexError, match="fine_rate"):
        exposure(b, "2026-03-10", fine_rate=-1)


# ------------------------------------------------------------------ in-time lines


def test_prosec_line_in_time():
    """Entry 2025-03-10, MXN 50,000, general 15 %, PROSEC 5 %; as of
    2025-07-15 (deadline 2026-09-10: in time).  Rate = min(15 %, 5 %) = 5 % →
    igi 2,500; dta 400; iva 0.16 × 52,900 = 8,464.  F = Jun-2025 140.405 ÷
    Feb-2025 138.726 = 1.01210 → 1.0121; actualizacion = igi only = 2,500 ×
    0.0121 = 30.25; recargos = multa = 0 (even with a fine rate);
    total = 11,394.25."""
    b = frame(
        balance(
            import_date="2025-03-10",
            value_mxn=50_000.0,
            value_usd=2_500.0,
            igi_rate=0.15,
            prosec_rate=0.05,
        )
    )
    row = exposure(b, "2025-07-15", fine_rate=0.7).iloc[0]
    assert row["status"] == "in_time"
    assert row["rate_used"] == 0.05
    assert (row["igi"], row["dta"], row["iva"]) == pytest.approx((2_500, 400, 8_464))
    assert row["inpc_factor"] == 1.0121 and not row["inpc_estimated"]
    assert row["actualizacion"] == pytest.approx(30.25)
    assert row["recargos"] == 0 and row["multa"] == 0 and row["surcharge_months"] == 0
    assert row["total"] == pytest.approx(11_394.25)
    assert row["days_to_deadline"] == 422
    assert row["bucket"] == "Due in more than 90 days"
    # a client without PROSEC: the general rate
    no_prosec = exposure(b, "2025-07-15", use_prosec=False).iloc[0]
    assert no_prosec["igi"] == pytest.approx(7_500)


def test_af_line_never_expires():
    """A press (AF) entered 2019-03-01, MXN 1,000,000 at 5 %, as of
    2026-01-15: no deadline → in time.  igi 50,000; dta 8,000; iva 0.16 ×
    1,058,000 = 169,280; F = Dec-2025 143.042 / Feb-2019 103.079 = 1.38769 →
    1.3876; actualizacion = 50,000 × 0.3876 = 19,380; total 246,660."""
    b = frame(
        balance(
            import_date="2019-03-01",
            material_type="AF",
            value_mxn=1_000_000.0,
            igi_rate=0.05,
            quantity=1.0,
            open=1.0,
        )
    )
    row = exposure(b, "2026-01-15").iloc[0]
    assert pd.isna(row["deadline"]) and pd.isna(row["days_to_deadline"])
    assert row["status"] == "in_time"
    assert row["bucket"] == "No time limit (AF)"
    assert row["actualizacion"] == pytest.approx(19_380)
    assert row["total"] == pytest.approx(246_660)


def test_deadline_boundary_and_closed_lines():
    """Deadline equal to as-of is still in time; one day later it is
    expired; a fully discharged line (open 0) has no row."""
    b = frame(
        balance(
            import_pedimento="24 47 3420 4000002", import_date="2024-01-10"
        ),  # deadline 2025-07-10
        balance(
            import_pedimento="24 47 3420 4000001", import_date="2024-01-09"
        ),  # deadline 2025-07-09
        balance(import_pedimento="24 47 3420 4000003", open=0.0),
    )
    e = exposure(b, "2025-07-10")
    assert list(e["import_pedimento"]) == ["24 47 3420 4000001", "24 47 3420 4000002"]  # sorted
    assert list(e["status"]) == ["expired", "in_time"]
    assert list(e.columns[: len(CONTRACT_COLUMNS)]) == CONTRACT_COLUMNS


def test_rate_override_changes_the_factor(tmp_path):
    """With a user INPC for Feb-2026 (144.000) the 40-month line's factor is
    144 / 125.276 = 1.14946 → 1.1494 and no longer estimated."""
    (tmp_path / "inpc.csv").write_text(
        "month,inpc,source\n2026-02,144.000,user\n", encoding="utf-8"
    )
    row = exposure(frame(balance()), "2026-03-10", rates=Rates.load(tmp_path)).iloc[0]
    assert row["inpc_factor"] == 1.1494 and not row["inpc_estimated"]
    assert row["actualizacion"] == pytest.approx(28_528 * 0.1494)
    # a folder path works too
    assert exposure(frame(balance()), "2026-03-10", rates=tmp_path)["inpc_factor"].iloc[0] == 1.1494


def test_missing_columns_are_named():
    with pytest.raises(ImmexError, match=r"\['value_mxn'\] missing"):
        exposure(frame(balance()).drop(columns="value_mxn"), "2025-01-01")


def test_empty_balances():
    e = exposure(frame(balance(open=0.0)), "2025-01-01")
    assert e.empty and list(e.columns[:13]) == CONTRACT_COLUMNS
    s = exposure_summary_table(e)
    assert s.loc[s["dimension"] == "total", "lines"].iloc[0] == 0


# ------------------------------------------------------------------ ageing and summaries


def test_ageing_buckets():
    """As of 2025-06-30: deadlines 2025-06-20 (−10 d), 2025-06-30 (0 d),
    2025-07-30 (30 d), 2025-07-31 (31 d), 2025-09-28 (90 d), 2025-09-29 (91 d), none."""
    d = pd.Series(
        pd.to_datetime(
            [
                "2025-06-20",
                "2025-06-30",
                "2025-07-30",
                "2025-07-31",
                "2025-09-28",
                "2025-09-29",
                None,
            ]
        )
    )
    b = pd.DataFrame(
        {
            "deadline": d,
            "open": [1.0] * 7,
            "material_type": ["MP"] * 6 + ["AF"],
            "open_value_mxn": [1.0] * 7,
        }
    )
    a = ageing(b, "2025-06-30")
    assert list(a["days_to_deadline"].astype("float64").fillna(-999)) == [
        -10,
        0,
        30,
        31,
        90,
        91,
        -999,
    ]
    assert list(a["bucket"]) == [
        BUCKETS[0],
        BUCKETS[1],
        BUCKETS[1],
        BUCKETS[2],
        BUCKETS[3],
        BUCKETS[4],
        BUCKETS[5],
    ]
    assert a["bucket"].cat.ordered
    assert list(a["expired"]) == [True] + [False] * 6
    s = ageing_summary(a, by=None)
    assert list(s["bucket"]) == list(BUCKETS) and list(s["lines"]) == [1, 2, 1, 1, 1, 1]
    assert list(bucket(pd.Series([61, 60])).astype(str)) == [BUCKETS[3], BUCKETS[2]]


def test_summaries_by_part_origin_type_bucket():
    b = frame(
        balance(import_pedimento="22 47 3420 2000001", part_number="A", origin="CHN"),
        balance(
            import_pedimento="25 47 3420 5000001",
            import_date="2025-12-01",
            part_number="A",
            origin="USA",
        ),
        balance(
            import_pedimento="25 47 3420 5000002",
            import_date="2025-12-01",
            part_number="B",
            origin="USA",
            material_type="CT",
        ),
    )
    e = exposure(b, "2026-01-20")
    by_part = summarize_exposure(e, "part")
    assert list(by_part["part_number"]) == ["A", "B"]
    assert by_part["lines"].tolist() == [2, 1] and by_part["expired_lines"].tolist() == [1, 0]
    assert by_part["total"].sum() == pytest.approx(e["total"].sum())
    by_bucket = summarize_exposure(e, "bucket")
    assert len(by_bucket) == len(BUCKETS)
    table = exposure_summary_table(e)
    assert set(table["dimension"]) == {"part_number", "origin", "material_type", "bucket", "total"}
    assert table.loc[table["dimension"] == "origin", "total"].sum() == pytest.approx(
        e["total"].sum()
    )
    with pytest.raises(ImmexError, match="accepted"):
        summarize_exposure(e, "colour")


# ------------------------------------------------------------------ with the discharge and the CLI


def _client(folder):
    folder.mkdir()
    (folder / "imports.csv").write_text(
        "pedimento,line,clave,date,part_number,quantity,value_usd,value_mxn,origin,material_type,igi_rate,prosec_rate\n"
        "22 47 3420 2000001,1,IN,2022-11-20,P-1,10,5000,100000,CHN,MP,0.10,\n"
        "25 47 3420 5000001,1,IN,2025-03-10,P-2,10,2500,50000,KOR,MP,0.15,0.05\n",
        encoding="utf-8",
    )
    (folder / "exports.csv").write_text(
        "pedimento,line,clave,date,part_number,quantity,value_usd,destination\n"
        "25 47 3420 5000101,1,RT,2025-05-02,P-2,4,3000,USA\n"
        "26 47 3420 6000101,1,RT,2026-04-01,P-2,6,3000,USA\n",
        encoding="utf-8",
    )
    return folder


def test_exposure_after_discharge_with_the_same_cut_off(tmp_path):
    """P-2: 4 of 10 returned 2025-05-02, the 2026-04-01 return is after the
    cut-off 2026-03-10 → 6 open, open value 30,000 at PROSEC 5 % → igi 1,500."""
    from immex_nb.discharge import discharge
    from immex_nb.load import load

    ledger = load(_client(tmp_path / "acme"))
    result = discharge(ledger.imports, ledger.exports, ledger.bom, as_of=pd.Timestamp("2026-03-10"))
    e = exposure(result.balances, "2026-03-10")
    assert len(e) == 2
    p2 = e.set_index("part_number").loc["P-2"]
    assert p2["open"] == 6 and p2["open_value_mxn"] == pytest.approx(30_000)
    assert p2["igi"] == pytest.approx(1_500) and p2["status"] == "in_time"
    assert e.set_index("part_number").loc["P-1", "total"] == pytest.approx(52_313.50528)


def test_cli_exposure_writes_files(tmp_path, capsys):
    from immex_nb.cli import main

    data = _client(tmp_path / "acme")
    out = tmp_path / "out"
    code = main(
        ["exposure", str(data), "--out", str(out), "--as-of", "2026-03-10", "--fine-rate", "0.5"]
    )
    assert code == 0
    e = pd.read_csv(out / "exposure.csv", dtype={"import_pedimento": str})
    assert list(e.columns[: len(CONTRACT_COLUMNS)]) == CONTRACT_COLUMNS
    assert list(e["import_pedimento"]) == sorted(e["import_pedimento"])
    p1 = e.set_index("part_number").loc["P-1"]
    assert p1["multa"] == pytest.approx(0.5 * 28_528)
    assert (out / "exposure_summary.csv").exists() and (out / "manifest.json").exists()
    printed = capsys.readouterr().out
    assert "2 open line(s), 1 expired" in printed
    first = (out / "exposure.csv").read_bytes()
    assert (
        main(
            [
                "exposure",
                str(data),
                "--out",
                str(out),
                "--as-of",
                "2026-03-10",
                "--fine-rate",
                "0.5",
            ]
        )
        == 0
    )
    assert (out / "exposure.csv").read_bytes() == first  # byte-stable


def test_lines_imported_after_as_of_are_flagged_or_left_out():
    """The discharge cut-off drops exports after as-of, not imports: a line
    entered 2025-08-01 shows as of 2025-07-15 as in time, flagged; the option
    leaves it out."""
    b = frame(
        balance(import_pedimento="25 47 3420 5000001", import_date="2025-03-10"),
        balance(import_pedimento="25 47 3420 5000002", import_date="2025-08-01"),
    )
    e = exposure(b, "2025-07-15")
    assert e["imported_after_as_of"].tolist() == [False, True]
    assert e["inpc_factor"].iloc[1] == 1.0 and e["recargos"].iloc[1] == 0
    assert len(exposure(b, "2025-07-15", include_later_imports=False)) == 1


def test_the_ledger_as_it_stood_leaves_later_imports_out(tmp_path):
    """As of 2025-04-30 P-1 (2022) and P-2 (2025-03-10) are in the ledger; a
    third line entered 2025-06-01 is not yet: the cut-off (docs/rules/discharge.md)
    leaves it out of the discharge itself, so of balances and exposure alike."""
    from immex_nb.load import load
    from immex_nb.run import ClientRun

    folder = _client(tmp_path / "acme")
    with open(folder / "imports.csv", "a", encoding="utf-8") as fh:
        fh.write("25 47 3420 5000002,1,IN,2025-06-01,P-2,5,1000,20000,KOR,MP,0.15,\n")
    run = ClientRun(load(folder), "2025-04-30")
    assert len(run.discharge.balances) == 2 and len(run.exposure) == 2
    assert "25 47 3420 5000002" not in set(run.discharge.balances["import_pedimento"])
    assert not run.exposure["imported_after_as_of"].any()
    later = ClientRun(load(folder), "2025-06-01")
    assert len(later.discharge.balances) == 3


def test_inpc_flags_before_the_table_and_not_for_later_imports():
    """As of 2025-06-30: an AF machine entered 2016-05-10 needs INPC Apr-2016,
    before the table (2019-01) → flagged ``inpc_before_table``; a line entered
    2025-08-01 (after as-of) has factor 1 and is not ``inpc_estimated``; a
    2024-03-15 line uses Feb-2024 and May-2025, both in the table → no flag."""
    b = frame(
        balance(
            import_pedimento="16 47 3420 6000001", import_date="2016-05-10", material_type="AF"
        ),
        balance(import_pedimento="25 47 3420 5000002", import_date="2025-08-01"),
        balance(import_pedimento="24 47 3420 4000003", import_date="2024-03-15"),
    )
    e = exposure(b, "2025-06-30")
    assert e["inpc_before_table"].tolist() == [True, False, False]
    assert e["inpc_estimated"].tolist() == [True, False, False]
    assert e["inpc_factor"].iloc[2] == 1.0 and e["imported_after_as_of"].iloc[2]
    assert e.attrs["inpc_before_table"] == 1
    # rows sorted by pedimento: 2016, 2024, 2025
    assert e["inpc_factor"].iloc[1] == pytest.approx(
        1.0473
    )  # May-2025 140.012 / Feb-2024 133.681 = 1.04736… → 1.0473


# ------------------------------------------------------------------ only the open lines, gathered


def _mixed_balances() -> pd.DataFrame:
    """Seven lines in no particular order: closed, open, expired, AF, one with
    no date, text columns with gaps."""
    return frame(
        balance(import_pedimento="23 47 3420 3000002", import_line=2, import_date="2023-04-03"),
        balance(import_pedimento="22 47 3420 2000001", import_line=3, open=0.0, value_mxn=np.nan),
        balance(
            import_pedimento="16 47 3420 6000001",
            import_date="2016-05-10",
            material_type="AF",
            prosec_rate=0.05,
        ),
        balance(import_pedimento="23 47 3420 3000002", import_line=1, open=2.5, origin=None),
        balance(import_pedimento="25 47 3420 5000001", import_date="2025-05-31", igi_rate=np.nan),
        balance(import_pedimento="22 47 3420 2000001", import_line=1, fraccion=None, open=1e-7),
        balance(import_pedimento="24 47 3420 4000009", import_date="2024-02-29", prosec_rate=0.0),
    )


def test_rows_sorted_and_closed_lines_never_valued():
    """Row order of the balances does not matter; a closed line (or one open
    by less than 1e-6) yields no row, even with a value that is not a number."""
    b = _mixed_balances()
    e = exposure(b, "2026-03-10")
    keys = list(zip(e["import_pedimento"], e["import_line"], strict=True))
    assert keys == sorted(keys) and len(e) == 5
    assert "22 47 3420 2000001" not in set(e["import_pedimento"])
    shuffled = exposure(b.iloc[[4, 1, 6, 0, 3, 5, 2]].reset_index(drop=True), "2026-03-10")
    pd.testing.assert_frame_equal(shuffled, e, check_exact=True)


def test_text_and_object_columns_give_the_same_frame():
    """Balances with plain object columns (as a user might build them) and
    with pandas text columns give the same exposure, cell for cell and type
    for type; missing text is ``""``."""
    b = _mixed_balances()
    e = exposure(b, "2026-03-10", fine_rate=0.5)
    o = b.astype({c: object for c in b.columns if b[c].dtype != "datetime64[ns]"})
    pd.testing.assert_frame_equal(exposure(o, "2026-03-10", fine_rate=0.5), e, check_exact=True)
    assert (e["origin"] == "").sum() == 1
    assert e["status"].tolist() == ["in_time", "expired", "expired", "expired", "in_time"]


def test_each_line_is_valued_as_if_alone():
    """The vectorised stages are row-wise: every row equals the exposure of
    its line on its own (no value leaks between lines)."""
    b = _mixed_balances()
    e = exposure(b, "2026-11-30")
    for i in range(len(b)):
        one = exposure(b.iloc[[i]], "2026-11-30")
        if one.empty:
            continue
        key = (one["import_pedimento"].iloc[0], one["import_line"].iloc[0])
        row = e[(e["import_pedimento"] == key[0]) & (e["import_line"] == key[1])]
        pd.testing.assert_frame_equal(row.reset_index(drop=True), one, check_exact=True)


def test_empty_exposure_has_the_types_of_a_full_one():
    full = exposure(_mixed_balances(), "2026-03-10")
    empty = exposure(_mixed_balances().assign(open=0.0), "2026-03-10")
    assert empty.empty and list(empty.dtypes) == list(full.dtypes)
