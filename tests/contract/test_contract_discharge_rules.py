"""The contract, §2 discharge rules: one sentence per test, numbers worked by hand.

Each test writes a small client folder the way a client would send it and goes
only through the public entry points (docs/contract.md).
"""

from __future__ import annotations

import pandas as pd
import pytest
from contract_support import (
    alloc_set,
    bom,
    cli,
    client,
    ep,
    exp,
    imp,
    ip,
    open_by_line,
    run_folder,
    short_set,
)

import immex_nb
from immex_nb.cli import main


def test_explosion_depth_two_shared_component(tmp_path):
    """§2.1: "if P has BOM rows valid at t, each component consumes `Q × qty_per ×
    (1 + scrap_rate)`; a component that itself has rows valid at t is exploded
    again (any depth); the same component reached by several paths is summed".

    BOM: FG → SUB 2 (scrap 5 %), FG → C 1 (scrap 10 %); SUB → C 3, SUB → D 0.5.
    Export 10 FG: SUB gross 10×2×1.05 = 21 (exploded, not consumed itself);
    C = 10×1×1.1 + 21×3 = 11 + 63 = 74; D = 21×0.5 = 10.5.
    Imports C 100, D 50 → open C 26, D 39.5; nothing short.
    """
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2024-01-10", "C", 100), imp(ip(1), 2, "2024-01-10", "D", 50)],
        [exp(ep(1), 1, "2024-02-01", "FG", 10)],
        [
            bom("FG", "SUB", 2, 0.05),
            bom("FG", "C", 1, 0.10),
            bom("SUB", "C", 3),
            bom("SUB", "D", 0.5),
        ],
    )
    r = run_folder(folder)
    assert alloc_set(r.allocations) == {
        (ep(1), 1, "C", ip(1), 1): 74.0,
        (ep(1), 1, "D", ip(1), 2): 10.5,
    }
    assert len(r.allocations) == 2  # C's two paths give one consumption, not two
    assert open_by_line(r.balances) == {(ip(1), 1): 26.0, (ip(1), 2): 39.5}
    assert r.shortfalls.empty


def test_bom_versions_valid_dates_inclusive(tmp_path):
    """§1 bom: "`valid_from` and `valid_to` are inclusive dates, blank =
    open-ended" and §2.1 "A part with no valid BOM row is consumed itself".

    FG → X 1 valid 2024-01-01…2024-03-31; FG → Y 2 valid from 2024-04-01 (open).
    Exports of 1 FG each: 2023-12-31 (no row valid: FG itself, never imported →
    shortfall 1 FG), 2024-01-01 (X 1), 2024-03-31 (X 1), 2024-04-01 (Y 2),
    2030-01-01 (Y 2, open end).
    """
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2023-01-02", "X", 10), imp(ip(1), 2, "2023-01-02", "Y", 10)],
        [
            exp(ep(1), 1, "2023-12-31", "FG", 1),
            exp(ep(2), 1, "2024-01-01", "FG", 1),
            exp(ep(3), 1, "2024-03-31", "FG", 1),
            exp(ep(4), 1, "2024-04-01", "FG", 1),
            exp(ep(5), 1, "2030-01-01", "FG", 1),
        ],
        [
            bom("FG", "X", 1, 0, "2024-01-01", "2024-03-31"),
            bom("FG", "Y", 2, 0, "2024-04-01", ""),
        ],
    )
    r = run_folder(folder)
    assert alloc_set(r.allocations) == {
        (ep(2), 1, "X", ip(1), 1): 1.0,
        (ep(3), 1, "X", ip(1), 1): 1.0,
        (ep(4), 1, "Y", ip(1), 2): 2.0,
        (ep(5), 1, "Y", ip(1), 2): 2.0,
    }
    assert short_set(r.shortfalls) == {(ep(1), 1, "FG"): 1.0}


def _cycle_folder(tmp_path):
    return client(
        tmp_path,
        [imp(ip(1), 1, "2024-01-10", "LEAF", 100)],
        [exp(ep(1), 1, "2024-02-01", "ALFA", 1)],
        [
            bom("ALFA", "BRAVO", 1),
            bom("BRAVO", "CHARLIE", 1),
            bom("CHARLIE", "ALFA", 1),
            bom("BRAVO", "LEAF", 1),
        ],
    )


def test_bom_cycle_is_an_error_naming_the_parts(tmp_path):
    """§2.1: "A BOM cycle is an error that names the parts in the cycle".
    ALFA → BRAVO → CHARLIE → ALFA."""
    folder = _cycle_folder(tmp_path)
    ledger = immex_nb.load(folder)
    with pytest.raises(immex_nb.ImmexError) as info:
        immex_nb.discharge(ledger.imports, ledger.exports, ledger.bom)
    msg = str(info.value)
    assert all(p in msg for p in ("ALFA", "BRAVO", "CHARLIE")), msg
    assert "LEAF" not in msg


