"""The contract, §3 results and invariants: one sentence per test, numbers worked by hand.

Each test writes a small client folder the way a client would send it and goes
only through the public entry points (docs/contract.md).
"""

from __future__ import annotations

import random
from fractions import Fraction

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
    mixed_folder,
    open_by_line,
    run_folder,
    short_set,
)

from immex_nb.cli import main

ALLOCATION_COLUMNS = [
    "export_pedimento",
    "export_line",
    "export_date",
    "part_number",
    "import_pedimento",
    "import_line",
    "import_date",
    "quantity",
]
BALANCE_COLUMNS = [
    "import_pedimento",
    "import_line",
    "import_date",
    "part_number",
    "quantity",
    "discharged",
    "open",
    "deadline",
]
SHORTFALL_COLUMNS = ["export_pedimento", "export_line", "export_date", "part_number", "quantity"]


def test_result_frames_have_contract_columns(tmp_path):
    """§3: "**allocations**: `export_pedimento, export_line, export_date,
    part_number, import_pedimento, import_line, import_date, quantity` (+
    `late` …)"; "**balances**, one row per import line: … `quantity, discharged,
    open, deadline`"; "**shortfalls**: `export_pedimento, export_line,
    export_date, part_number, quantity`"."""
    r = run_folder(mixed_folder(tmp_path))
    assert set(ALLOCATION_COLUMNS + ["late"]) <= set(r.allocations.columns)
    assert set(BALANCE_COLUMNS) <= set(r.balances.columns)
    assert set(SHORTFALL_COLUMNS) <= set(r.shortfalls.columns)
    assert len(r.balances) == 3  # one row per import line
    assert not r.balances.duplicated(["import_pedimento", "import_line"]).any()


def test_mixed_scenario_hand_worked(tmp_path):
    """§2 + §3 on one small ledger.  FG = 2 A (scrap 10 %) + 1 B.
    E1 01-20 20 FG: A 44 ← I1/1; B 20 ← I1/2.  E2 02-15 30 A: I1/1 30 (56 left
    → 26).  E3 03-01 20 FG: A 44 ← I1/1 26 + I2/1 18; B 20 ← I1/2 10, short 10.
    Open: I1/1 0, I1/2 0, I2/1 32."""
    r = run_folder(mixed_folder(tmp_path))
    assert alloc_set(r.allocations) == {
        (ep(1), 1, "A", ip(1), 1): 44.0,
        (ep(1), 1, "B", ip(1), 2): 20.0,
        (ep(2), 1, "A", ip(1), 1): 30.0,
        (ep(3), 1, "A", ip(1), 1): 26.0,
        (ep(3), 1, "A", ip(2), 1): 18.0,
        (ep(3), 1, "B", ip(1), 2): 10.0,
    }
    assert short_set(r.shortfalls) == {(ep(3), 1, "B"): 10.0}
    assert open_by_line(r.balances) == {(ip(1), 1): 0.0, (ip(1), 2): 0.0, (ip(2), 1): 32.0}


def test_cli_discharge_writes_csvs_manifest_and_is_byte_identical(tmp_path):
    """§3: "`immex-nb discharge DATA_DIR --out OUT_DIR [--as-of YYYY-MM-DD]`
    writes them as CSV files of the same names (plus a run manifest)"; the
    CSVs carry the contract columns and the numbers of the API; two runs give
    the same bytes."""
    folder = mixed_folder(tmp_path)
    outs = [tmp_path / "o1", tmp_path / "o2"]
    for out in outs:
        p = cli(["discharge", str(folder), "--out", str(out), "--as-of", "2024-12-31"])
        assert p.returncode == 0, p.stderr
    names = sorted(p.name for p in outs[0].iterdir())
    assert {"allocations.csv", "balances.csv", "shortfalls.csv"} <= set(names)
    assert any("manifest" in n for n in names), names
    for n in ("allocations.csv", "balances.csv", "shortfalls.csv"):
        assert (outs[0] / n).read_bytes() == (outs[1] / n).read_bytes(), n
    a = pd.read_csv(outs[0] / "allocations.csv", dtype={"export_pedimento": str})
    b = pd.read_csv(outs[0] / "balances.csv")
    s = pd.read_csv(outs[0] / "shortfalls.csv")
    assert set(ALLOCATION_COLUMNS) <= set(a.columns)
    assert set(BALANCE_COLUMNS) <= set(b.columns)
    assert set(SHORTFALL_COLUMNS) <= set(s.columns)
    assert a["quantity"].sum() == pytest.approx(44 + 20 + 30 + 26 + 18 + 10)
    assert s["quantity"].sum() == pytest.approx(10)
    assert b["open"].sum() == pytest.approx(32)
    # the same bytes again when the output folder is reused
    assert main(["discharge", str(folder), "--out", str(outs[0]), "--as-of", "2024-12-31"]) == 0
    for n in ("allocations.csv", "balances.csv", "shortfalls.csv"):
        assert (outs[0] / n).read_bytes() == (outs[1] / n).read_bytes(), n


