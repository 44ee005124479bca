"""Discharge (descargo) of temporary imports by FIFO / PEPS — docs/rules/discharge.md.

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

Directed discharge (an exit naming ``import_pedimento`` [+ ``import_line``]):
a directed consumption first takes, at its own place in the order, what the
named lines of its part still hold (line order, lines dated on or before the
exit), then follows FIFO.  It punches a hole in the axis, so a part's
consumptions are processed in *rounds*: round 0 is everything before the
part's first directed consumption, round *r* starts with its *r*-th directed
consumption.  Each round is the closed form above on the lots' current
balances (an emptied lot is an empty interval), vectorised across all the
parts that have that round — parts without directed exits have one round, the
plain closed form.  Still int64 micro-units throughout: exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from immex_nb.claves import Claves, default_claves
from immex_nb.dates import as_timestamp
from immex_nb.deadlines import DEADLINE_RULES, deadlines
from immex_nb.errors import ImmexError
from immex_nb.schema import BOM, normalize_pedimento

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
    "directed",
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
    """What a discharge run produced; the frames follow docs/rules/discharge.md."""

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


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ranges ``[lo_k, hi_k)`` laid end to end: (range number, position)."""
    n = hi - lo
    k = np.repeat(np.arange(len(n)), n)
    pos = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + lo[k]
    return k, pos


def _directed_candidates(
    imports, exports, i_ped, lot_order, lot_day_sorted, lot_lo, lot_hi, c_ev, c_part, c_day
):
    """For each directed consumption, the lots it takes from first (docs/rules/discharge.md):
    the named pedimento's lines of the consumed part (only the named line when
    ``import_line`` is given), dated on or before the exit, in line order.

    Returns ``(consumption, sorted lot position)`` pairs, by consumption then line;
    a consumption whose named pedimento holds no such line is not directed.
    """
    none = np.zeros(0, dtype=np.int64)
    if "import_pedimento" not in exports.columns or not len(c_ev) or not len(lot_order):
        return none, none
    named = exports["import_pedimento"].astype("str").fillna("").str.strip()
    codes, distinct = pd.factorize(named)
    text = pd.Index(
        [(normalize_pedimento(t) or t) if t not in ("", "nan", "None") else "" for t in distinct]
    )
    e_ped = i_ped[1].get_indexer(text)[codes] if len(distinct) else np.full(len(named), -1)
    e_ped = np.where(codes < 0, -1, e_ped)
    line = _opt(exports, "import_line", 0)
    e_line = pd.to_numeric(line, errors="coerce").fillna(0).to_numpy(dtype="float64")
    e_line = np.where(np.isfinite(e_line), e_line, 0).astype(np.int64)
    cons = np.flatnonzero(e_ped[c_ev] >= 0)
    if not len(cons):
        return none, none
    # lots of a part sorted by (pedimento, line): search the named pedimento in them
    lot_ped = i_ped[0][lot_order].astype(np.int64)
    lot_line = imports["line"].to_numpy(dtype=np.int64)[lot_order]
    lot_part = np.repeat(np.arange(len(lot_lo)), lot_hi - lot_lo)
    n_ped = max(len(i_ped[1]), 1)
    by_ped = np.lexsort((lot_line, lot_ped, lot_part))
    key = lot_part[by_ped] * n_ped + lot_ped[by_ped]
    want = c_part[cons].astype(np.int64) * n_ped + e_ped[c_ev[cons]]
    lo = np.searchsorted(key, want, side="left")
    hi = np.searchsorted(key, want, side="right")
    k, pos = _expand(lo, hi)
    lots = by_ped[pos]
    j = cons[k]
    keep = lot_day_sorted[lots] <= c_day[j]
    wanted_line = e_line[c_ev[j]]
    keep &= (wanted_line <= 0) | (lot_line[lots] == wanted_line)
    return j[keep], lots[keep]


def _directed_take(cons, need, cand_first, cand_lot, rem, pieces) -> np.ndarray:
    """Each directed consumption in ``cons`` (one per part) takes, greedily in
    line order, what its named lots still hold; ``rem`` is updated."""
    k, pos = _expand(cand_first[cons], cand_first[cons + 1])
    lots = cand_lot[pos]
    held = rem[lots]
    before = np.cumsum(held) - held  # held by the earlier named lots of the same consumption
    before -= np.repeat(
        before[np.searchsorted(k, np.arange(len(cons)))], np.bincount(k, minlength=len(cons))
    )
    take = np.clip(need[k] - before, 0, held)
    rem[lots] -= take
    got = take > 0
    pieces.append((cons[k[got]], lots[got], take[got], np.ones(int(got.sum()), dtype=bool)))
    return np.bincount(k, weights=take, minlength=len(cons)).astype(np.int64)


