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

import numpy as np
import pandas as pd

from immex_nb.dates import as_timestamp
from immex_nb.deadlines import DEADLINE_RULES, deadlines
from immex_nb.errors import ImmexError
from immex_nb.schema import BOM

MICRO = 1_000_000  # quantity quantum: one micro-unit
_DAY_BITS = (
    20  # key = part_code << 20 | day offset (days since 1900 fit in 20 bits up to year 4770)
)
_EPOCH = np.datetime64("1900-01-01", "D")

ALLOCATION_COLUMNS = [
    "export_pedimento",
    "export_line",
    "export_date",
    "export_part",
    "part_number",
    "import_pedimento",
    "import_line",
    "import_date",
    "quantity",
    "net_quantity",
    "scrap_quantity",
    "late",
    "deadline",
    "value_mxn",
    "value_usd",
    "material_type",
    "origin",
    "destination",
    "export_clave",
]
BALANCE_COLUMNS = [
    "import_pedimento",
    "import_line",
    "import_date",
    "part_number",
    "clave",
    "material_type",
    "quantity",
    "discharged",
    "open",
    "deadline",
    "status",
    "expired",
    "days_to_deadline",
    "value_mxn",
    "value_usd",
    "open_value_mxn",
    "open_value_usd",
    "origin",
    "fraccion",
    "description",
    "uom",
    "igi_rate",
    "prosec_rate",
    "usmca_originating",
]
SHORTFALL_COLUMNS = [
    "export_pedimento",
    "export_line",
    "export_date",
    "export_part",
    "part_number",
    "quantity",
    "reason",
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


_MAX_TOTAL = 2.0**62 / MICRO  # quantities summed along one axis must stay inside int64


def _micro(x: np.ndarray, what: str = "quantity") -> np.ndarray:
    """Quantities as int64 micro-units; an ``ImmexError`` rather than a silent
    overflow when their total cannot be represented."""
    x = np.asarray(x, dtype="float64")
    total = float(np.abs(x).sum()) if len(x) else 0.0
    if not np.isfinite(total) or total > _MAX_TOTAL:
        raise ImmexError(
            f"{what} total {total:,.0f} is beyond what immex-nb can add up exactly "
            f"({_MAX_TOTAL:,.0f}); check for a number in the wrong column"
        )
    return np.rint(x * MICRO).astype(np.int64)


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
                return path[path.index(nxt) :] + [nxt]
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
        valid = (
            (b_from[brow] <= day[rep]) & (day[rep] <= b_to[brow])
            if len(brow)
            else np.zeros(0, bool)
        )
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
    return (
        uniq // len(part_codes),
        uniq % len(part_codes),
        _micro(g, "exploded consumption"),
        _micro(n, "exploded consumption"),
    )


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

    ``as_of`` (date or ISO text): imports and exports dated after it are
    ignored — the ledger as it stood that day; it is also
    the date against which ``expired`` and ``days_to_deadline`` are measured
    (default: the latest import or export date in the data).  The inputs are
    not modified.
    """
    if deadline_rule not in DEADLINE_RULES:
        raise ImmexError(f"deadline rule {deadline_rule!r} is not one of {list(DEADLINE_RULES)}")
    if bom is None:
        bom = pd.DataFrame(columns=BOM.names)
    as_of_ts = as_timestamp(as_of) if as_of is not None else None
    if as_of_ts is not None:  # the ledger as it stood on as_of (docs/rules/discharge.md §cut-off)
        imports = imports[pd.to_datetime(imports["date"]) <= as_of_ts]
        exports = exports[pd.to_datetime(exports["date"]) <= as_of_ts]
    imports = imports.reset_index(drop=True)
    exports = exports.reset_index(drop=True)
    _check_cycles(bom)

    # ---- integer codes: parts, pedimentos (codes in text order), lots in FIFO order
    part_codes = pd.Index(
        pd.unique(
            pd.concat(
                [imports["part_number"], exports["part_number"], bom["parent"], bom["component"]],
                ignore_index=True,
            ).astype(str)
        )
    )
    lot_part = part_codes.get_indexer(imports["part_number"].astype(str)).astype(np.int64)
    lot_day = _days(imports["date"])
    i_ped, i_ped_text = pd.factorize(imports["pedimento"].astype(str), sort=True)
    lot_order = np.lexsort((imports["line"].to_numpy(dtype=np.int64), i_ped, lot_day, lot_part))
    lot_qty = _micro(imports["quantity"].to_numpy(dtype="float64"), "import quantity")[lot_order]
    lot_key = (lot_part[lot_order] << _DAY_BITS) | lot_day[lot_order]
    lot_cum = np.r_[0, np.cumsum(lot_qty)]  # lot i occupies [lot_cum[i], lot_cum[i+1])

    # ---- consumptions, per part in (export date, pedimento, line) order
    e_day = _days(exports["date"])
    e_ped, e_ped_text = pd.factorize(exports["pedimento"].astype(str), sort=True)
    e_rank = np.empty(len(exports), dtype=np.int64)
    e_rank[np.lexsort((exports["line"].to_numpy(dtype=np.int64), e_ped, e_day))] = np.arange(
        len(exports)
    )
    c_ev, c_part, c_gross, c_net = explode(exports, bom, part_codes)
    order = np.argsort(c_part * max(len(exports), 1) + e_rank[c_ev], kind="stable")
    c_ev, c_part, c_gross, c_net = c_ev[order], c_part[order], c_gross[order], c_net[order]
    c_day = e_day[c_ev]

    # ---- FIFO without back-fill: S_j = A_j - max(0, running max of A_k - C_k)
    part_start = lot_cum[np.searchsorted(lot_key, c_part << _DAY_BITS, side="left")]
    reach = np.searchsorted(lot_key, (c_part << _DAY_BITS) | c_day, side="right")
    capacity = lot_cum[reach] - part_start  # lots of this part already in the country
    seg = _segment_starts(c_part)
    demand_cum = np.cumsum(c_gross)
    demand_cum = demand_cum - np.r_[0, demand_cum][seg]  # A_j within the part
    deficit = pd.Series(demand_cum - capacity).groupby(seg).cummax().to_numpy()
    taken_cum = demand_cum - np.maximum(deficit, 0)  # S_j
    first_of_part = seg == np.arange(len(seg))
    taken_prev = np.r_[0, taken_cum[:-1]]
    taken_prev[first_of_part] = 0
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
    alloc_micro = np.minimum(np.repeat(a_end, n_pieces), lot_cum[lot_pos + 1]) - np.maximum(
        np.repeat(a_start, n_pieces), lot_cum[lot_pos]
    )

    # ---- balances: the part's total take covers its lots from the front
    last_of_part = np.r_[first_of_part[1:], True] if len(seg) else first_of_part
    total_taken = np.zeros(len(part_codes), dtype=np.int64)
    total_taken[c_part[last_of_part]] = taken_cum[last_of_part]
    lot_part_sorted = lot_part[lot_order]
    lot_front = lot_cum[np.searchsorted(lot_key, lot_part_sorted << _DAY_BITS, side="left")]
    disc_sorted = np.clip(total_taken[lot_part_sorted] + lot_front - lot_cum[:-1], 0, lot_qty)

    reference = as_of_ts if as_of_ts is not None else _latest_date(imports, exports)
    deadline = deadlines(imports["date"], imports["material_type"], rule=deadline_rule, oea=oea)
    deadline = deadline.to_numpy(dtype="datetime64[ns]")
    balances = _balances_frame(imports, lot_order, lot_qty, disc_sorted, deadline, reference)

    # allocations in export order, then component name, then FIFO order of lots
    part_rank = np.argsort(np.argsort(part_codes.to_numpy(dtype=str), kind="stable"))
    a_part = c_part[src]
    a_order = np.lexsort((lot_pos, part_rank[a_part], e_rank[c_ev[src]]))
    allocations = _allocations_frame(
        imports,
        exports,
        (i_ped, i_ped_text),
        (e_ped, e_ped_text),
        part_codes,
        deadline,
        ev=c_ev[src][a_order],
        part=a_part[a_order],
        imp_row=lot_order[lot_pos[a_order]],
        alloc_micro=alloc_micro[a_order],
        gross=c_gross[src][a_order],
        net=c_net[src][a_order],
    )
    imported = np.zeros(len(part_codes), dtype=bool)
    imported[lot_part] = True
    s_idx = np.flatnonzero(short > 0)
    s_idx = s_idx[np.lexsort((part_rank[c_part[s_idx]], e_rank[c_ev[s_idx]]))]
    reason = pd.Categorical.from_codes(
        np.where(~imported[c_part[s_idx]], 0, np.where(capacity[s_idx] == 0, 1, 2)),
        categories=[SHORTFALL_NEVER_IMPORTED, SHORTFALL_NOT_YET, SHORTFALL_EXHAUSTED],
    )
    shortfalls = _shortfalls_frame(
        exports, (e_ped, e_ped_text), part_codes, c_ev[s_idx], c_part[s_idx], short[s_idx], reason
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


def _coded(values: pd.Series, rows: np.ndarray, codes=None) -> pd.Categorical:
    """``values[rows]`` as a categorical: many rows, few distinct texts, cheap to build."""
    if codes is None:
        codes = pd.factorize(values.astype(str), sort=True)
    return pd.Categorical.from_codes(codes[0][rows], categories=pd.Index(codes[1], dtype=object))


def _balances_frame(imports, lot_order, lot_qty, disc_sorted, deadline, reference) -> pd.DataFrame:
    """One row per import line, in FIFO order (date, pedimento, line)."""
    imp = imports.iloc[lot_order].reset_index(drop=True)
    open_micro = lot_qty - disc_sorted
    share = open_micro / lot_qty
    value_mxn = imp["value_mxn"].to_numpy(dtype="float64")
    value_usd = imp["value_usd"].to_numpy(dtype="float64")
    dl = pd.Series(deadline[lot_order])
    is_open = open_micro > 0
    return pd.DataFrame(
        {
            "import_pedimento": imp["pedimento"].astype(str),
            "import_line": imp["line"].astype(np.int64),
            "import_date": pd.to_datetime(imp["date"]),
            "part_number": imp["part_number"].astype(str),
            "clave": _opt(imp, "clave", "").astype(str),
            "material_type": imp["material_type"].astype(str),
            "quantity": lot_qty / MICRO,
            "discharged": disc_sorted / MICRO,
            "open": open_micro / MICRO,
            "deadline": dl,
            "status": np.where(is_open, "open", "closed"),
            "expired": is_open & (dl < reference).to_numpy(),
            "days_to_deadline": (dl - reference).dt.days.astype("Int64"),
            "value_mxn": value_mxn,
            "value_usd": value_usd,
            "open_value_mxn": value_mxn * share,
            "open_value_usd": value_usd * share,
            "origin": _opt(imp, "origin", "").astype(str),
            "fraccion": _opt(imp, "fraccion", "").astype(str),
            "description": _opt(imp, "description", "").astype(str),
            "uom": _opt(imp, "uom", "").astype(str),
            "igi_rate": _opt(imp, "igi_rate", 0.0).astype("float64"),
            "prosec_rate": _opt(imp, "prosec_rate").astype("float64"),
            "usmca_originating": _opt(imp, "usmca_originating", pd.NA).astype("boolean"),
        }
    )


def _allocations_frame(
    imports,
    exports,
    i_ped,
    e_ped,
    part_codes,
    deadline,
    *,
    ev,
    part,
    imp_row,
    alloc_micro,
    gross,
    net,
) -> pd.DataFrame:
    qty_micro = _micro(imports["quantity"].to_numpy(dtype="float64"))[imp_row]
    share = alloc_micro / qty_micro
    net_micro = np.rint(alloc_micro * np.divide(net, gross, out=np.ones(len(net)), where=gross > 0))
    net_micro = net_micro.astype(np.int64)
    dl = deadline[imp_row]
    export_date = pd.to_datetime(exports["date"]).to_numpy(dtype="datetime64[ns]")[ev]
    parts = (np.arange(len(part_codes)), part_codes.to_numpy(dtype=object))
    return pd.DataFrame(
        {
            "export_pedimento": _coded(None, ev, e_ped),
            "export_line": exports["line"].to_numpy(dtype=np.int64)[ev],
            "export_date": export_date,
            "export_part": _coded(
                None, part_codes.get_indexer(exports["part_number"].astype(str))[ev], parts
            ),
            "part_number": _coded(None, part, parts),
            "import_pedimento": _coded(None, imp_row, i_ped),
            "import_line": imports["line"].to_numpy(dtype=np.int64)[imp_row],
            "import_date": pd.to_datetime(imports["date"]).to_numpy(dtype="datetime64[ns]")[
                imp_row
            ],
            "quantity": alloc_micro / MICRO,
            "net_quantity": net_micro / MICRO,
            "scrap_quantity": (alloc_micro - net_micro) / MICRO,
            "late": ~np.isnat(dl) & (export_date > dl),
            "deadline": dl,
            "value_mxn": imports["value_mxn"].to_numpy(dtype="float64")[imp_row] * share,
            "value_usd": imports["value_usd"].to_numpy(dtype="float64")[imp_row] * share,
            "material_type": _coded(imports["material_type"], imp_row),
            "origin": _coded(_opt(imports, "origin", ""), imp_row),
            "destination": _coded(_opt(exports, "destination", ""), ev),
            "export_clave": _coded(_opt(exports, "clave", ""), ev),
        }
    )


def _shortfalls_frame(exports, e_ped, part_codes, ev, part, short, reason) -> pd.DataFrame:
    parts = (np.arange(len(part_codes)), part_codes.to_numpy(dtype=object))
    return pd.DataFrame(
        {
            "export_pedimento": _coded(None, ev, e_ped),
            "export_line": exports["line"].to_numpy(dtype=np.int64)[ev],
            "export_date": pd.to_datetime(exports["date"]).to_numpy(dtype="datetime64[ns]")[ev],
            "export_part": _coded(exports["part_number"], ev),
            "part_number": _coded(None, part, parts),
            "quantity": short / MICRO,
            "reason": reason,
        }
    )
