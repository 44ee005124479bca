"""Discharge engine: one small ledger per rule of docs/rules/discharge.md, the invariants
of §3, and the fast engine held equal to the slow reference on random ledgers."""

from __future__ import annotations

import importlib
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_engine import reference_discharge

from immex_nb import ImmexError
from immex_nb.discharge import (
    SHORTFALL_EXHAUSTED,
    SHORTFALL_NEVER_IMPORTED,
    SHORTFALL_NOT_YET,
    discharge,
)


def ped(n: int, year: int = 24) -> str:
    return f"{year:02d} 47 3420 {(year % 10) * 1_000_000 + n:07d}"


def imp(rows) -> pd.DataFrame:
    """rows: (pedimento_no, line, date, part, quantity[, material_type[, value_mxn]])"""
    recs = []
    for r in rows:
        n, line, d, part, q, *rest = r
        mt = rest[0] if rest else "MP"
        mxn = rest[1] if len(rest) > 1 else q * 10.0
        recs.append(
            dict(
                pedimento=ped(n),
                line=line,
                clave="AF" if mt == "AF" else "IN",
                date=pd.Timestamp(d),
                part_number=part,
                quantity=float(q),
                value_usd=mxn / 20,
                value_mxn=float(mxn),
                origin="CHN",
                material_type=mt,
                igi_rate=0.1,
                prosec_rate=np.nan,
            )
        )
    return pd.DataFrame(recs)


def exp(rows) -> pd.DataFrame:
    """rows: (pedimento_no, line, date, part, quantity)"""
    return pd.DataFrame(
        [
            dict(
                pedimento=ped(n, 25 if n >= 500 else 24),
                line=line,
                clave="RT",
                date=pd.Timestamp(d),
                part_number=part,
                quantity=float(q),
                value_usd=0.0,
                destination="USA",
            )
            for n, line, d, part, q in rows
        ]
    )


def bom(rows) -> pd.DataFrame:
    """rows: (parent, component, qty_per, scrap_rate, valid_from, valid_to)"""
    return pd.DataFrame(
        [
            dict(
                parent=p,
                component=c,
                qty_per=float(q),
                scrap_rate=float(s),
                valid_from=pd.Timestamp(f) if f else pd.NaT,
                valid_to=pd.Timestamp(t) if t else pd.NaT,
            )
            for p, c, q, s, f, t in rows
        ]
    )


def allocs(result) -> list[tuple]:
    a = result.allocations
    return [
        (r.export_pedimento[-3:], r.part_number, r.import_pedimento[-3:], round(r.quantity, 6))
        for r in a.itertuples()
    ]


def opens(result) -> dict:
    return {r.import_pedimento[-3:]: round(r.open, 6) for r in result.balances.itertuples()}


# --------------------------------------------------------------------------- scenarios


def test_three_lots_fifo_and_no_backfill():
    """The module docstring's example: L1 100 (Jan 5), L2 50 (Feb 1), L3 80 (Jun 1);
    E1 120 on Jan 20 takes L1's 100 (20 short: L2 not yet in), E2 70 on Mar 1
    takes L2's 50 (20 short: L3 not yet in, and never back-filled), E3 30 on
    Jul 1 takes 30 of L3 → L3 keeps 50 open."""
    r = discharge(
        imp(
            [
                (1, 1, "2024-01-05", "R", 100),
                (2, 1, "2024-02-01", "R", 50),
                (3, 1, "2024-06-01", "R", 80),
            ]
        ),
        exp(
            [
                (11, 1, "2024-01-20", "R", 120),
                (12, 1, "2024-03-01", "R", 70),
                (13, 1, "2024-07-01", "R", 30),
            ]
        ),
        None,
    )
    assert allocs(r) == [("011", "R", "001", 100), ("012", "R", "002", 50), ("013", "R", "003", 30)]
    assert opens(r) == {"001": 0, "002": 0, "003": 50}
    assert r.shortfalls["quantity"].tolist() == [20, 20]
    assert set(r.shortfalls["reason"]) == {SHORTFALL_EXHAUSTED}


def test_consumption_spans_several_lots_oldest_first():
    """Stock 30 + 40 + 50; one export of 100 takes 30, 40, then 30 of the third."""
    r = discharge(
        imp(
            [
                (1, 1, "2024-01-01", "A", 30),
                (2, 1, "2024-01-02", "A", 40),
                (3, 1, "2024-01-03", "A", 50),
            ]
        ),
        exp([(11, 1, "2024-02-01", "A", 100)]),
        None,
    )
    assert allocs(r) == [("011", "A", "001", 30), ("011", "A", "002", 40), ("011", "A", "003", 30)]
    assert opens(r) == {"001": 0, "002": 0, "003": 20}
    assert r.shortfalls.empty