def _fifo(sel, demand, c_part, reach, rem, lot_lo, lot_hi, pieces) -> np.ndarray:
    """FIFO without back-fill for the consumptions ``sel`` (by part, then export
    order) with ``demand`` micro-units each, on the lots' current balances ``rem``
    (updated).  Per part the lots' balances lie end to end on one axis in FIFO
    order; consumption *j* reaches the lots in the country, capacity ``C_j``,
    and ``S_j = min(S_{j-1} + a_j, C_j)`` has the closed form
    ``S_j = A_j − max(0, max_{k≤j}(A_k − C_k))`` (a running maximum)."""
    parts, first, count = np.unique(c_part[sel], return_index=True, return_counts=True)
    k_of = np.repeat(np.arange(len(parts)), count)
    n_lots = lot_hi[parts] - lot_lo[parts]
    base = np.cumsum(n_lots) - n_lots  # first local position of each part's lots
    lk, lots = _expand(lot_lo[parts], lot_hi[parts])
    cum = np.r_[0, np.cumsum(rem[lots])]
    part_start = cum[base]
    start = part_start[k_of]
    capacity = cum[base[k_of] + reach[sel] - lot_lo[parts][k_of]] - start
    demand_cum = np.cumsum(demand)
    demand_cum -= np.r_[0, demand_cum][first][k_of]  # A_j within the part
    deficit = pd.Series(demand_cum - capacity).groupby(k_of).cummax().to_numpy()
    taken_cum = demand_cum - np.maximum(deficit, 0)  # S_j
    taken_prev = np.r_[0, taken_cum[:-1]]
    taken_prev[first] = 0
    taken = taken_cum - taken_prev

    has = taken > 0
    a_start = (taken_prev + start)[has]
    a_end = (taken_cum + start)[has]
    lo = np.searchsorted(cum, a_start, side="right") - 1
    hi = np.searchsorted(cum, a_end, side="left")
    k, pos = _expand(lo, hi)
    micro = np.minimum(a_end[k], cum[pos + 1]) - np.maximum(a_start[k], cum[pos])
    got = micro > 0  # a lot emptied by a directed exit is an empty interval: skipped
    src = sel[np.flatnonzero(has)[k[got]]]
    pieces.append((src, lots[pos[got]], micro[got], np.zeros(int(got.sum()), dtype=bool)))

    # the part's total take covers its lots' balances from the front
    total = np.zeros(len(parts), dtype=np.int64)
    total[k_of[np.r_[first[1:] - 1, len(sel) - 1]]] = taken_cum[np.r_[first[1:] - 1, len(sel) - 1]]
    held = rem[lots]
    rem[lots] = held - np.clip(total[lk] + part_start[lk] - cum[:-1], 0, held)
    return taken


# --------------------------------------------------------------------------- engine


