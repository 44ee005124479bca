"""Discharge (descargo) of temporary imports by FIFO / PEPS — CONTRACT.md §2–§3.

Each export line consumes material: its part exploded through the bill of
materials valid on the export date (any depth, paths to the same component
summed), or the part itself when it has no valid BOM row (a return as-is).
Per part, the consumptions take, in time order, from the oldest import lines
already in the country; what finds no balance is a *shortfall* and is never
filled later.

A three-lot example, part ``R-1``::

    imports   L1 2024-01-05  100      L2 2024-02-01  50      L3 2024-06-01  80
    exports   E1 2024-01-20  120  (only L1 is in the country: 100 taken, 20 short)
              E2 2024-03-01   70  (L2: 50 taken, 20 short — L3 not yet arrived)
              E3 2024-07-01   30  (L3: 30 taken)
    balances  L1 0 open   L2 0 open   L3 50 open      shortfalls 20 + 20

How it is computed (no loop per event or per part).  Quantities are int64
micro-units, so ``quantity = discharged + open`` holds exactly.  Per part the
lots lie end to end on one cumulative axis in ``(date, pedimento, line)``
order.  Consumption *j* has cumulative demand ``A_j`` and can reach the lots
already in the country, capacity ``C_j`` (a ``searchsorted`` on the lots'
dates).  FIFO without back-fill is the recursion ``S_j = min(S_{j-1} + a_j,
C_j)``, whose closed form is ``S_j = A_j − max(0, max_{k≤j}(A_k − C_k))``: a
running maximum.  Consumption *j* then occupies ``[S_{j-1}, S_j)`` on the
axis, and its allocations are the intersections with the lots' intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from immex_nb.deadlines import DEADLINE_RULES, deadlines
from immex_nb.errors import ImmexError
from immex_nb.schema import BOM

MICRO = 1_000_000  # quantity quantum: one micro-unit
_DAY_BITS = 20  # key = part_code << 20 | day offset (days since 1900 fit in 20 bits up to year 4770)
_EPOCH = np.datetime64("1900-01-01", "D")

ALLOCATION_COLUMNS = [
    "export_pedimento", "export_line", "export_date", "export_part", "part_number",
    "import_pedimento", "import_line", "import_date", "quantity", "net_quantity",
    "scrap_quantity", "late", "deadline", "value_mxn", "value_usd", "material_type",
    "origin", "destination", "export_clave",
]
BALANCE_COLUMNS = [
    "import_pedimento", "import_line", "import_date", "part_number", "clave", "material_type",
    "quantity", "discharged", "open", "deadline", "status", "expired", "days_to_deadline",
    "value_mxn", "value_usd", "open_value_mxn", "open_value_usd", "origin", "fraccion",
    "description", "uom", "igi_rate", "prosec_rate", "usmca_originating",
]
SHORTFALL_COLUMNS = [
    "export_pedimento", "export_line", "export_date", "export_part", "part_number",
    "quantity", "reason",
]

SHORTFALL_NEVER_IMPORTED = "part never imported"
SHORTFALL_NOT_YET = "no balance yet: no import of this part dated on or before the export"
SHORTFALL_EXHAUSTED = "balance exhausted: earlier imports of this part already discharged"


@dataclass(frozen=True)
class DischargeResult:
    """What a discharge run produced; the frames follow CONTRACT.md §3."""

    allocations: pd.DataFrame
    balances: pd.DataFrame
    shortfalls: pd.DataFrame
    as_of: pd.Timestamp | None
    reference_date: pd.Timestamp
    deadline_rule: str = "clamp"
    parameters: dict = field(default_factory=dict)

    def summary(self) -> dict:
        b = self.balances
        return {
            "import_lines": int(len(b)),
            "open_lines": int((b["open"] > 0).sum()),
            "expired_open_lines": int(b["expired"].sum()),
            "allocations": int(len(self.allocations)),
            "late_allocations": int(self.allocations["late"].sum()),
            "shortfall_lines": int(len(self.shortfalls)),
            "shortfall_quantity": float(self.shortfalls["quantity"].sum()),
            "open_value_mxn": float(b["open_value_mxn"].sum()),
        }


# --------------------------------------------------------------------------- helpers


def _days(values: pd.Series) -> np.ndarray:
    """Dates as int64 days since 1900-01-01 (NaT → -1)."""
    d = pd.to_datetime(values).to_numpy(dtype="datetime64[D]")
    out = (d - _EPOCH).astype(np.int64)
    out[np.isnat(d)] = -1
    return out


def _pedimento_int(values: pd.Series) -> np.ndarray:
    """Normalised pedimento text → int64 of its 15 digits (same order as the text)."""
    digits = pd.Series(values, dtype="string").str.replace(r"\D", "", regex=True)
    return pd.to_numeric(digits, errors="coerce").fillna(-1).astype(np.int64).to_numpy()


def _micro(x: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(x, dtype="float64") * MICRO).astype(np.int64)


def _check_cycles(bom: pd.DataFrame) -> None:
    """Raise if BOM rows valid on a common date form a cycle (naming its parts)."""
    if bom.empty:
        return
    edges = bom[["parent", "component"]].astype(str)
    cycle = _find_cycle(edges)
    if cycle is None:
        return
    # A cycle only matters if its rows are valid on a common date; check each
    # stretch of time in which the set of valid rows is constant.
    vf = pd.to_datetime(bom["valid_from"])
    vt = pd.to_datetime(bom["valid_to"])
    starts = sorted(set(vf.dropna()) | {pd.Timestamp.min})
    ends = {t + pd.Timedelta(days=1) for t in vt.dropna()}
    for t in sorted(set(starts) | ends):
        valid = (vf.isna() | (vf <= t)) & (vt.isna() | (vt >= t))
        found = _find_cycle(edges[valid.to_numpy()])
        if found is not None:
            when = "" if t == pd.Timestamp.min else f" (rows valid on {t:%Y-%m-%d})"
            raise ImmexError(
                "BOM cycle: " + " → ".join(found) + f"{when}; a part cannot contain itself"
            )


def _find_cycle(edges: pd.DataFrame) -> list[str] | None:
    children: dict[str, list[str]] = {}
    for p, c in zip(edges["parent"], edges["component"], strict=True):
        children.setdefault(p, []).append(c)
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in children:
        if state.get(root):
            continue
        stack = [(root, iter(children.get(root, ())))]
        path = [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(children.get(nxt, ()))))
    return None


def explode(exports: pd.DataFrame, bom: pd.DataFrame, part_codes: pd.Index):
    """Consumptions of each export line, through the BOM valid on its date.

    Returns arrays ``(export_row, part_code, gross_micro, net_micro)``, one entry
    per (export line, consumed part), paths to the same part summed.
    """
    ev = np.arange(len(exports), dtype=np.int64)
    part = part_codes.get_indexer(exports["part_number"].astype(str))
    day = _days(exports["date"])
    gross = exports["quantity"].to_numpy(dtype="float64")
    net = gross.copy()

    if bom is not None and len(bom):
        b_parent = part_codes.get_indexer(bom["parent"].astype(str))
        order = np.argsort(b_parent, kind="stable")
        b_parent = b_parent[order]
        b_comp = part_codes.get_indexer(bom["component"].astype(str))[order]
        qty_per = bom["qty_per"].to_numpy(dtype="float64")[order]
        scrap = bom["scrap_rate"].fillna(0.0).to_numpy(dtype="float64")[order]
        b_from = _days(bom["valid_from"])[order]
        b_from[b_from < 0] = np.iinfo(np.int64).min
        b_to = _days(bom["valid_to"])[order]
        b_to[b_to < 0] = np.iinfo(np.int64).max
    else:
        b_parent = b_comp = b_from = b_to = np.empty(0, dtype=np.int64)
        qty_per = scrap = np.empty(0, dtype="float64")

    leaves = [(ev[:0], part[:0], gross[:0], net[:0])]
    for _depth in range(len(part_codes) + 2):  # one pass per BOM level, never per event
        if len(ev) == 0:
            break
        lo = np.searchsorted(b_parent, part, side="left")
        hi = np.searchsorted(b_parent, part, side="right")
        n_rows = hi - lo
        rep = np.repeat(np.arange(len(ev)), n_rows)
        brow = np.arange(n_rows.sum()) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows) + lo[rep]
        valid = (b_from[brow] <= day[rep]) & (day[rep] <= b_to[brow]) if len(brow) else np.zeros(0, bool)
        has_valid = np.bincount(rep[valid], minlength=len(ev)) > 0
        leaf = ~has_valid
        leaves.append((ev[leaf], part[leaf], gross[leaf], net[leaf]))
        rep, brow = rep[valid], brow[valid]
        ev, day = ev[rep], day[rep]
        part = b_comp[brow]
        gross = gross[rep] * qty_per[brow] * (1.0 + scrap[brow])
        net = net[rep] * qty_per[brow]
    else:  # pragma: no cover - _check_cycles makes this unreachable
        raise ImmexError("BOM explosion did not end: the BOM has a cycle")

    ev = np.concatenate([x[0] for x in leaves])
    part = np.concatenate([x[1] for x in leaves])
    gross = np.concatenate([x[2] for x in leaves])
    net = np.concatenate([x[3] for x in leaves])
    # sum paths to the same (export line, part)
    key = ev * len(part_codes) + part
    uniq, inv = np.unique(key, return_inverse=True)
    g = np.bincount(inv, weights=gross, minlength=len(uniq))
    n = np.bincount(inv, weights=net, minlength=len(uniq))
    return uniq // len(part_codes), uniq % len(part_codes), _micro(g), _micro(n)


def _segment_starts(group: np.ndarray) -> np.ndarray:
    """For a sorted group array: index of each element's group start."""
    if len(group) == 0:
        return np.empty(0, dtype=np.int64)
    new = np.r_[True, group[1:] != group[:-1]]
    starts = np.flatnonzero(new)
    return starts[np.cumsum(new) - 1]