def test_bom_cycle_on_the_command_line_exit_2_no_traceback(tmp_path):
    """§2.1 + §5 spirit: the cycle reaches the user as a one-line error naming
    the parts (exit 2), not a traceback."""
    folder = _cycle_folder(tmp_path)
    p = cli(["discharge", str(folder), "--out", str(tmp_path / "out")])
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert all(x in p.stderr for x in ("ALFA", "BRAVO", "CHARLIE")), p.stderr


def test_order_ties_pedimento_text_then_line_number(tmp_path):
    """§2.2: "Per part, imports are taken in order of `(date, pedimento, line)`,
    consumptions in order of `(export date, export pedimento, export line)` —
    pedimento compared as its normalised text, line as a number".

    Imports of P (file order): I10/1 5 @01-10, I9/10 5 @01-10, I9/9 5 @01-10,
    I1/1 5 @01-11 (lowest pedimento but a later date).  FIFO order: I9/9,
    I9/10 (9 < 10 as numbers, not as text), I10/1, I1/1.
    Exports, same day 02-01 (file order): E2/1 6, E1/10 6, E1/9 6 → order
    E1/9, E1/10, E2/1:  E1/9 ← I9/9 5 + I9/10 1;  E1/10 ← I9/10 4 + I10/1 2;
    E2/1 ← I10/1 3 + I1/1 3.  Open: I1/1 2.
    """
    folder = client(
        tmp_path,
        [
            imp(ip(10), 1, "2024-01-10", "P", 5),
            imp(ip(9), 10, "2024-01-10", "P", 5),
            imp(ip(9), 9, "2024-01-10", "P", 5),
            imp(ip(1), 1, "2024-01-11", "P", 5),
        ],
        [
            exp(ep(2), 1, "2024-02-01", "P", 6),
            exp(ep(1), 10, "2024-02-01", "P", 6),
            exp(ep(1), 9, "2024-02-01", "P", 6),
        ],
    )
    r = run_folder(folder)
    assert alloc_set(r.allocations) == {
        (ep(1), 9, "P", ip(9), 9): 5.0,
        (ep(1), 9, "P", ip(9), 10): 1.0,
        (ep(1), 10, "P", ip(9), 10): 4.0,
        (ep(1), 10, "P", ip(10), 1): 2.0,
        (ep(2), 1, "P", ip(10), 1): 3.0,
        (ep(2), 1, "P", ip(1), 1): 3.0,
    }
    assert open_by_line(r.balances) == {
        (ip(10), 1): 0.0,
        (ip(9), 10): 0.0,
        (ip(9), 9): 0.0,
        (ip(1), 1): 2.0,
    }


def test_same_day_availability_and_no_back_fill(tmp_path):
    """§2.3 "An import is available to a consumption on or after its own date
    (same day counts)" and §2.4 "What finds no balance is a **shortfall**: it is
    reported, and never back-filled by a later import".

    P: I1 2024-01-01 5; I2 2024-03-01 10.  Exports: E1 2023-12-15 2 (nothing in
    the country → short 2), E2 2024-01-01 4 (same day as I1 → I1 4), E3
    2024-02-01 3 (I1 1, short 2 — I2 not yet arrived), E4 2024-03-01 4 (I2 4).
    Open: I1 0, I2 6 — the 4 short units are never taken from I2.
    """
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2024-01-01", "P", 5), imp(ip(2), 1, "2024-03-01", "P", 10)],
        [
            exp(ep(1), 1, "2023-12-15", "P", 2),
            exp(ep(2), 1, "2024-01-01", "P", 4),
            exp(ep(3), 1, "2024-02-01", "P", 3),
            exp(ep(4), 1, "2024-03-01", "P", 4),
        ],
    )
    r = run_folder(folder)
    assert alloc_set(r.allocations) == {
        (ep(2), 1, "P", ip(1), 1): 4.0,
        (ep(3), 1, "P", ip(1), 1): 1.0,
        (ep(4), 1, "P", ip(2), 1): 4.0,
    }
    assert short_set(r.shortfalls) == {(ep(1), 1, "P"): 2.0, (ep(3), 1, "P"): 2.0}
    assert open_by_line(r.balances) == {(ip(1), 1): 0.0, (ip(2), 1): 6.0}