def test_cli_discharge_as_of(tmp_path):
    """§3: "`--as-of YYYY-MM-DD`" applies the §2.5 cut-off: as of 2024-02-15 E3
    (03-01) is ignored → open I1/1 26, I1/2 10, I2/1 50; no shortfall."""
    folder = mixed_folder(tmp_path)
    out = tmp_path / "o"
    assert main(["discharge", str(folder), "--out", str(out), "--as-of", "2024-02-15"]) == 0
    b = pd.read_csv(out / "balances.csv", dtype={"import_pedimento": str})
    got = {(r.import_pedimento, int(r.import_line)): r.open for r in b.itertuples()}
    assert got == {(ip(1), 1): 26.0, (ip(1), 2): 10.0, (ip(2), 1): 50.0}
    assert len(pd.read_csv(out / "shortfalls.csv")) == 0


# -- invariants against an independent exact reference


def _reference(imports, exports, bom_rows):
    """Exact FIFO with Fractions (one-level BOM, no validity dates)."""
    boms: dict[str, list] = {}
    for b in bom_rows:
        boms.setdefault(b["parent"], []).append(b)
    cons = []  # (date, ped, line, part, qty)
    for e in exports:
        q = Fraction(str(e["quantity"]))
        if e["part_number"] in boms:
            per = {}
            for b in boms[e["part_number"]]:
                g = q * Fraction(str(b["qty_per"])) * (1 + Fraction(str(b["scrap_rate"])))
                per[b["component"]] = per.get(b["component"], 0) + g
            for part, g in per.items():
                cons.append((e["date"], e["pedimento"], e["line"], part, g))
        else:
            cons.append((e["date"], e["pedimento"], e["line"], e["part_number"], q))
    lots = sorted(imports, key=lambda r: (r["date"], r["pedimento"], r["line"]))
    left = {(r["pedimento"], r["line"]): Fraction(str(r["quantity"])) for r in lots}
    alloc, short = {}, {}
    for date, ped, line, part, need in sorted(cons):
        for r in lots:
            if need == 0:
                break
            k = (r["pedimento"], r["line"])
            if r["part_number"] != part or r["date"] > date or left[k] == 0:
                continue
            take = min(need, left[k])
            left[k] -= take
            need -= take
            alloc[(ped, line, part, *k)] = alloc.get((ped, line, part, *k), 0) + take
        if need:
            short[(ped, line, part)] = short.get((ped, line, part), 0) + need
    return alloc, short, left, cons


def _random_ledger(seed):
    rnd = random.Random(seed)
    parts = ["A", "B", "C"]
    day = lambda: f"2024-{rnd.randint(1, 6):02d}-{rnd.randint(1, 28):02d}"  # noqa: E731
    imports = [
        imp(ip(rnd.randint(1, 6)), n, day(), rnd.choice(parts), rnd.randint(1, 400) / 8)
        for n in range(1, 13)
    ]
    exports = [
        exp(
            ep(rnd.randint(1, 6)),
            n,
            day(),
            rnd.choice(["F1", "F2", "A", "C"]),
            rnd.randint(1, 80) / 4,
        )
        for n in range(1, 13)
    ]
    bom_rows = [
        bom("F1", "A", 2, 0.05),
        bom("F1", "B", 0.5, 0),
        bom("F2", "A", 1, 0),
        bom("F2", "C", 3, 0.125),
    ]
    return imports, exports, bom_rows


@pytest.mark.parametrize("seed", range(6))
def test_invariants_and_exact_quantities(tmp_path, seed):
    """§3: "Invariants that always hold: per import line `quantity = discharged +
    open`; per export line and part, consumption = allocated + shortfall; no
    allocation precedes its import's date. Quantities agree with exact rational
    arithmetic to 1e-4 of a unit".  Expected allocations come from an
    independent Fraction-based FIFO over the same files."""
    imports, exports, bom_rows = _random_ledger(seed)
    r = run_folder(client(tmp_path, imports, exports, bom_rows))
    ref_alloc, ref_short, ref_left, cons = _reference(imports, exports, bom_rows)

    got = alloc_set(r.allocations)
    assert set(got) == set(ref_alloc)
    for k, v in ref_alloc.items():
        assert abs(got[k] - float(v)) <= 1e-4, k
    got_s = short_set(r.shortfalls)
    assert set(got_s) == {k for k, v in ref_short.items() if v > Fraction(1, 10**6)}
    for k, v in ref_short.items():
        assert abs(got_s.get(k, 0.0) - float(v)) <= 1e-4, k

    b = r.balances
    assert ((b["quantity"] - b["discharged"] - b["open"]).abs() <= 1e-4).all()
    for row in b.itertuples():
        assert abs(row.open - float(ref_left[(row.import_pedimento, row.import_line)])) <= 1e-4
    # consumption = allocated + shortfall, per export line and part
    need = {}
    for _, ped, line, part, q in cons:
        need[(ped, line, part)] = need.get((ped, line, part), 0) + q
    for k, q in need.items():
        allocated = sum(v for kk, v in got.items() if kk[:3] == k)
        assert abs(allocated + got_s.get(k, 0.0) - float(q)) <= 1e-4, k
    a = r.allocations
    assert (pd.to_datetime(a["import_date"]) <= pd.to_datetime(a["export_date"])).all()