# --------------------------------------------------------------------------- engine


def discharge(
    imports: pd.DataFrame,
    exports: pd.DataFrame,
    bom: pd.DataFrame | None = None,
    as_of=None,
    *,
    deadline_rule: str = "clamp",
    oea: bool = False,
) -> DischargeResult:
    """FIFO/PEPS discharge of ``imports`` by ``exports`` (CONTRACT.md §2–§3).

    ``as_of`` (date or ISO text): exports dated after it are ignored; it is also
    the date against which ``expired`` and ``days_to_deadline`` are measured
    (default: the latest import or export date in the data).
    """
    if deadline_rule not in DEADLINE_RULES:
        raise ImmexError(f"deadline rule {deadline_rule!r} is not one of {list(DEADLINE_RULES)}")
    if bom is None:
        bom = pd.DataFrame(columns=BOM.names)
    as_of_ts = pd.Timestamp(as_of).normalize() if as_of is not None else None
    if as_of_ts is not None:
        exports = exports[pd.to_datetime(exports["date"]) <= as_of_ts]
    imports = imports.reset_index(drop=True)
    exports = exports.reset_index(drop=True)
    _check_cycles(bom)

    # ---- integer codes for parts, one order for lots
    part_codes = pd.Index(
        pd.unique(
            pd.concat(
                [
                    imports["part_number"].astype(str),
                    exports["part_number"].astype(str),
                    bom["parent"].astype(str),
                    bom["component"].astype(str),
                ],
                ignore_index=True,
            )
        )
    )
    lot_part = part_codes.get_indexer(imports["part_number"].astype(str)).astype(np.int64)
    lot_day = _days(imports["date"])
    lot_ped = _pedimento_int(imports["pedimento"])
    lot_line = imports["line"].to_numpy(dtype=np.int64)
    lot_order = np.lexsort((lot_line, lot_ped, lot_day, lot_part))
    lot_qty = _micro(imports["quantity"].to_numpy(dtype="float64"))[lot_order]
    lot_key = (lot_part[lot_order] << _DAY_BITS) | lot_day[lot_order]
    lot_cum = np.r_[0, np.cumsum(lot_qty)]  # lot i occupies [lot_cum[i], lot_cum[i+1])

    # ---- consumptions, per part in (export date, pedimento, line) order
    c_ev, c_part, c_gross, c_net = explode(exports, bom, part_codes)
    e_day = _days(exports["date"])
    e_ped = _pedimento_int(exports["pedimento"])
    e_line = exports["line"].to_numpy(dtype=np.int64)
    order = np.lexsort((e_line[c_ev], e_ped[c_ev], e_day[c_ev], c_part))
    c_ev, c_part, c_gross, c_net = c_ev[order], c_part[order], c_gross[order], c_net[order]
    c_day = e_day[c_ev]

    part_start = lot_cum[np.searchsorted(lot_key, c_part << _DAY_BITS, side="left")]
    reach = np.searchsorted(lot_key, (c_part << _DAY_BITS) | c_day, side="right")
    capacity = lot_cum[reach] - part_start  # lots of this part already in the country
    seg = _segment_starts(c_part)
    demand_cum = np.cumsum(c_gross)
    demand_cum = demand_cum - np.r_[0, demand_cum][seg]  # A_j within the part
    deficit = pd.Series(demand_cum - capacity).groupby(seg).cummax().to_numpy()
    short_cum = np.maximum(deficit, 0)
    taken_cum = demand_cum - short_cum  # S_j
    taken_prev = np.r_[0, taken_cum[:-1]]
    taken_prev[seg == np.arange(len(seg))] = 0
    taken = taken_cum - taken_prev
    short = c_gross - taken

    # ---- allocations: intersections of [S_{j-1}, S_j) with the lots' intervals
    has = taken > 0
    a_start = (taken_prev + part_start)[has]
    a_end = (taken_cum + part_start)[has]
    first = np.searchsorted(lot_cum, a_start, side="right") - 1
    last = np.searchsorted(lot_cum, a_end, side="left") - 1
    n_pieces = last - first + 1
    src = np.repeat(np.flatnonzero(has), n_pieces)
    lot_pos = np.arange(n_pieces.sum()) - np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
    lot_pos += np.repeat(first, n_pieces)
    lo = np.maximum(np.repeat(a_start, n_pieces), lot_cum[lot_pos])
    hi = np.minimum(np.repeat(a_end, n_pieces), lot_cum[lot_pos + 1])
    alloc_micro = hi - lo
    imp_row = lot_order[lot_pos]

    # ---- balances: the part's total take covers its lots from the front
    total_taken = np.zeros(len(part_codes), dtype=np.int64)
    np.maximum.at(total_taken, c_part, taken_cum)
    lot_part_sorted = lot_part[lot_order]
    lot_front = lot_cum[np.searchsorted(lot_key, lot_part_sorted << _DAY_BITS, side="left")]
    disc_sorted = np.clip(total_taken[lot_part_sorted] + lot_front - lot_cum[:-1], 0, lot_qty)
    discharged = np.empty(len(imports), dtype=np.int64)
    discharged[lot_order] = disc_sorted
    qty_micro = np.empty(len(imports), dtype=np.int64)
    qty_micro[lot_order] = lot_qty

    reference = as_of_ts if as_of_ts is not None else _latest_date(imports, exports)
    deadline = deadlines(imports["date"], imports["material_type"], rule=deadline_rule, oea=oea)
    balances = _balances_frame(imports, qty_micro, discharged, deadline, reference)
    allocations = _allocations_frame(
        imports, exports, deadline, c_ev[src], part_codes[c_part[src]], imp_row, alloc_micro,
        c_gross[src], c_net[src],
    )
    shortfalls = _shortfalls_frame(
        exports, c_ev, part_codes[c_part], short, capacity, lot_part, c_part
    )
    return DischargeResult(
        allocations=allocations,
        balances=balances,
        shortfalls=shortfalls,
        as_of=as_of_ts,
        reference_date=reference,
        deadline_rule=deadline_rule,
        parameters={"as_of": as_of_ts, "deadline_rule": deadline_rule, "oea": oea},
    )


