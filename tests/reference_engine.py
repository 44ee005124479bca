"""A slow, obviously correct discharge: plain loops over docs/rules/discharge.md.

Quantities are exact decimal fractions (``Fraction(str(x))``), the "exact
rational arithmetic" of docs/rules/discharge.md.

Used only by the tests, to hold the vectorised engine in
:mod:`immex_nb.discharge` to the rules of docs/rules/discharge.md: FIFO, the
as_of cut-off, directed discharge, and only temporary entries (IN, AF, V1)
in the ledger.  Quantities are exact fractions.
"""

from __future__ import annotations

from fractions import Fraction

import pandas as pd

#: imports claves that are temporary IMMEX entries (docs/rules/claves.md); blank = IN
TEMPORARY = {"IN", "AF", "V1", ""}


def _named(e, column):
    v = e.get(column)
    if v is None or (isinstance(v, float) and pd.isna(v)) or v == "" or v == 0:
        return None
    return v


def _valid(row, when) -> bool:
    lo, hi = row["valid_from"], row["valid_to"]
    return (pd.isna(lo) or lo <= when) and (pd.isna(hi) or when <= hi)


def explode_one(part, qty, when, bom_rows, *, scrap=True, depth=0):
    """{component: quantity} consumed by ``qty`` of ``part`` on ``when`` (recursive)."""
    assert depth < 100, "cycle"
    rows = [r for r in bom_rows if r["parent"] == part and _valid(r, when)]
    if not rows:
        return {part: qty}
    out: dict = {}
    for r in rows:
        per = Fraction(str(r["qty_per"]))
        if scrap and not pd.isna(r["scrap_rate"]):
            per *= 1 + Fraction(str(r["scrap_rate"]))
        for comp, q in explode_one(
            r["component"], qty * per, when, bom_rows, scrap=scrap, depth=depth + 1
        ).items():
            out[comp] = out.get(comp, Fraction(0)) + q
    return out


def reference_discharge(
    imports: pd.DataFrame, exports: pd.DataFrame, bom: pd.DataFrame, as_of=None
):
    """Return (allocations, balances, shortfalls) as lists of dicts."""
    bom_rows = bom.to_dict("records") if bom is not None else []
    if as_of is not None:  # the ledger as it stood that day: both sides cut
        imports = imports[imports["date"] <= pd.Timestamp(as_of)]
        exports = exports[exports["date"] <= pd.Timestamp(as_of)]
    if "clave" in imports.columns:  # A1, F4… in imports are not part of the ledger
        imports = imports[[str(c).strip().upper() in TEMPORARY for c in imports["clave"]]]
    lots = sorted(
        imports.to_dict("records"), key=lambda r: (r["date"], r["pedimento"], int(r["line"]))
    )
    left = {(r["pedimento"], r["line"]): Fraction(str(r["quantity"])) for r in lots}
    consumptions = []
    for e in exports.to_dict("records"):
        for comp, g in explode_one(
            e["part_number"], Fraction(str(e["quantity"])), e["date"], bom_rows
        ).items():
            consumptions.append((e, comp, g))
    consumptions.sort(key=lambda c: (c[0]["date"], c[0]["pedimento"], int(c[0]["line"])))
    allocations, shortfalls = [], []
    for e, part, need in consumptions:
        named, named_line = _named(e, "import_pedimento"), _named(e, "import_line")
        first = sorted(
            (
                lot
                for lot in lots
                if named is not None
                and lot["pedimento"] == named
                and lot["part_number"] == part
                and (named_line is None or int(lot["line"]) == int(named_line))
            ),
            key=lambda lot: int(lot["line"]),
        )
        for directed, candidates in ((True, first), (False, lots)):
            for lot in candidates:
                if need == 0:
                    break
                if lot["part_number"] != part or lot["date"] > e["date"]:
                    continue
                key = (lot["pedimento"], lot["line"])
                take = min(need, left[key])
                if take > 0:
                    left[key] -= take
                    need -= take
                    allocations.append(
                        {
                            "export_pedimento": e["pedimento"],
                            "export_line": int(e["line"]),
                            "part_number": part,
                            "import_pedimento": lot["pedimento"],
                            "import_line": int(lot["line"]),
                            "quantity": float(take),
                            "directed": directed,
                        }
                    )
        if need > 0:
            shortfalls.append(
                {
                    "export_pedimento": e["pedimento"],
                    "export_line": int(e["line"]),
                    "part_number": part,
                    "quantity": float(need),
                }
            )
    balances = [
        {
            "import_pedimento": r["pedimento"],
            "import_line": int(r["line"]),
            "quantity": float(r["quantity"]),
            "open": float(left[(r["pedimento"], r["line"])]),
        }
        for r in lots
    ]
    return allocations, balances, shortfalls