def discharge(
    imports: pd.DataFrame,
    exports: pd.DataFrame,
    bom: pd.DataFrame | None = None,
    as_of=None,
    *,
    deadline_rule: str = "clamp",
    oea: bool = False,
    claves: Claves | None = None,
) -> DischargeResult:
    """FIFO/PEPS discharge of ``imports`` by ``exports`` (docs/rules/discharge.md).

    ``as_of`` (date or ISO text): imports and exports dated after it are
    ignored — the ledger as it stood that day; it is also
    the date against which ``expired`` and ``days_to_deadline`` are measured
    (default: the latest import or export date in the data).  The inputs are
    not modified.

    Imports rows whose ``clave`` is not a temporary IMMEX entry in ``claves``
    (default: the built-in table, docs/rules/claves.md) are not part of the
    ledger and are ignored (the loader rejects them).  Exports naming
    ``import_pedimento`` (and ``import_line``) are directed discharges;
    allocations say ``directed`` for what came from the named lines.
    """
    if deadline_rule not in DEADLINE_RULES:
        raise ImmexError(f"deadline rule {deadline_rule!r} is not one of {list(DEADLINE_RULES)}")
    if bom is None:
        bom = pd.DataFrame(columns=BOM.names)
    as_of_ts = as_timestamp(as_of) if as_of is not None else None
    if as_of_ts is not None:  # the ledger as it stood on as_of (docs/rules/discharge.md §cut-off)
        imports = imports[pd.to_datetime(imports["date"]) <= as_of_ts]
        exports = exports[pd.to_datetime(exports["date"]) <= as_of_ts]
    # part codes and the default reference date come from every row given, as
    # before the claves filter, so a run split by parts (immex_nb.partition) agrees
    given_parts, latest = imports["part_number"], _latest_date(imports, exports)
    if "clave" in imports.columns and len(imports):  # only temporary entries are the ledger
        imports = imports[
            (claves or default_claves()).in_ledger(imports["clave"], "imports").to_numpy()
        ]
    imports = imports.reset_index(drop=True)
    exports = exports.reset_index(drop=True)
    _check_cycles(bom)

    # ---- integer codes: parts, pedimentos (codes in text order), lots in FIFO order
    part_codes = pd.Index(
        pd.unique(
            pd.concat(
                [given_parts, exports["part_number"], bom["parent"], bom["component"]],
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

    # ---- lots of each part: sorted positions [lot_lo[p], lot_hi[p])
    n_parts = len(part_codes)
    bounds = np.searchsorted(lot_key, np.arange(n_parts + 1, dtype=np.int64) << _DAY_BITS)
    lot_lo, lot_hi = bounds[:-1], bounds[1:]
    reach = np.searchsorted(lot_key, (c_part << _DAY_BITS) | c_day, side="right")
    capacity = lot_cum[reach] - lot_cum[lot_lo[c_part]]  # lots of this part already in the country

    # ---- directed consumptions (docs/rules/discharge.md §directed): their named lots
    cand_cons, cand_lot = _directed_candidates(
        imports, exports, (i_ped, i_ped_text), lot_order, lot_day[lot_order], lot_lo, lot_hi,
        c_ev, c_part, c_day,
    )  # fmt: skip
    is_dir = np.zeros(len(c_ev), dtype=bool)
    is_dir[cand_cons] = True

    # ---- FIFO without back-fill, one round per directed consumption of a part
    rem = lot_qty.copy()  # what each lot still holds
    taken = np.zeros(len(c_ev), dtype=np.int64)
    pieces = []
    seg = _segment_starts(c_part)
    rnd = np.cumsum(is_dir)
    rnd = rnd - np.r_[0, rnd][seg]  # directed consumptions so far within the part (inclusive)
    by_round = np.argsort(rnd, kind="stable")  # round, then part, then export order
    round_bounds = np.searchsorted(rnd[by_round], np.arange(int(rnd.max(initial=0)) + 2))
    cand_first = np.searchsorted(cand_cons, np.arange(len(c_ev) + 1))
    for r in range(len(round_bounds) - 1):
        sel = by_round[round_bounds[r] : round_bounds[r + 1]]
        if not len(sel):
            continue
        demand = c_gross[sel].copy()
        if r:  # the first consumption of each part's segment is directed: named lots first
            first = np.flatnonzero(is_dir[sel])
            d_take = _directed_take(sel[first], demand[first], cand_first, cand_lot, rem, pieces)
            taken[sel[first]] += d_take
            demand[first] -= d_take
        taken[sel] += _fifo(sel, demand, c_part, reach, rem, lot_lo, lot_hi, pieces)
    short = c_gross - taken
    disc_sorted = lot_qty - rem

    if pieces:
        src, lot_pos, alloc_micro, directed = (np.concatenate(x) for x in zip(*pieces, strict=True))
    else:
        src = lot_pos = alloc_micro = np.zeros(0, dtype=np.int64)
        directed = np.zeros(0, dtype=bool)
    reference = as_of_ts if as_of_ts is not None else latest
    deadline = deadlines(imports["date"], imports["material_type"], rule=deadline_rule, oea=oea)
    deadline = deadline.to_numpy(dtype="datetime64[ns]")
    balances = _balances_frame(imports, lot_order, lot_qty, disc_sorted, deadline, reference)

    # allocations in export order, then component name, then FIFO order of lots
    part_rank = np.argsort(np.argsort(part_codes.to_numpy(dtype=str), kind="stable"))
    a_part = c_part[src]
    a_order = np.lexsort((lot_pos, ~directed, part_rank[a_part], e_rank[c_ev[src]]))
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
        directed=directed[a_order],
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
    directed,
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
            "directed": directed,
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


# --------------------------------------------------------------------------- findings

FINDING_COLUMNS = [
    "export_pedimento",
    "export_line",
    "export_date",
    "export_clave",
    "part_number",
    "import_pedimento",
    "import_line",
    "issue",
    "detail",
]
FINDING_NOT_IMPORTED = "named_pedimento_not_imported"
FINDING_OTHER_PARTS = "named_pedimento_other_parts"
FINDING_NO_LINE = "named_line_not_imported"


def directed_findings(ledger) -> pd.DataFrame:
    """Directed exits that cannot take from what they name (findings, not rejects):
    the named pedimento is not in imports, holds no line of the exported part nor
    of any part it explodes into, or the named line is not one of its lines.  Such
    an exit is discharged by FIFO (docs/rules/discharge.md §directed).

    ``ledger``: anything with ``imports``, ``exports`` and ``bom`` frames (what
    :func:`immex_nb.load` returns).  One row per finding, :data:`FINDING_COLUMNS`.
    """
    imports, exports = ledger.imports, ledger.exports
    bom = getattr(ledger, "bom", None)
    if bom is None:
        bom = pd.DataFrame(columns=BOM.names)
    if "import_pedimento" not in exports.columns or exports.empty:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    named = exports["import_pedimento"].astype("str").fillna("").str.strip()
    directed = exports[(named != "") & (named != "nan")].reset_index(drop=True)
    if directed.empty:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    directed["import_pedimento"] = [
        normalize_pedimento(t) or t for t in directed["import_pedimento"].astype(str)
    ]
    line = pd.to_numeric(_opt(directed, "import_line", 0), errors="coerce").fillna(0)
    directed["import_line"] = line.astype(np.int64)
    part_codes = pd.Index(
        pd.unique(
            pd.concat(
                [imports["part_number"], directed["part_number"], bom["parent"], bom["component"]],
                ignore_index=True,
            ).astype(str)
        )
    )
    _check_cycles(bom)
    ev, part, _g, _n = explode(directed, bom, part_codes)
    held = imports[["pedimento", "line", "part_number"]].astype({"part_number": str})
    ped_known = directed["import_pedimento"].isin(held["pedimento"]).to_numpy()
    line_given = (directed["import_line"] > 0).to_numpy()
    pairs = pd.MultiIndex.from_arrays([held["pedimento"], held["line"].astype(np.int64)])
    line_known = pairs.isin(
        list(zip(directed["import_pedimento"], directed["import_line"], strict=True))
    )
    known_lines = set(pairs[line_known])
    line_ok = np.array(
        [
            (p, ln) in known_lines
            for p, ln in zip(directed["import_pedimento"], directed["import_line"], strict=True)
        ],
        dtype=bool,
    )
    consumed = pd.DataFrame(
        {
            "ev": ev,
            "import_pedimento": directed["import_pedimento"].to_numpy(dtype=object)[ev],
            "import_line": directed["import_line"].to_numpy()[ev],
            "part_number": part_codes.to_numpy(dtype=object)[part],
        }
    )
    hit = consumed.merge(
        held.rename(columns={"pedimento": "import_pedimento", "line": "held_line"}),
        on=["import_pedimento", "part_number"],
    )
    hit = hit[(hit["import_line"] <= 0) | (hit["import_line"] == hit["held_line"])]
    matched = np.zeros(len(directed), dtype=bool)
    matched[hit["ev"].to_numpy(dtype=np.int64)] = True
    issue = np.where(
        ~ped_known,
        FINDING_NOT_IMPORTED,
        np.where(line_given & ~line_ok, FINDING_NO_LINE, FINDING_OTHER_PARTS),
    )
    detail = {
        FINDING_NOT_IMPORTED: "the named pedimento is not among the imports",
        FINDING_NO_LINE: "the named pedimento has no such line",
        FINDING_OTHER_PARTS: (
            "the named pedimento (line) holds no line of the exported part or of its components"
        ),
    }
    bad = np.flatnonzero(~matched)
    rows = [
        [
            directed.at[i, "pedimento"],
            int(directed.at[i, "line"]),
            directed.at[i, "date"],
            str(_opt(directed, "clave", "").iat[i]),
            str(directed.at[i, "part_number"]),
            directed.at[i, "import_pedimento"],
            int(directed.at[i, "import_line"]),
            issue[i],
            detail[issue[i]] + ": discharged by FIFO",
        ]
        for i in bad
    ]
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)