def _latest_date(imports: pd.DataFrame, exports: pd.DataFrame) -> pd.Timestamp:
    dates = pd.concat([pd.to_datetime(imports["date"]), pd.to_datetime(exports["date"])])
    latest = dates.max()
    return pd.Timestamp("today").normalize() if pd.isna(latest) else pd.Timestamp(latest)


def _opt(frame: pd.DataFrame, column: str, default=np.nan) -> pd.Series:
    if column in frame.columns:
        return frame[column]
    return pd.Series(default, index=frame.index)


def _balances_frame(imports, qty_micro, discharged, deadline, reference) -> pd.DataFrame:
    open_micro = qty_micro - discharged
    share = np.divide(open_micro, qty_micro, out=np.zeros(len(qty_micro)), where=qty_micro > 0)
    value_mxn = imports["value_mxn"].to_numpy(dtype="float64")
    value_usd = imports["value_usd"].to_numpy(dtype="float64")
    deadline = pd.Series(deadline.to_numpy(), index=imports.index)
    days_left = (deadline - reference).dt.days
    is_open = open_micro > 0
    b = pd.DataFrame(
        {
            "import_pedimento": imports["pedimento"].astype(str),
            "import_line": imports["line"].astype(np.int64),
            "import_date": pd.to_datetime(imports["date"]),
            "part_number": imports["part_number"].astype(str),
            "clave": _opt(imports, "clave", ""),
            "material_type": imports["material_type"].astype(str),
            "quantity": qty_micro / MICRO,
            "discharged": discharged / MICRO,
            "open": open_micro / MICRO,
            "deadline": deadline,
            "status": np.where(is_open, "open", "closed"),
            "expired": is_open & (deadline < reference).to_numpy(),
            "days_to_deadline": days_left.astype("Int64"),
            "value_mxn": value_mxn,
            "value_usd": value_usd,
            "open_value_mxn": value_mxn * share,
            "open_value_usd": value_usd * share,
            "origin": _opt(imports, "origin", ""),
            "fraccion": _opt(imports, "fraccion", ""),
            "description": _opt(imports, "description", ""),
            "uom": _opt(imports, "uom", ""),
            "igi_rate": _opt(imports, "igi_rate", 0.0).astype("float64"),
            "prosec_rate": _opt(imports, "prosec_rate").astype("float64"),
            "usmca_originating": _opt(imports, "usmca_originating", pd.NA).astype("boolean"),
        }
    )
    order = np.lexsort(
        (b["import_line"].to_numpy(), _pedimento_int(b["import_pedimento"]), _days(b["import_date"]))
    )
    return b.iloc[order].reset_index(drop=True)