def test_same_day_import_is_available():
    r = discharge(imp([(1, 1, "2024-03-01", "A", 10)]), exp([(11, 1, "2024-03-01", "A", 4)]), None)
    assert allocs(r) == [("011", "A", "001", 4)]


def test_import_after_export_is_not_available_and_reason_not_yet():
    r = discharge(imp([(1, 1, "2024-03-02", "A", 10)]), exp([(11, 1, "2024-03-01", "A", 4)]), None)
    assert r.allocations.empty
    assert r.shortfalls[["quantity", "reason"]].values.tolist() == [[4.0, SHORTFALL_NOT_YET]]
    assert opens(r) == {"001": 10}


def test_part_never_imported():
    r = discharge(imp([(1, 1, "2024-01-01", "A", 10)]), exp([(11, 1, "2024-03-01", "ZZ", 4)]), None)
    assert r.shortfalls[["part_number", "reason"]].values.tolist() == [
        ["ZZ", SHORTFALL_NEVER_IMPORTED]
    ]


def test_lot_order_ties_broken_by_pedimento_then_line_as_number():
    """Same date: pedimento text order, then line 2 before line 10 (numeric)."""
    r = discharge(
        imp(
            [
                (5, 10, "2024-01-01", "A", 1),
                (5, 2, "2024-01-01", "A", 1),
                (4, 7, "2024-01-01", "A", 1),
            ]
        ),
        exp([(11, 1, "2024-02-01", "A", 2)]),
        None,
    )
    got = [(a.import_pedimento[-3:], a.import_line) for a in r.allocations.itertuples()]
    assert got == [("004", 7), ("005", 2)]


def test_consumption_order_ties_by_export_pedimento_and_line():
    """Two exports on one day: the lower pedimento takes the older lot."""
    r = discharge(
        imp([(1, 1, "2024-01-01", "A", 5), (2, 1, "2024-01-02", "A", 5)]),
        exp([(12, 1, "2024-02-01", "A", 5), (11, 3, "2024-02-01", "A", 5)]),
        None,
    )
    assert sorted(allocs(r)) == [("011", "A", "001", 5), ("012", "A", "002", 5)]


def test_bom_explosion_multi_level_with_scrap_and_shared_component():
    """FG = 2 SUB + 1 C (scrap 10 %); SUB = 3 C (scrap 0) + 1 D.
    10 FG consume C: 10×2×3 = 60 via SUB plus 10×1×1.1 = 11 direct = 71;
    D: 10×2×1 = 20.  Net C = 60 + 10 = 70, so 1 of the 71 is scrap."""
    b = bom(
        [
            ("FG", "SUB", 2, 0, None, None),
            ("FG", "C", 1, 0.1, None, None),
            ("SUB", "C", 3, 0, None, None),
            ("SUB", "D", 1, 0, None, None),
        ]
    )
    r = discharge(
        imp([(1, 1, "2024-01-01", "C", 100), (2, 1, "2024-01-01", "D", 100)]),
        exp([(11, 1, "2024-02-01", "FG", 10)]),
        b,
    )
    by_part = r.allocations.set_index("part_number")
    assert by_part.loc["C", "quantity"] == pytest.approx(71)
    assert by_part.loc["C", "net_quantity"] == pytest.approx(70)
    assert by_part.loc["C", "scrap_quantity"] == pytest.approx(1)
    assert by_part.loc["D", "quantity"] == pytest.approx(20)
    assert set(r.allocations["export_part"]) == {"FG"}


def test_bom_version_by_export_date_and_inclusive_bounds():
    """V1 (until 2024-06-30, inclusive) uses 2 C; V2 (from 2024-07-01) uses 3 C."""
    b = bom([("FG", "C", 2, 0, None, "2024-06-30"), ("FG", "C", 3, 0, "2024-07-01", None)])
    r = discharge(
        imp([(1, 1, "2024-01-01", "C", 1000)]),
        exp([(11, 1, "2024-06-30", "FG", 1), (12, 1, "2024-07-01", "FG", 1)]),
        b,
    )
    assert allocs(r) == [("011", "C", "001", 2), ("012", "C", "001", 3)]


