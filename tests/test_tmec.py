"""T-MEC / USMCA art. 2.5: payable = igi_mx − min(igi_mx, duty abroad)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immex_nb.errors import ImmexError
from immex_nb.tmec import in_scope, tmec_25, tmec_summary


def alloc(
    export_pedimento="25 47 3420 5000101",
    export_line=1,
    export_date="2025-03-03",
    destination="USA",
    import_pedimento="24 47 3420 4000001",
    import_line=1,
    origin="CHN",
    value_mxn=20_000.0,
    value_usd=1_000.0,
):
    return {
        "export_pedimento": export_pedimento,
        "export_line": export_line,
        "export_date": pd.Timestamp(export_date),
        "export_part": "HARNESS",
        "part_number": "WIRE",
        "import_pedimento": import_pedimento,
        "import_line": import_line,
        "import_date": pd.Timestamp("2024-06-01"),
        "value_mxn": value_mxn,
        "value_usd": value_usd,
        "origin": origin,
        "destination": destination,
    }


def bal(
    import_pedimento="24 47 3420 4000001",
    import_line=1,
    igi_rate=0.10,
    prosec_rate=np.nan,
    usmca_originating=pd.NA,
):
    return {
        "import_pedimento": import_pedimento,
        "import_line": import_line,
        "igi_rate": igi_rate,
        "prosec_rate": prosec_rate,
        "usmca_originating": usmca_originating,
    }


def exports_frame(duty=None, value_usd=5_000.0, pedimento="25 47 3420 5000101", line=1):
    return pd.DataFrame(
        {
            "pedimento": [pedimento],
            "line": [line],
            "value_usd": [value_usd],
            "us_duty_paid_usd": [np.nan if duty is None else duty],
        }
    )


def balances(*rows):
    b = pd.DataFrame(list(rows))
    b["usmca_originating"] = b["usmca_originating"].astype("boolean")
    return b


def test_us_duty_below_mexican_igi():
    """Wire from China, MXN 20,000 (USD 1,000 → 20 MXN/USD), general rate 10 %
    → igi_mx 2,000.  US duty paid USD 50 → MXN 1,000.  payable = 2,000 −
    min(2,000, 1,000) = 1,000; export 2025-03-03 → due 2025-05-02."""
    t = tmec_25(pd.DataFrame([alloc()]), balances(bal()), exports_frame(duty=50.0))
    row = t.iloc[0]
    assert row["igi_mx"] == pytest.approx(2_000)
    assert row["duty_basis"] == "paid"
    assert row["duty_abroad_mxn"] == pytest.approx(1_000)
    assert row["payable"] == pytest.approx(1_000)
    assert row["due_date"] == pd.Timestamp("2025-05-02")


def test_us_duty_above_mexican_igi_pays_nothing():
    """Same line, US duty USD 150 → MXN 3,000 > 2,000 → credit 2,000, payable 0."""
    row = tmec_25(pd.DataFrame([alloc()]), balances(bal()), exports_frame(duty=150.0)).iloc[0]
    assert row["credit"] == pytest.approx(2_000)
    assert row["payable"] == 0


def test_prosec_rate_lowers_the_mexican_igi():
    """PROSEC 5 % < general 10 %: igi_mx = 20,000 × 5 % = 1,000; no duty
    abroad recorded, no scenario → payable 1,000; without PROSEC 2,000."""
    a = pd.DataFrame([alloc()])
    b = balances(bal(prosec_rate=0.05))
    assert tmec_25(a, b)["payable"].iloc[0] == pytest.approx(1_000)
    assert tmec_25(a, b, prosec=False)["payable"].iloc[0] == pytest.approx(2_000)
    assert tmec_25(a, b)["duty_basis"].iloc[0] == "none"


def test_originating_and_other_destinations_are_excluded():
    """Out of scope: exported to Germany; flagged originating; origin USA/MEX.
    Only the Chinese input to the USA and the Korean input to Canada remain."""
    a = pd.DataFrame(
        [
            alloc(import_line=1),
            alloc(import_line=2, destination="DEU"),
            alloc(import_line=3),
            alloc(import_line=4, origin="USA"),
            alloc(import_line=5, origin="mex"),
            alloc(import_line=6, origin="KOR", destination="CAN"),
        ]
    )
    b = balances(
        *(bal(import_line=i, usmca_originating=(True if i == 3 else pd.NA)) for i in range(1, 7))
    )
    t = tmec_25(a, b)
    assert t["import_line"].tolist() == [1, 6]
    # explicit flag False with a Chinese origin is in scope
    b2 = balances(bal(usmca_originating=False))
    assert in_scope(pd.DataFrame([alloc()]).merge(b2)).all()


def test_duty_shared_by_igi_over_the_export_line():
    """One export line, two non-originating inputs: A MXN 20,000 at 10 %
    (igi 2,000), B MXN 20,000 at 5 % (igi 1,000); USD 2,000 of inputs → 20
    MXN/USD.  Duty paid USD 75 = MXN 1,500, shared 2:1 → 1,000 and 500;
    payable 1,000 + 500 = 1,500 = 3,000 − min(3,000, 1,500)."""
    a = pd.DataFrame([alloc(import_line=1), alloc(import_line=2)])
    b = balances(bal(import_line=1, igi_rate=0.10), bal(import_line=2, igi_rate=0.05))
    t = tmec_25(a, b, exports_frame(duty=75.0))
    assert t["duty_abroad_mxn"].tolist() == pytest.approx([1_000, 500])
    assert t["payable"].sum() == pytest.approx(1_500)


def test_scenario_us_duty_rate_on_the_export_value():
    """No duty recorded; scenario US rate 2.5 % on the export line's USD 5,000
    = USD 125 → MXN 2,500 at 20 MXN/USD ≥ igi 2,000 → payable 0.  With a
    fixed exchange rate of 10, MXN 1,250 → payable 750.  Canada at 0 % → 2,000."""
    a = pd.DataFrame([alloc()])
    b = balances(bal())
    e = exports_frame(duty=None)
    t = tmec_25(a, b, e, us_duty_rate=0.025)
    assert t["duty_basis"].iloc[0] == "scenario"
    assert t["duty_abroad_usd"].iloc[0] == pytest.approx(125)
    assert t["payable"].iloc[0] == 0
    assert tmec_25(a, b, e, us_duty_rate=0.025, exchange_rate=10.0)["payable"].iloc[
        0
    ] == pytest.approx(750)
    assert tmec_25(a, b, e, us_duty_rate={"USA": 0.0})["payable"].iloc[0] == pytest.approx(2_000)


def test_summary_by_export_pedimento_with_due_dates():
    """Two export pedimentos: 2025-03-03 (due 2025-05-02) and 2025-04-10 (due
    2025-06-09).  As of 2025-05-10 the first is overdue (payable 2,000)."""
    a = pd.DataFrame(
        [alloc(), alloc(export_pedimento="25 47 3420 5000102", export_date="2025-04-10")]
    )
    s = tmec_summary(tmec_25(a, balances(bal())), as_of="2025-05-10")
    assert s["export_pedimento"].tolist() == ["25 47 3420 5000101", "25 47 3420 5000102"]
    assert s["due_date"].tolist() == [pd.Timestamp("2025-05-02"), pd.Timestamp("2025-06-09")]
    assert s["overdue"].tolist() == [True, False]
    assert s["payable"].tolist() == pytest.approx([2_000, 2_000])


def test_empty_and_errors():
    a = pd.DataFrame([alloc(destination="DEU")])
    t = tmec_25(a, balances(bal()))
    assert t.empty and tmec_summary(t).empty
    with pytest.raises(ImmexError, match="igi_rate"):
        tmec_25(pd.DataFrame([alloc()]))
    with pytest.raises(ImmexError, match="missing"):
        tmec_25(pd.DataFrame([alloc()]).drop(columns="destination"), balances(bal()))


def test_only_returns_abroad_are_in_scope():
    """Same wire, four exits to the USA: RT (return) and H1 (return in the same
    state) owe art. 2.5 IGI; F4 (change of regime, IGI paid in full on the F4
    pedimento) and V1 (virtual transfer to another IMMEX company) do not
    (docs/rules/claves.md)."""
    rows = []
    for n, clave in enumerate(["RT", "F4", "V1", "H1"], start=1):
        row = alloc(export_pedimento=f"25 47 3420 500010{n}")
        row["export_clave"] = clave
        rows.append(row)
    t = tmec_25(pd.DataFrame(rows), balances(bal()))
    assert t["export_pedimento"].tolist() == ["25 47 3420 5000101", "25 47 3420 5000104"]
    assert t["payable"].tolist() == pytest.approx([2_000, 2_000])
    assert in_scope(pd.DataFrame(rows)).tolist() == [True, False, False, True]


def test_tmec_due_is_one_rule_over_every_export_up_to_as_of():
    """Exports of 2025-01-10 (due 2025-03-11), 2025-06-02 (due 2025-08-01) and
    2025-09-01 (after as_of): as of 2025-08-15 the first two are in (not only the
    last 60 days) and both are overdue; the third is ignored."""
    from immex_nb.tmec import tmec_due

    a = pd.DataFrame(
        [
            alloc(export_pedimento="25 47 3420 5000101", export_date="2025-01-10"),
            alloc(export_pedimento="25 47 3420 5000102", export_date="2025-06-02"),
            alloc(export_pedimento="25 47 3420 5000103", export_date="2025-09-01"),
        ]
    )
    s = tmec_due(a, balances(bal()), as_of="2025-08-15")
    assert s["export_pedimento"].tolist() == ["25 47 3420 5000101", "25 47 3420 5000102"]
    assert s["due_date"].tolist() == [pd.Timestamp("2025-03-11"), pd.Timestamp("2025-08-01")]
    assert s["overdue"].tolist() == [True, True]
    assert s["days_to_due"].tolist() == [-157, -14]
    s = tmec_due(a, balances(bal()), as_of="2025-07-31")
    assert s["overdue"].tolist() == [True, False]


def test_summary_lists_each_pedimentos_destinations_sorted_once():
    """Pedimento 101 ships lines to the USA and Canada (three lines), 102 only
    to the USA: the summary says "CAN, USA" and "USA"."""
    a = pd.DataFrame(
        [
            alloc(export_line=1, destination="USA"),
            alloc(export_line=2, destination="CAN"),
            alloc(export_line=3, destination="USA"),
            alloc(export_pedimento="25 47 3420 5000102", export_date="2025-04-10"),
        ]
    )
    for frame in (a, a.astype({"destination": "category", "export_pedimento": "category"})):
        s = tmec_summary(tmec_25(frame, balances(bal())))
        assert s["destination"].tolist() == ["CAN, USA", "USA"]
        assert s["lines"].tolist() == [3, 1]


def test_categorical_text_columns_give_the_same_lines():
    """Allocations from the discharge carry categorical texts; the scope and
    the figures are those of the same rows as plain text (lower case, blanks
    and a missing clave = RT included)."""
    rows = [
        alloc(destination=" usa ", origin="CHN"),
        alloc(export_line=2, destination="CAN", origin="mex"),
        alloc(export_line=3, destination="DEU"),
        alloc(export_line=4, destination="USA", origin=None),
        alloc(export_line=5, destination="USA", import_line=2),
    ]
    for row, clave in zip(rows, ["RT", "RT", "RT", None, "F4"], strict=True):
        row["export_clave"] = clave
    text = pd.DataFrame(rows)
    cat = text.astype(
        {c: "category" for c in ("destination", "origin", "export_clave", "import_pedimento")}
    )
    b = balances(bal(), bal(import_line=2, usmca_originating=True))
    assert in_scope(cat).tolist() == in_scope(text).tolist() == [True, False, False, True, False]
    plain, coded = tmec_25(text, b), tmec_25(cat, b)
    assert coded["export_line"].tolist() == [1, 4]
    pd.testing.assert_frame_equal(
        coded.drop(columns=["destination", "origin"]),
        plain.drop(columns=["destination", "origin"]),
        check_exact=True,
    )