def _allocations_frame(
    imports, exports, deadline, ev, part, imp_row, alloc_micro, gross, net
) -> pd.DataFrame:
    imp = imports.iloc[imp_row]
    exp = exports.iloc[ev]
    qty_micro = _micro(imp["quantity"].to_numpy(dtype="float64"))
    share = alloc_micro / qty_micro
    net_share = np.divide(net, gross, out=np.ones(len(net)), where=gross > 0)
    net_micro = np.rint(alloc_micro * net_share).astype(np.int64)
    dl = deadline.to_numpy()[imp_row]
    export_date = pd.to_datetime(exp["date"]).to_numpy()
    a = pd.DataFrame(
        {
            "export_pedimento": exp["pedimento"].astype(str).to_numpy(),
            "export_line": exp["line"].to_numpy(dtype=np.int64),
            "export_date": export_date,
            "export_part": exp["part_number"].astype(str).to_numpy(),
            "part_number": np.asarray(part, dtype=object).astype(str),
            "import_pedimento": imp["pedimento"].astype(str).to_numpy(),
            "import_line": imp["line"].to_numpy(dtype=np.int64),
            "import_date": pd.to_datetime(imp["date"]).to_numpy(),
            "quantity": alloc_micro / MICRO,
            "net_quantity": net_micro / MICRO,
            "scrap_quantity": (alloc_micro - net_micro) / MICRO,
            "late": ~pd.isna(dl) & (export_date > dl),
            "deadline": dl,
            "value_mxn": imp["value_mxn"].to_numpy(dtype="float64") * share,
            "value_usd": imp["value_usd"].to_numpy(dtype="float64") * share,
            "material_type": imp["material_type"].astype(str).to_numpy(),
            "origin": _opt(imp, "origin", "").to_numpy(),
            "destination": _opt(exp, "destination", "").to_numpy(),
            "export_clave": _opt(exp, "clave", "").to_numpy(),
        }
    )
    order = np.lexsort(
        (
            a["import_line"].to_numpy(),
            _pedimento_int(a["import_pedimento"]),
            _days(a["import_date"]),
            a["part_number"].to_numpy(),
            a["export_line"].to_numpy(),
            _pedimento_int(a["export_pedimento"]),
            _days(a["export_date"]),
        )
    )
    return a.iloc[order].reset_index(drop=True)