def test_part_without_valid_bom_row_is_returned_as_is():
    b = bom([("FG", "C", 2, 0, "2025-01-01", None)])
    r = discharge(imp([(1, 1, "2024-01-01", "FG", 5)]), exp([(11, 1, "2024-06-01", "FG", 5)]), b)
    assert allocs(r) == [("011", "FG", "001", 5)]


def test_bom_cycle_names_the_parts():
    b = bom(
        [("A", "B", 1, 0, None, None), ("B", "C", 1, 0, None, None), ("C", "A", 1, 0, None, None)]
    )
    with pytest.raises(ImmexError, match=r"BOM cycle: .*A.*B.*C"):
        discharge(imp([(1, 1, "2024-01-01", "C", 5)]), exp([(11, 1, "2024-06-01", "A", 1)]), b)


def test_rows_that_never_coexist_are_not_a_cycle():
    b = bom([("A", "B", 1, 0, None, "2024-03-31"), ("B", "A", 1, 0, "2024-04-01", None)])
    r = discharge(imp([(1, 1, "2024-01-01", "B", 5)]), exp([(11, 1, "2024-02-01", "A", 1)]), b)
    assert allocs(r) == [("011", "B", "001", 1)]


def test_as_of_ignores_later_exports():
    r = discharge(
        imp([(1, 1, "2024-01-01", "A", 10)]),
        exp([(11, 1, "2024-02-01", "A", 3), (12, 1, "2024-03-01", "A", 3)]),
        None,
        as_of="2024-02-15",
    )
    assert opens(r) == {"001": 7}
    assert r.as_of == pd.Timestamp("2024-02-15")


def test_deadlines_by_category_and_month_end_clamp():
    r = discharge(
        imp(
            [
                (1, 1, "2024-08-31", "A", 1, "MP"),
                (2, 1, "2024-08-31", "B", 1, "EE"),
                (3, 1, "2024-08-31", "C", 1, "CT"),
                (4, 1, "2024-08-31", "D", 1, "AF"),
            ]
        ),
        exp([]) if False else exp([(11, 1, "2024-09-01", "X", 1)]),
        None,
        as_of="2026-03-01",
    )
    dl = dict(zip(r.balances["material_type"], r.balances["deadline"], strict=True))
    assert dl["MP"] == pd.Timestamp("2026-02-28")
    assert dl["EE"] == pd.Timestamp("2026-02-28")
    assert dl["CT"] == pd.Timestamp("2026-08-31")
    assert pd.isna(dl["AF"])
    exp_flags = dict(zip(r.balances["material_type"], r.balances["expired"], strict=True))
    assert exp_flags == {"MP": True, "EE": True, "CT": False, "AF": False}


def test_cff_rule_moves_missing_day_to_next_business_day():
    """2024-08-31 + 18 months: Feb 2026 has no 31st → 1 Mar 2026, a Sunday → Mon 2 Mar.
    2024-05-03 + 18 = 2025-11-03, a Monday (not the 3rd Monday holiday) → unchanged.
    2024-04-05 + 18 = Sun 2025-10-05 → Mon 2025-10-06."""
    r = discharge(
        imp(
            [
                (1, 1, "2024-08-31", "A", 1),
                (2, 1, "2024-05-03", "A", 1),
                (3, 1, "2024-04-05", "A", 1),
            ]
        ),
        exp([(11, 1, "2024-09-01", "X", 1)]),
        None,
        deadline_rule="cff",
    )
    assert r.balances["deadline"].tolist() == [
        pd.Timestamp("2025-10-06"),
        pd.Timestamp("2025-11-03"),
        pd.Timestamp("2026-03-02"),
    ]


def test_late_flag_when_drawn_after_deadline():
    """Lot of 2024-01-10 (deadline 2025-07-10): an export on 2025-07-10 is in
    time, one on 2025-07-11 is late — allowed, and flagged."""
    r = discharge(
        imp([(1, 1, "2024-01-10", "A", 10)]),
        exp([(11, 1, "2025-07-10", "A", 1), (12, 1, "2025-07-11", "A", 1)]),
        None,
    )
    assert r.allocations["late"].tolist() == [False, True]


def test_allocated_value_is_the_share_of_customs_value():
    r = discharge(
        imp([(1, 1, "2024-01-01", "A", 4, "MP", 1000.0)]),
        exp([(11, 1, "2024-02-01", "A", 1)]),
        None,
    )
    assert r.allocations["value_mxn"].tolist() == [250.0]
    assert r.balances["open_value_mxn"].tolist() == [750.0]