def test_as_of_cut_off_ignores_later_exports(tmp_path):
    """§2.5: "With `as_of`, exports dated after it are ignored" (an export on
    the as-of day counts).  I1 10 @2024-01-10; E1 3 @06-30, E2 4 @07-01.
    as_of 2024-06-30 → only E1: open 7.  Without as_of: open 3."""
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2024-01-10", "P", 10)],
        [exp(ep(1), 1, "2024-06-30", "P", 3), exp(ep(2), 1, "2024-07-01", "P", 4)],
    )
    r = run_folder(folder, as_of="2024-06-30")
    assert alloc_set(r.allocations) == {(ep(1), 1, "P", ip(1), 1): 3.0}
    assert open_by_line(r.balances) == {(ip(1), 1): 7.0}
    assert r.shortfalls.empty
    r = run_folder(folder)
    assert open_by_line(r.balances) == {(ip(1), 1): 3.0}


DEADLINE_CASES = [
    # (line, date, type, clamp deadline, CFF deadline)
    (1, "2024-08-31", "MP", "2026-02-28", "2026-03-02"),  # Feb-2026 has no 31; 03-01 Sunday
    (2, "2022-08-31", "MP", "2024-02-29", "2024-03-01"),  # leap February; 03-01 Friday
    (3, "2024-01-15", "EE", "2025-07-15", "2025-07-15"),  # Tuesday: unchanged
    (4, "2024-01-31", "CT", "2026-01-31", "2026-02-03"),  # Sat → Mon 02-02 is a holiday
    (5, "2024-02-10", "MP", "2025-08-10", "2025-08-11"),  # Sunday → Monday
    (6, "2024-03-16", "EE", "2025-09-16", "2025-09-17"),  # 16 Sept: national holiday
    (7, "2019-05-20", "AF", None, None),  # AF: no limit
]


def _deadline_folder(tmp_path):
    rows = [imp(ip(1), n, d, f"P{n}", 1, mt=mt) for n, d, mt, _, _ in DEADLINE_CASES]
    return client(tmp_path, rows, [exp(ep(1), 1, "2024-09-01", "P1", 1)])


def test_deadlines_default_clamp_rule(tmp_path):
    """§2.6: "`MP` and `EE` 18 months, `CT` 24 months, `AF` none … Default rule:
    same day N months later, or the month's last day where that day does not
    exist (2024-08-31 + 18 months = 2026-02-28)"."""
    r = run_folder(_deadline_folder(tmp_path))
    got = {int(b.import_line): b.deadline for b in r.balances.itertuples()}
    for line, _, _, clamp, _ in DEADLINE_CASES:
        if clamp is None:
            assert pd.isna(got[line])
        else:
            assert pd.Timestamp(got[line]) == pd.Timestamp(clamp), line


def test_deadlines_cff_option(tmp_path):
    """§2.6: "Option: the CFF Art. 12 rule (a missing day moves to the first
    business day of the next month, and a deadline on a non-business day to the
    next business day)".  2024-08-31 + 18 → 2026-02-31 missing → 2026-03-01 is a
    Sunday → 2026-03-02; 2025-08-10 Sunday → 08-11; 2025-09-16 (Independence
    day, CFF art. 12 día inhábil) → 09-17; 2026-01-31 Saturday → Monday 02-02
    is Constitution day (first Monday of February) → 02-03."""
    r = run_folder(_deadline_folder(tmp_path), deadline_rule="cff")
    got = {int(b.import_line): b.deadline for b in r.balances.itertuples()}
    for line, _, _, _, cff in DEADLINE_CASES:
        if cff is None:
            assert pd.isna(got[line])
        else:
            assert pd.Timestamp(got[line]) == pd.Timestamp(cff), line


def test_cff_option_on_the_command_line(tmp_path):
    """§2.6 option through ``immex-nb discharge --deadline-rule cff``:
    balances.csv deadline of the 2024-08-31 MP line is 2026-03-02 (clamp:
    2026-02-28)."""
    folder = _deadline_folder(tmp_path)
    for rule, want in (("clamp", "2026-02-28"), ("cff", "2026-03-02")):
        out = tmp_path / rule
        assert main(["discharge", str(folder), "--out", str(out), "--deadline-rule", rule]) == 0
        b = pd.read_csv(out / "balances.csv", dtype=str)
        line1 = b[b["import_line"] == "1"].iloc[0]
        assert line1["deadline"].startswith(want)


def test_late_flag(tmp_path):
    """§2.7: "A consumption drawn from an import line whose deadline has passed is
    allowed and flagged `late`".  I1 MP 2022-01-10 → deadline 2023-07-10.
    E1 2023-07-10 (deadline day: not passed) → late False; E2 2023-07-11 →
    allowed (1 unit) and late True."""
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2022-01-10", "P", 10)],
        [exp(ep(1), 1, "2023-07-10", "P", 1), exp(ep(2), 1, "2023-07-11", "P", 1)],
    )
    r = run_folder(folder)
    a = r.allocations.set_index("export_pedimento")
    assert float(a.loc[ep(2), "quantity"]) == 1.0
    assert not bool(a.loc[ep(1), "late"])
    assert bool(a.loc[ep(2), "late"])