def _shortfalls_frame(exports, c_ev, part, short, capacity, lot_part, c_part) -> pd.DataFrame:
    has = short > 0
    imported = np.zeros(int(max(c_part.max(initial=-1), lot_part.max(initial=-1))) + 1, bool)
    imported[lot_part] = True
    reason = np.where(
        ~imported[c_part[has]],
        SHORTFALL_NEVER_IMPORTED,
        np.where(capacity[has] == 0, SHORTFALL_NOT_YET, SHORTFALL_EXHAUSTED),
    )
    exp = exports.iloc[c_ev[has]]
    s = pd.DataFrame(
        {
            "export_pedimento": exp["pedimento"].astype(str).to_numpy(),
            "export_line": exp["line"].to_numpy(dtype=np.int64),
            "export_date": pd.to_datetime(exp["date"]).to_numpy(),
            "export_part": exp["part_number"].astype(str).to_numpy(),
            "part_number": np.asarray(part[has], dtype=object).astype(str),
            "quantity": short[has] / MICRO,
            "reason": reason,
        }
    )
    order = np.lexsort(
        (
            s["part_number"].to_numpy(),
            s["export_line"].to_numpy(),
            _pedimento_int(s["export_pedimento"]),
            _days(s["export_date"]),
        )
    )
    return s.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- command line