def test_empty_exports_leave_everything_open():
    r = discharge(
        imp([(1, 1, "2024-01-01", "A", 4)]), exp([(11, 1, "2024-02-01", "A", 1)]).iloc[:0], None
    )
    assert opens(r) == {"001": 4} and r.allocations.empty and r.shortfalls.empty


# --------------------------------------------------------------------------- random ledgers

PARTS = ["P0", "P1", "P2", "S0", "S1", "F0", "F1"]
DAY0 = date(2024, 1, 1)


@st.composite
def ledgers(draw):
    # half the ledgers use few parts and pedimentos, so directed exits find their lines
    parts = draw(st.sampled_from([PARTS, ["P0", "P1", "S0", "F1"]]))
    peds = draw(st.sampled_from([8, 3]))
    n_imp = draw(st.integers(0, 25))
    imports = []
    used = set()
    for _ in range(n_imp):
        n = draw(st.integers(1, peds))
        line = draw(st.integers(1, 12))
        if (n, line) in used:
            continue
        used.add((n, line))
        imports.append(
            (
                n,
                line,
                DAY0 + timedelta(days=draw(st.integers(0, 60))),
                draw(st.sampled_from(parts)),
                draw(st.sampled_from([0.5, 1, 2, 3, 7.25, 10, 40])),
                draw(st.sampled_from(["MP", "EE", "CT", "AF"])),
            )
        )
    # definitive and misplaced claves (A1, F4) are not part of the ledger
    iclaves = [draw(st.sampled_from(["IN", "IN", "IN", "V1", "A1", "F4"])) for _ in imports]
    n_exp = draw(st.integers(0, 20))
    exports, used = [], set()
    for _ in range(n_exp):
        n, line = draw(st.integers(10, 16)), draw(st.integers(1, 5))
        if (n, line) in used:
            continue
        used.add((n, line))
        exports.append(
            (
                n,
                line,
                DAY0 + timedelta(days=draw(st.integers(0, 70))),
                draw(st.sampled_from(parts)),
                draw(st.sampled_from([0.25, 1, 2, 5, 9])),
            )
        )
    # directed exits: a named pedimento (maybe absent, maybe not of the part), maybe a line
    directed = [
        (draw(st.integers(1, peds + 1)), draw(st.sampled_from([0, 0, 1, 2, 3])))
        if draw(st.booleans())
        else (None, 0)
        for _ in exports
    ]
    # BOM: F* → S*/P*, S* → P* (acyclic by level), random versions
    rows = []
    for parent, comps in (
        ("F0", ["S0", "S1", "P0", "P1"]),
        ("F1", ["S0", "P2"]),
        ("S0", ["P0", "P1"]),
        ("S1", ["P2", "P1"]),
    ):
        for comp in comps:
            if draw(st.booleans()):
                split = draw(st.integers(0, 70))
                vf = DAY0 + timedelta(days=split) if draw(st.booleans()) else None
                vt = (
                    DAY0 + timedelta(days=split + draw(st.integers(0, 30)))
                    if draw(st.booleans())
                    else None
                )
                rows.append(
                    (
                        parent,
                        comp,
                        draw(st.sampled_from([0.5, 1, 2, 3])),
                        draw(st.sampled_from([0, 0, 0.02, 0.1])),
                        vf,
                        vt,
                    )
                )
    as_of = DAY0 + timedelta(days=draw(st.integers(0, 80))) if draw(st.booleans()) else None
    return imports, exports, rows, as_of, iclaves, directed