def cli_discharge(data_dir, out, *, as_of=None, deadline_rule=None) -> int:
    """``immex-nb discharge``: load, discharge, write the three tables + manifest."""
    from immex_nb.load import load
    from immex_nb.outputs import write_csv, write_manifest

    ledger = load(data_dir)
    rule = deadline_rule or ledger.settings.deadline_rule
    result = discharge(
        ledger.imports, ledger.exports, ledger.bom, as_of=as_of,
        deadline_rule=rule, oea=ledger.settings.oea,
    )
    out = Path(out)
    tables = {
        "allocations": result.allocations,
        "balances": result.balances,
        "shortfalls": result.shortfalls,
    }
    for name, frame in tables.items():
        write_csv(frame, out / f"{name}.csv")
    write_manifest(
        out,
        command="discharge",
        inputs=ledger.sources,
        parameters={"data_dir": Path(data_dir).resolve(), "as_of": as_of, "deadline_rule": rule,
                    "oea": ledger.settings.oea},
        row_counts={**{k: len(v) for k, v in tables.items()}, "rejects": len(ledger.rejects)},
    )
    s = result.summary()
    print(
        f"{ledger.settings.name}: {s['import_lines']} import lines, {s['open_lines']} open "
        f"({s['expired_open_lines']} expired), {s['allocations']} allocations "
        f"({s['late_allocations']} late), {s['shortfall_lines']} shortfalls; "
        f"open value MXN {s['open_value_mxn']:,.2f}"
    )
    if len(ledger.rejects):
        print(f"note: {len(ledger.rejects)} input problems were not loaded; run `immex-nb validate`")
    print(f"wrote {out}/allocations.csv, balances.csv, shortfalls.csv, manifest.json")
    return 0