def _frames(case):
    imports, exports, rows, as_of, iclaves, directed = case
    i = imp(imports) if imports else imp([(1, 1, "2024-01-01", "P0", 1)]).iloc[:0]
    i["clave"] = pd.Series(iclaves, dtype=object, index=i.index)
    e = exp(exports) if exports else exp([(11, 1, "2024-01-01", "P0", 1)]).iloc[:0]
    e["import_pedimento"] = pd.Series(
        ["" if n is None else ped(n) for n, _ in directed], dtype=object, index=e.index
    )
    e["import_line"] = pd.Series([line for _, line in directed], dtype="int64", index=e.index)
    b = bom(rows) if rows else None
    return i, e, b, as_of


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers())
def test_fast_engine_equals_reference(case):
    i, e, b, as_of = _frames(case)
    fast = discharge(i, e, b, as_of=as_of)
    ref_alloc, ref_bal, ref_short = reference_discharge(i, e, b, as_of=as_of)

    def key(d):
        return (
            d["export_pedimento"],
            d["export_line"],
            d["part_number"],
            d["import_pedimento"],
            d["import_line"],
        )

    got = {key(d): (d["quantity"], d["directed"]) for d in fast.allocations.to_dict("records")}
    want = {key(d): (d["quantity"], d["directed"]) for d in ref_alloc}
    assert got.keys() == want.keys()
    for k in want:
        assert got[k][0] == pytest.approx(want[k][0], abs=1e-4)
        assert got[k][1] == want[k][1]

    got_open = {
        (d["import_pedimento"], d["import_line"]): d["open"]
        for d in fast.balances.to_dict("records")
    }
    for d in ref_bal:
        assert got_open[(d["import_pedimento"], d["import_line"])] == pytest.approx(
            d["open"], abs=1e-4
        )

    got_s = {
        (d["export_pedimento"], d["export_line"], d["part_number"]): d["quantity"]
        for d in fast.shortfalls.to_dict("records")
    }
    want_s = {
        (d["export_pedimento"], d["export_line"], d["part_number"]): d["quantity"]
        for d in ref_short
    }
    assert got_s.keys() == want_s.keys()
    for k in want_s:
        assert got_s[k] == pytest.approx(want_s[k], abs=1e-4)

    _check_invariants(fast, i)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers(), st.integers(1, 4))
def test_blocks_do_not_change_the_result(case, block):
    """The engine works a block of parts (and of allocation rows) at a time
    (docs/rules/discharge.md §how it is computed); tiny blocks give the same frames."""
    engine = importlib.import_module("immex_nb.discharge")  # the package exports the function
    i, e, b, as_of = _frames(case)
    whole = discharge(i, e, b, as_of=as_of)
    saved = engine._BLOCK
    engine._BLOCK = block
    try:
        blocked = discharge(i, e, b, as_of=as_of)
    finally:
        engine._BLOCK = saved
    for name in ("allocations", "balances", "shortfalls"):
        pd.testing.assert_frame_equal(getattr(blocked, name), getattr(whole, name))


def test_huge_page_advice_is_off_during_the_call_and_restored_after(monkeypatch):
    """docs/rules/discharge.md, memory: numpy's process-wide huge-page switch is
    off while the engine allocates, and back as it was afterwards, also when the
    call fails."""
    engine = importlib.import_module("immex_nb.discharge")
    switch = engine._set_madvise_hugepage
    if switch is None:
        pytest.skip("this numpy has no huge-page switch")
    seen = []
    real = engine._stable_order

    def spy(*args):
        seen.append(switch(False))  # reading it means setting it: set what it was
        return real(*args)

    monkeypatch.setattr(engine, "_stable_order", spy)
    i = imp([(1, 1, "2024-01-05", "R-1", 100)])
    e = exp([(9, 1, "2024-02-01", "R-1", 10)])
    for before in (True, False):
        switch(before)
        try:
            discharge(i, e)
            assert seen[-1] is False
            assert switch(before) is before
            with pytest.raises(ImmexError):
                discharge(i, e, deadline_rule="nonsense")
            assert switch(before) is before
        finally:
            switch(True)


def _check_invariants(result, imports):
    b = result.balances
    # quantity = discharged + open, exactly in micro-units
    q = np.rint(b["quantity"] * 1e6).astype(np.int64)
    d = np.rint(b["discharged"] * 1e6).astype(np.int64)
    o = np.rint(b["open"] * 1e6).astype(np.int64)
    assert (q == d + o).all()
    assert (o >= 0).all() and (d >= 0).all()
    a = result.allocations
    assert (a["import_date"] <= a["export_date"]).all()
    # discharged per line = sum of its allocations
    per_line = a.groupby(["import_pedimento", "import_line"])["quantity"].sum()
    for r in b.itertuples():
        assert per_line.get((r.import_pedimento, r.import_line), 0.0) == pytest.approx(
            r.discharged, abs=1e-4
        )
    # one balance row per import line of the ledger (temporary entries) as it stood on as_of
    standing = imports if result.as_of is None else imports[imports["date"] <= result.as_of]
    if "clave" in standing.columns:
        standing = standing[standing["clave"].isin(["IN", "AF", "V1", ""])]
    assert len(b) == len(standing)
    assert not (b["import_date"] > (result.as_of or pd.Timestamp.max)).any()


def test_invariants_on_the_demo_clients():
    """On every demo client: the §3 invariants, and per export line and part
    consumption (the BOM explosion) = allocated + shortfall."""
    from pathlib import Path

    from immex_nb.discharge import explode
    from immex_nb.load import load

    root = Path(__file__).resolve().parents[1] / "data" / "demo"
    clients = sorted(p for p in root.iterdir() if p.is_dir())
    assert clients, "the demo clients are committed under data/demo"
    as_of = pd.Timestamp("2026-11-30")
    for folder in clients:
        ledger = load(folder)
        r = discharge(ledger.imports, ledger.exports, ledger.bom, as_of=as_of)
        _check_invariants(r, ledger.imports)
        exports = ledger.exports[ledger.exports["date"] <= as_of].reset_index(drop=True)
        parts = pd.Index(
            pd.unique(
                pd.concat(
                    [
                        ledger.imports["part_number"],
                        exports["part_number"],
                        ledger.bom["parent"],
                        ledger.bom["component"],
                    ]
                ).astype(str)
            )
        )
        ev, part, gross, _net = explode(exports, ledger.bom, parts)
        consumed = (
            pd.DataFrame(
                {
                    "export_pedimento": exports["pedimento"].to_numpy()[ev],
                    "export_line": exports["line"].to_numpy()[ev],
                    "part_number": parts.to_numpy()[part],
                    "quantity": gross / 1e6,
                }
            )
            .groupby(["export_pedimento", "export_line", "part_number"])["quantity"]
            .sum()
        )
        key = ["export_pedimento", "export_line", "part_number"]
        covered = (
            pd.concat(
                [
                    r.allocations[[*key, "quantity"]].astype(
                        {"export_pedimento": str, "part_number": str}
                    ),
                    r.shortfalls[[*key, "quantity"]].astype(
                        {"export_pedimento": str, "part_number": str}
                    ),
                ]
            )
            .groupby(key)["quantity"]
            .sum()
        )
        assert len(consumed) > 100
        pd.testing.assert_series_equal(
            covered.sort_index(), consumed.sort_index(), check_exact=False, atol=1e-4
        )


def test_quantities_beyond_fixed_point_range_are_an_error_not_an_overflow():
    """A pedimento number shifted into ``quantity`` (2.4e14 units = 2.4e20
    micro-units) cannot be added up in int64: a clear ImmexError, not garbage."""
    with pytest.raises(ImmexError, match="import quantity total .* beyond"):
        discharge(
            imp([(1, 1, "2024-01-01", "A", 244734204001234)]),
            exp([(11, 1, "2024-02-01", "A", 1)]),
            None,
        )
    b = bom([("FG", "C", 1e6, 0, None, None)])
    with pytest.raises(ImmexError, match="exploded consumption total"):
        discharge(imp([(1, 1, "2024-01-01", "C", 1)]), exp([(11, 1, "2024-02-01", "FG", 1e10)]), b)


def test_unparseable_as_of_is_an_immex_error():
    with pytest.raises(ImmexError, match="not a date"):
        discharge(
            imp([(1, 1, "2024-01-01", "A", 1)]),
            exp([(11, 1, "2024-02-01", "A", 1)]),
            None,
            as_of="31/31/2024",
        )


# --------------------------------------------------------------------------- directed discharge
# docs/rules/discharge.md §directed: the named lines first, at the exit's own place
# in the order, only lines dated on or before the exit and only what they still hold.


def directed(frame, rows):
    """Name ``(import pedimento no, import line or 0)`` per export row (None = FIFO)."""
    frame = frame.copy()
    frame["import_pedimento"] = ["" if r is None else ped(r[0]) for r in rows]
    frame["import_line"] = [0 if r is None else r[1] for r in rows]
    return frame


def alloc_table(result):
    a = result.allocations
    return [
        (int(r.export_line), r.import_pedimento[-1], int(r.import_line), r.quantity, r.directed)
        for r in a.itertuples()
    ]


def test_directed_a3_of_an_expired_line():
    """L1 (ped 1, 2024-01-05) and L2 (ped 2, 2024-02-01, deadline 2025-08-01).
    A return of 30 on 2024-03-01 takes L1 by FIFO (70 left).  On 2025-09-01 an
    A3 regularisation of 60 names ped 2: it takes L2's 50 first (directed, late:
    L2 expired on 2025-08-01), and the 10 it still needs by FIFO from L1 (late
    too: L1 expired on 2025-07-05)."""
    i = imp([(1, 1, "2024-01-05", "A", 100), (2, 1, "2024-02-01", "A", 50)])
    e = exp([(11, 1, "2024-03-01", "A", 30), (12, 1, "2025-09-01", "A", 60)])
    e.loc[1, "clave"] = "A3"
    r = discharge(i, directed(e, [None, (2, 0)]), None)
    assert alloc_table(r) == [
        (1, "1", 1, 30.0, False),
        (1, "2", 1, 50.0, True),
        (1, "1", 1, 10.0, False),
    ]
    a = r.allocations.set_index(["export_pedimento", "import_pedimento"])
    assert a["late"].tolist() == [False, True, True]
    assert r.balances.set_index("import_pedimento")["open"].to_dict() == {ped(1): 60.0, ped(2): 0.0}
    assert r.shortfalls.empty


def test_directed_exit_whose_pedimento_is_exhausted_falls_to_fifo():
    """Ped 1 (10) is used up by an earlier FIFO return; a later exit naming ped 1
    finds nothing there and takes from ped 2 by FIFO (not directed)."""
    i = imp([(1, 1, "2024-01-05", "A", 10), (2, 1, "2024-01-10", "A", 10)])
    e = exp([(11, 1, "2024-02-01", "A", 10), (12, 1, "2024-03-01", "A", 5)])
    r = discharge(i, directed(e, [None, (1, 0)]), None)
    assert alloc_table(r) == [(1, "1", 1, 10.0, False), (1, "2", 1, 5.0, False)]


def test_directed_exits_keep_their_place_in_the_order():
    """A directed exit dated later does not jump ahead: the earlier FIFO exit took
    ped 1 first, so the directed one (naming ped 1) gets only what was left."""
    i = imp([(1, 1, "2024-01-05", "A", 10), (2, 1, "2024-01-10", "A", 10)])
    e = exp([(11, 1, "2024-02-01", "A", 6), (12, 1, "2024-03-01", "A", 8)])
    r = discharge(i, directed(e, [None, (1, 0)]), None)
    assert alloc_table(r) == [
        (1, "1", 1, 6.0, False),
        (1, "1", 1, 4.0, True),
        (1, "2", 1, 4.0, False),
    ]


def test_named_line_not_yet_imported_on_the_exit_date():
    """Ped 2 line 1 enters on 2024-03-01.  An exit of 2024-02-01 naming it cannot
    take from it (FIFO takes ped 1); one of 2024-04-01 can (directed)."""
    i = imp([(1, 1, "2024-01-05", "A", 10), (2, 1, "2024-03-01", "A", 10)])
    e = exp([(11, 1, "2024-02-01", "A", 5), (12, 1, "2024-04-01", "A", 3)])
    r = discharge(i, directed(e, [(2, 1), (2, 1)]), None)
    assert alloc_table(r) == [(1, "1", 1, 5.0, False), (1, "2", 1, 3.0, True)]
    assert r.balances.set_index("import_pedimento")["open"].to_dict() == {ped(1): 5.0, ped(2): 7.0}


def test_named_line_only_and_line_order_without_line():
    """Ped 1 holds lines 1 and 2 of part A.  Naming line 2 takes line 2 only (the
    rest by FIFO: line 1); naming the pedimento alone takes its lines in line order."""
    i = imp(
        [(1, 1, "2024-01-05", "A", 4), (1, 2, "2024-01-05", "A", 4), (2, 1, "2024-01-01", "A", 9)]
    )
    e = exp([(11, 1, "2024-02-01", "A", 6)])
    r = discharge(i, directed(e, [(1, 2)]), None)
    assert alloc_table(r) == [(1, "1", 2, 4.0, True), (1, "2", 1, 2.0, False)]
    r = discharge(i, directed(e, [(1, 0)]), None)
    assert alloc_table(r) == [(1, "1", 1, 4.0, True), (1, "1", 2, 2.0, True)]


def test_directed_exit_through_the_bom_and_a_pedimento_of_other_parts():
    """FG = 2 C + 1 D.  The exit names ped 2, which holds only C: C comes from
    ped 2 (directed), D by FIFO.  A pedimento of other parts leaves it all to FIFO."""
    i = imp(
        [
            (1, 1, "2024-01-05", "C", 10),
            (1, 2, "2024-01-05", "D", 10),
            (2, 1, "2024-01-10", "C", 10),
        ]
    )
    e = exp([(11, 1, "2024-02-01", "FG", 3)])
    b = bom([("FG", "C", 2, 0, None, None), ("FG", "D", 1, 0, None, None)])
    r = discharge(i, directed(e, [(2, 0)]), b)
    got = {
        (x.part_number, x.import_pedimento[-1]): (x.quantity, x.directed)
        for x in r.allocations.itertuples()
    }
    assert got == {("C", "2"): (6.0, True), ("D", "1"): (3.0, False)}
    i2 = imp(
        [(1, 1, "2024-01-05", "C", 10), (1, 2, "2024-01-05", "D", 10), (3, 1, "2024-01-02", "X", 5)]
    )
    r = discharge(i2, directed(e, [(3, 0)]), b)
    assert not r.allocations["directed"].any()


def test_definitive_import_rows_and_imports_after_as_of_are_not_in_the_ledger():
    """An A1 row passed straight to the engine is ignored (the loader rejects it);
    an import dated after as_of is absent from the balances."""
    i = imp(
        [
            (1, 1, "2024-01-05", "A", 10),
            (2, 1, "2024-01-06", "A", 10),
            (3, 1, "2024-03-01", "A", 10),
        ]
    )
    i.loc[1, "clave"] = "A1"
    e = exp([(11, 1, "2024-02-01", "A", 15)])
    r = discharge(i, e, None, as_of="2024-02-29")
    assert r.balances["import_pedimento"].tolist() == [ped(1)]
    assert r.shortfalls["quantity"].tolist() == [5.0]


def test_directed_findings_name_pedimentos_that_cannot_serve_the_exit():
    from types import SimpleNamespace

    from immex_nb.discharge import (
        FINDING_NO_LINE,
        FINDING_NOT_IMPORTED,
        FINDING_OTHER_PARTS,
        directed_findings,
    )

    i = imp([(1, 1, "2024-01-05", "C", 10), (2, 1, "2024-01-05", "X", 10)])
    e = exp(
        [
            (11, 1, "2024-02-01", "FG", 1),  # ped 1 holds C, a component: fine
            (11, 2, "2024-02-01", "FG", 1),  # ped 2 holds only X
            (11, 3, "2024-02-01", "C", 1),  # ped 9 was never imported
            (11, 4, "2024-02-01", "C", 1),  # ped 1 has no line 7
            (11, 5, "2024-02-01", "C", 1),  # not directed
        ]
    )
    b = bom([("FG", "C", 2, 0, None, None)])
    e = directed(e, [(1, 0), (2, 0), (9, 0), (1, 7), None])
    f = directed_findings(SimpleNamespace(imports=i, exports=e, bom=b))
    assert f[["export_line", "issue"]].values.tolist() == [
        [2, FINDING_OTHER_PARTS],
        [3, FINDING_NOT_IMPORTED],
        [4, FINDING_NO_LINE],
    ]
    assert f["detail"].str.endswith("discharged by FIFO").all()


def test_worked_example_of_docs_rules_discharge():
    """docs/rules/discharge.md, 'A worked example': E3 names a line not yet in
    the country (FIFO), E4 takes the named L3 first and the rest by FIFO."""
    i = imp(
        [
            (1, 1, "2024-01-05", "R-1", 100),
            (2, 1, "2024-02-01", "R-1", 50),
            (3, 1, "2024-06-01", "R-1", 80),
        ]
    )
    e = exp(
        [
            (11, 1, "2024-01-20", "R-1", 120),
            (12, 1, "2024-03-01", "R-1", 30),
            (13, 1, "2024-04-15", "R-1", 10),
            (14, 1, "2024-07-01", "R-1", 90),
        ]
    )
    r = discharge(i, directed(e, [None, None, (3, 0), (3, 0)]), None)
    assert [
        (x.export_pedimento[-1], x.import_pedimento[-1], x.quantity, x.directed)
        for x in r.allocations.itertuples()
    ] == [
        ("1", "1", 100.0, False),
        ("2", "2", 30.0, False),
        ("3", "2", 10.0, False),
        ("4", "3", 80.0, True),
        ("4", "2", 10.0, False),
    ]
    assert r.balances["open"].tolist() == [0.0, 0.0, 0.0]
    assert r.shortfalls["quantity"].tolist() == [20.0]
