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

Scale (docs/rules/discharge.md §how it is computed): the BOM is exploded once
per exported part and stretch of validity, not per export line; FIFO order is
one stable (radix) sort by part; the parts are worked a block at a time and
the allocations table is filled a block of rows at a time into columns
allocated once, so temporaries stay about a block in size whatever the
client's size.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from immex_nb.claves import Claves, default_claves
from immex_nb.dates import as_timestamp
from immex_nb.deadlines import DEADLINE_RULES, deadlines
from immex_nb.errors import ImmexError
from immex_nb.schema import BOM, normalize_pedimento

MICRO = 1_000_000  # quantity quantum: one micro-unit
_DAY_BITS = 20  # days since 1900, +1 (a missing date is day -1), fit in 20 bits up to year 4770
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


# quantities summed along one axis, plus where that axis starts, must stay inside int64
_MAX_TOTAL = 2.0**61 / MICRO


def _micro(x: np.ndarray, what: str = "quantity") -> np.ndarray:
    """Quantities as int64 micro-units; an ``ImmexError`` rather than a silent
    overflow when their total cannot be represented."""
    x = np.asarray(x, dtype="float64")
    _check_total(float(np.abs(x).sum()) if len(x) else 0.0, what)
    return np.rint(x * MICRO).astype(np.int64)


def _lookup(table: pd.Index, values: pd.Series) -> np.ndarray:
    """Position in ``table`` of each of ``values`` as text (-1 where absent):
    one Arrow hash lookup, without turning either side into Python objects."""
    as_text = pa.large_string()
    found = pc.index_in(
        pa.array(pd.Series(values).astype(str), type=as_text),
        value_set=pa.array(table.to_numpy(dtype=object), type=as_text),
    )
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _part_day(part: np.ndarray, day: np.ndarray) -> np.ndarray:
    """One sortable int64 key per (part, day): part, then day (a missing date first)."""
    return (part.astype(np.int64) << _DAY_BITS) | (day + 1)


def _index_dtype(n: int):
    """The integer type for row numbers up to ``n``."""
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def _check_total(total: float, what: str = "exploded consumption") -> None:
    if not np.isfinite(total) or total > _MAX_TOTAL:
        raise ImmexError(
            f"{what} total {total:,.0f} is beyond what immex-nb can add up exactly "
            f"({_MAX_TOTAL:,.0f}); check for a number in the wrong column"
        )


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


def _bom_arrays(bom: pd.DataFrame | None, part_codes: pd.Index):
    """BOM rows as arrays sorted by parent code: (parent, component, qty_per,
    scrap, valid_from day, valid_to day); open validity ends are ±infinity."""
    if bom is None or not len(bom):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0), np.empty(0), empty, empty
    parent = _lookup(part_codes, bom["parent"])
    order = np.argsort(parent, kind="stable")
    valid_from = _days(bom["valid_from"])[order]
    valid_from[valid_from < 0] = np.iinfo(np.int64).min
    valid_to = _days(bom["valid_to"])[order]
    valid_to[valid_to < 0] = np.iinfo(np.int64).max
    return (
        parent[order].astype(np.int64),
        _lookup(part_codes, bom["component"])[order],
        bom["qty_per"].to_numpy(dtype="float64")[order],
        bom["scrap_rate"].fillna(0.0).to_numpy(dtype="float64")[order],
        valid_from,
        valid_to,
    )


def _unit_leaves(part, day, tables, n_parts, rank):
    """What one unit of ``part[i]`` consumes on ``day[i]``, for each i: arrays
    ``(i, leaf part, gross per unit, net per unit)`` by i then ``rank`` of the
    leaf, paths to the same leaf summed.  One pass per BOM level."""
    b_parent, b_comp, qty_per, scrap, b_from, b_to = tables
    first = np.searchsorted(
        b_parent, np.arange(n_parts + 1)
    )  # rows of parent p: [first[p], first[p+1])
    item = np.arange(len(part), dtype=np.int64)
    gross = np.ones(len(part))
    net = np.ones(len(part))
    leaves = [(item[:0], part[:0], gross[:0], net[:0])]
    for _depth in range(n_parts + 2):
        if not len(item):
            break
        k, row = _expand(first[part], first[part + 1])
        valid = (b_from[row] <= day[k]) & (day[k] <= b_to[row])
        leaf = np.bincount(k[valid], minlength=len(item)) == 0  # no valid BOM row: consumed as is
        leaves.append((item[leaf], part[leaf], gross[leaf], net[leaf]))
        k, row = k[valid], row[valid]
        item, day, part = item[k], day[k], b_comp[row]
        gross = gross[k] * qty_per[row] * (1.0 + scrap[row])
        net = net[k] * qty_per[row]
    else:  # pragma: no cover - _check_cycles makes this unreachable
        raise ImmexError("BOM explosion did not end: the BOM has a cycle")
    item, part, gross, net = (np.concatenate(x) for x in zip(*leaves, strict=True))
    key, inverse = np.unique(item * n_parts + rank[part], return_inverse=True)
    by_rank = np.argsort(rank)
    return (
        key // n_parts,
        by_rank[key % n_parts],
        np.bincount(inverse, weights=gross, minlength=len(key)),
        np.bincount(inverse, weights=net, minlength=len(key)),
    )


def explode(
    exports: pd.DataFrame,
    bom: pd.DataFrame | None,
    part_codes: pd.Index,
    *,
    rows: np.ndarray | None = None,
    part_rank: np.ndarray | None = None,
):
    """Consumptions of each export line, through the BOM valid on its date.

    Returns arrays ``(export_row, part_code, gross_micro, net_micro)``, one entry
    per (export line, consumed part), paths to the same part summed, in the
    order of ``rows`` (default: the exports' own order) and, within an export
    line, of ``part_rank`` (default: the part codes).

    The BOM is exploded once per exported part and stretch of time in which the
    set of valid BOM rows does not change — not once per export line: each
    line then takes its part's leaves times its quantity.
    """
    n_parts = len(part_codes)
    rows = np.arange(len(exports), dtype=np.int64) if rows is None else np.asarray(rows)
    rank = np.arange(n_parts, dtype=np.int64) if part_rank is None else np.asarray(part_rank)
    part = _lookup(part_codes, exports["part_number"])[rows]
    day = _days(exports["date"])[rows]
    quantity = exports["quantity"].to_numpy(dtype="float64")[rows]
    tables = _bom_arrays(bom, part_codes)
    b_from, b_to = tables[4], tables[5]
    lowest, highest = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    edges = np.unique(np.r_[b_from[b_from > lowest], b_to[b_to < highest] + 1])
    stretch = np.searchsorted(edges, day, side="right")
    kind, distinct = pd.factorize(part * (len(edges) + 1) + stretch)
    # factorize numbers in order of appearance: the first line of each (part, stretch)
    first = np.flatnonzero(np.diff(np.maximum.accumulate(kind), prepend=-1) > 0)
    owner, leaf, unit_gross, unit_net = _unit_leaves(part[first], day[first], tables, n_parts, rank)
    count = np.bincount(owner, minlength=len(distinct))
    start = np.cumsum(count) - count
    per_row = count[kind]
    # one guard for the whole run: the total must stay exact in micro-units
    _check_total(np.abs(quantity) @ np.bincount(owner, np.abs(unit_gross), len(distinct))[kind])
    total = int(per_row.sum())
    out = [  # row and part numbers in 32 bits while they fit: half the memory
        np.empty(total, dtype=_index_dtype(len(exports))),
        np.empty(total, dtype=_index_dtype(n_parts)),
        np.empty(total, dtype=np.int64),
        np.empty(total, dtype=np.int64),
    ]
    at = 0
    for a, b in _blocks(per_row):
        k, pos = _expand(start[kind[a:b]], start[kind[a:b]] + per_row[a:b])
        end = at + len(k)
        out[0][at:end] = rows[a:b][k]
        out[1][at:end] = leaf[pos]
        q = quantity[a:b][k]
        for o, unit in ((out[2], unit_gross), (out[3], unit_net)):
            x = q * unit[pos]
            x *= MICRO
            o[at:end] = np.rint(x, out=x)
        at = end
    return tuple(out)


def _segment_starts(group: np.ndarray) -> np.ndarray:
    """For a sorted group array: index of each element's group start."""
    if len(group) == 0:
        return np.empty(0, dtype=np.int64)
    new = np.r_[True, group[1:] != group[:-1]]
    starts = np.flatnonzero(new)
    return starts[np.cumsum(new) - 1]


def _runs(values: np.ndarray) -> np.ndarray:
    """Start of each run of equal values (of a grouped array)."""
    return np.flatnonzero(np.r_[True, values[1:] != values[:-1]]) if len(values) else values[:0]


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ranges ``[lo_k, hi_k)`` laid end to end: (range number, position)."""
    n = hi - lo
    k = np.repeat(np.arange(len(n)), n)
    return k, np.arange(len(k)) + np.repeat(lo - (np.cumsum(n) - n), n)


def _stable_order(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Stable sort order of integer codes in ``[0, n_codes)``: a radix sort when
    they fit in 16 bits (few thousand parts), else numpy's stable sort."""
    if n_codes <= 1 << 16:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    return np.argsort(codes, kind="stable")


def _rounds(part: np.ndarray, directed: np.ndarray):
    """The rounds of docs/rules/discharge.md §directed over consumptions in FIFO
    order (``part`` grouped): ``(sel, first)`` per round — its consumptions in
    order, and (rounds after the first) the positions in ``sel`` of the
    directed consumption that opens each part's round."""
    is_dir = np.zeros(len(part), dtype=bool)
    is_dir[directed] = True
    if not is_dir.any():
        if len(part):
            yield np.arange(len(part)), None
        return
    rnd = np.cumsum(is_dir)
    rnd -= np.r_[0, rnd][_segment_starts(part)]  # directed consumptions so far within the part
    n_rounds = int(rnd.max()) + 1
    by_round = _stable_order(rnd, n_rounds)  # round, then part, then export order
    bounds = np.searchsorted(rnd[by_round], np.arange(n_rounds + 1))
    for r in range(n_rounds):
        sel = by_round[bounds[r] : bounds[r + 1]]
        if len(sel):
            yield sel, (np.flatnonzero(is_dir[sel]) if r else None)


# consumptions per block: temporaries of ~1 MB per column, which the C allocator
# keeps and reuses from block to block (docs/rules/discharge.md, memory)
_BLOCK = 1 << 17


def _blocks(counts: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive item ranges ``[a, b)`` of about :data:`_BLOCK` rows each, for
    items of ``counts`` rows (an item with more rows is a block of its own)."""
    size = _BLOCK
    ends = np.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    cuts = np.searchsorted(ends, np.arange(size, total, size), side="left") + 1
    edges = np.unique(np.r_[0, cuts, len(counts)])
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


class _Pieces:
    """The allocations found so far, block by block: each piece a lot (FIFO
    position), micro-units and whether the exit named the lot, written into
    arrays allocated once for the most pieces there can be (untouched
    capacity costs no memory); plus, per
    consumption (allocation order), where its contiguous pieces start and how
    many there are."""

    def __init__(self, n_consumptions: int, most: int):
        self.first = np.zeros(n_consumptions, dtype=_index_dtype(most))
        self.count = np.zeros(n_consumptions, dtype=_index_dtype(most))
        self.lot = np.empty(most, dtype=_index_dtype(most))
        self.micro = np.empty(most, dtype=np.int64)
        self.directed = np.empty(most, dtype=bool)
        self.size = 0

    def add(self, cons, lot, micro, directed) -> None:
        run = _runs(cons)
        self.first[cons[run]] = self.size + run
        self.count[cons[run]] = np.diff(np.r_[run, len(cons)])
        end = self.size + len(cons)
        self.lot[self.size : end] = lot
        self.micro[self.size : end] = micro
        self.directed[self.size : end] = directed
        self.size = end

    def done(self):
        """``(first, count, lot, micro, directed)`` over all blocks."""
        n = self.size
        return self.first, self.count, self.lot[:n], self.micro[:n], self.directed[:n]


def _discharge_block(
    idx, c_ev, c_part, c_gross, e_day, lot_key, lot_cum, lot_lo, lot_hi, lot_day_sorted,
    named, rem, short, not_yet, pieces,
) -> None:  # fmt: skip
    """FIFO for the consumptions ``idx`` (allocation order numbers, listed part
    after part in FIFO order — whole parts): one round per directed consumption
    of a part (docs/rules/discharge.md §directed).  Updates ``rem`` and
    ``pieces``; writes ``short`` and ``not_yet`` (the block's, in FIFO order)."""
    f_ev, f_part = c_ev[idx], c_part[idx]
    f_day = e_day[f_ev]
    reach = np.searchsorted(lot_key, _part_day(f_part, f_day), side="right")
    np.equal(lot_cum[reach], lot_cum[lot_lo[f_part]], out=not_yet)
    cand_cons, cand_lot = _directed_candidates(named, lot_day_sorted, f_ev, f_part, f_day)
    del f_ev, f_day
    f_gross = c_gross[idx]
    taken = np.zeros(len(idx), dtype=np.int64)
    for sel, first in _rounds(f_part, cand_cons):
        demand = f_gross[sel]
        directed = None
        if first is not None:  # each part's first consumption of the round is directed
            directed = _directed_take(sel[first], demand[first], cand_cons, cand_lot, rem)
            taken[sel[first]] += directed[3]
            demand[first] -= directed[3]
        fifo_pieces = _fifo(sel, demand, f_part, reach, rem, lot_lo, lot_hi)
        taken[sel] += fifo_pieces[3]
        src, lot, micro, is_dir = _merge_directed(directed, fifo_pieces[:3])
        pieces.add(idx[src], lot, micro, is_dir)
    np.subtract(f_gross, taken, out=short)


def _named_index(imports, exports, i_ped, lot_order, lot_lo, lot_hi):
    """What directed exits name, for :func:`_directed_candidates`: per export
    row the named pedimento's code (-1: none or not imported) and line (0: any),
    and the lots sorted by (part, pedimento, line).  ``None`` when no export
    row names an imported pedimento."""
    if "import_pedimento" not in exports.columns or not len(exports) or not len(lot_order):
        return None
    named = exports["import_pedimento"].astype("str").fillna("").str.strip()
    codes, distinct = pd.factorize(named)
    text = pd.Index(
        [(normalize_pedimento(t) or t) if t not in ("", "nan", "None") else "" for t in distinct]
    )
    e_ped = i_ped[1].get_indexer(text)[codes] if len(distinct) else np.full(len(named), -1)
    e_ped = np.where(codes < 0, -1, e_ped)
    if not (e_ped >= 0).any():
        return None
    line = _opt(exports, "import_line", 0)
    e_line = pd.to_numeric(line, errors="coerce").fillna(0).to_numpy(dtype="float64")
    e_line = np.where(np.isfinite(e_line), e_line, 0).astype(np.int64)
    # lots of a part sorted by (pedimento, line): search the named pedimento in them
    lot_ped = i_ped[0][lot_order].astype(np.int64)
    lot_line = imports["line"].to_numpy(dtype=np.int64)[lot_order]
    lot_part = np.repeat(np.arange(len(lot_lo)), lot_hi - lot_lo)
    n_ped = max(len(i_ped[1]), 1)
    by_ped = np.lexsort((lot_line, lot_ped, lot_part))
    key = lot_part[by_ped] * n_ped + lot_ped[by_ped]
    return e_ped, e_line, by_ped, key, n_ped, lot_line


def _directed_candidates(named, lot_day_sorted, c_ev, c_part, c_day):
    """For each directed consumption, the lots it takes from first (docs/rules/discharge.md):
    the named pedimento's lines of the consumed part (only the named line when
    ``import_line`` is given), dated on or before the exit, in line order.

    Returns ``(consumption, sorted lot position)`` pairs, by consumption then line;
    a consumption whose named pedimento holds no such line is not directed.
    """
    none = np.zeros(0, dtype=np.int64)
    if named is None:
        return none, none
    e_ped, e_line, by_ped, key, n_ped, lot_line = named
    cons = np.flatnonzero(e_ped[c_ev] >= 0)
    if not len(cons):
        return none, none
    want = c_part[cons].astype(np.int64) * n_ped + e_ped[c_ev[cons]]
    k, pos = _expand(np.searchsorted(key, want, "left"), np.searchsorted(key, want, "right"))
    lots = by_ped[pos]
    j = cons[k]
    keep = lot_day_sorted[lots] <= c_day[j]
    wanted_line = e_line[c_ev[j]]
    keep &= (wanted_line <= 0) | (lot_line[lots] == wanted_line)
    return j[keep], lots[keep]


def _directed_take(cons, need, cand_cons, cand_lot, rem):
    """Each directed consumption in ``cons`` (one per part) takes, greedily in
    line order, what its named lots still hold; ``rem`` is updated.  Returns its
    pieces ``(consumption, lot, micro)`` by consumption then FIFO order of lots,
    and what each consumption took."""
    k, pos = _expand(
        np.searchsorted(cand_cons, cons, side="left"),
        np.searchsorted(cand_cons, cons, side="right"),
    )
    lots = cand_lot[pos]
    held = rem[lots]
    before = np.cumsum(held) - held  # held by the earlier named lots of the same consumption
    run = _runs(k)  # every directed consumption has a named lot
    before -= np.repeat(before[run], np.diff(np.r_[run, len(k)]))
    take = np.clip(need[k] - before, 0, held)
    rem[lots] -= take
    got = np.flatnonzero(take > 0)
    got = got[np.lexsort((lots[got], k[got]))]
    total = np.zeros(len(cons), dtype=np.int64)
    np.add.at(total, k, take)
    return cons[k[got]], lots[got], take[got], total


def _fifo(sel, demand, part, reach, rem, lot_lo, lot_hi):
    """FIFO without back-fill for the consumptions ``sel`` (by part, then export
    order) with ``demand`` micro-units each, on the lots' current balances ``rem``
    (updated).

    The round's parts lie one after another on one axis, each part's lots end
    to end in FIFO order.  Consumption *j* of a part reaches its lots in the
    country, capacity ``C_j``, and ``S_j = min(S_{j-1} + a_j, C_j)`` has the
    closed form ``S_j = A_j − max(0, max_{k≤j}(A_k − C_k))``: a running maximum
    within the part, done for all parts at once by lifting each part's values
    above the previous parts'.  Returns the pieces ``(consumption, lot, micro)``
    in consumption then lot order, and what each consumption took."""
    p_sel = part[sel]
    first = _runs(p_sel)
    parts = p_sel[first]
    del p_sel
    count = np.diff(np.r_[first, len(sel)])
    lots = _expand(lot_lo[parts], lot_hi[parts])[1]
    n_lots = lot_hi[parts] - lot_lo[parts]
    base = np.cumsum(n_lots) - n_lots  # where each part's lots start on the axis
    cum = np.r_[0, np.cumsum(rem[lots])]  # lot i of the round holds [cum[i], cum[i+1])
    part_start = cum[base]
    in_country = cum[reach[sel] + np.repeat(base - lot_lo[parts], count)]  # C_j on the axis

    demand_cum = np.cumsum(demand)
    end = demand_cum + np.repeat(part_start - np.r_[0, demand_cum][first], count)  # A_j on the axis
    del demand_cum
    short = end - in_country  # A_j − C_j
    del in_country
    np.maximum(short, 0, out=short)
    lift = np.cumsum(np.maximum.reduceat(short, first) + 1) if len(first) else first
    lift = np.repeat(np.r_[0, lift[:-1]], count)
    short += lift
    np.maximum.accumulate(short, out=short)
    short -= lift
    del lift
    end -= short  # S_j on the axis: where consumption j's take ends
    del short
    begin = np.empty_like(end)
    begin[1:] = end[:-1]
    begin[first] = part_start
    taken = end - begin
    part_end = end[np.r_[first[1:], len(sel)] - 1]  # where each part's takes end

    has = np.flatnonzero(taken > 0)
    begin, end = begin[has], end[has]
    lo = np.searchsorted(cum, begin, side="right") - 1
    hi = np.searchsorted(cum, end, side="left")
    if len(hi) and int((hi - lo).max()) == 1:  # each consumption within one lot
        k, pos = np.arange(len(lo)), lo
    else:
        k, pos = _expand(lo, hi)
    del lo, hi
    micro = np.minimum(end[k], cum[pos + 1]) - np.maximum(begin[k], cum[pos])
    got = micro > 0  # a lot emptied by a directed exit is an empty interval: skipped
    pieces = (sel[has[k[got]]], lots[pos[got]], micro[got])

    # each part's total take covers its lots' balances from the front
    held = rem[lots]
    rem[lots] = held - np.clip(np.repeat(part_end, n_lots) - cum[:-1], 0, held)
    return (*pieces, taken)


def _merge_directed(directed, fifo):
    """One round's pieces: each consumption's directed pieces just before its
    FIFO pieces (both lists are by consumption); plus the ``directed`` flags."""
    f_src, f_lot, f_qty = fifo
    if directed is None or not len(directed[0]):
        return f_src, f_lot, f_qty, np.zeros(len(f_src), dtype=bool)
    at = np.searchsorted(f_src, directed[0], side="left") + np.arange(len(directed[0]))
    is_dir = np.zeros(len(f_src) + len(at), dtype=bool)
    is_dir[at] = True
    merged = []
    for d, f in zip(directed[:3], fifo, strict=True):
        m = np.empty(len(is_dir), dtype=f.dtype)
        m[at] = d
        m[~is_dir] = f
        merged.append(m)
    return (*merged, is_dir)


# --------------------------------------------------------------------------- memory

try:  # numpy's switch for advising the kernel to back big arrays with huge pages
    from numpy._core.multiarray import _set_madvise_hugepage  # numpy 2
except ImportError:  # pragma: no cover - numpy 1.26 keeps it in numpy.core
    try:
        from numpy.core.multiarray import _set_madvise_hugepage
    except ImportError:  # a numpy without it: nothing to switch
        _set_madvise_hugepage = None

_PAGES = {"lock": threading.Lock(), "depth": 0, "before": None}


@contextmanager
def _small_pages():
    """Ordinary pages for the arrays allocated inside (docs/rules/discharge.md, memory).

    The engine writes each result column once, front to back, into memory the
    process has never touched.  Huge pages (numpy asks for them on big arrays)
    buy nothing for such a write, and where the kernel compacts memory to find
    them — common on virtual machines — they made the first run in a process
    1.3–1.8× slower.  The switch is numpy's and process-wide, so it is turned
    off for the outermost call only and restored after it."""
    if _set_madvise_hugepage is None:
        yield
        return
    with _PAGES["lock"]:
        if _PAGES["depth"] == 0:
            _PAGES["before"] = _set_madvise_hugepage(False)
        _PAGES["depth"] += 1
    try:
        yield
    finally:
        with _PAGES["lock"]:
            _PAGES["depth"] -= 1
            if _PAGES["depth"] == 0:
                _set_madvise_hugepage(_PAGES["before"])


# --------------------------------------------------------------------------- engine


@_small_pages()
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
    lot_part = _lookup(part_codes, imports["part_number"])
    lot_day = _days(imports["date"])
    i_ped, i_ped_text = pd.factorize(imports["pedimento"].astype(str), sort=True)
    lot_key = _part_day(lot_part, lot_day)
    lot_order = np.lexsort((imports["line"].to_numpy(dtype=np.int64), i_ped, lot_key))
    lot_key = lot_key[lot_order]
    lot_qty = _micro(imports["quantity"].to_numpy(dtype="float64"), "import quantity")[lot_order]
    lot_cum = np.r_[0, np.cumsum(lot_qty)]  # lot i occupies [lot_cum[i], lot_cum[i+1])

    # ---- consumptions in allocation order: exports by (date, pedimento, line), then part name
    n_parts = len(part_codes)
    part_rank = np.empty(n_parts, dtype=np.int64)
    part_rank[np.argsort(part_codes.to_numpy(dtype=str), kind="stable")] = np.arange(n_parts)
    e_day = _days(exports["date"])
    e_ped, e_ped_text = pd.factorize(exports["pedimento"].astype(str), sort=True)
    e_order = np.lexsort((exports["line"].to_numpy(dtype=np.int64), e_ped, e_day))
    cons = explode(exports, bom, part_codes, rows=e_order, part_rank=part_rank)
    c_ev, c_part, c_gross = cons[0], cons[1], cons[2]
    # FIFO order: part after part, each in that same order (a stable sort by part)
    fifo = _stable_order(c_part, n_parts)

    # ---- lots of each part: sorted positions [lot_lo[p], lot_hi[p])
    bounds = np.searchsorted(lot_key, np.arange(n_parts + 1, dtype=np.int64) << _DAY_BITS)
    lot_lo, lot_hi = bounds[:-1], bounds[1:]
    named = _named_index(imports, exports, (i_ped, i_ped_text), lot_order, lot_lo, lot_hi)

    # ---- FIFO, a block of parts at a time (docs/rules/discharge.md §how)
    rem = lot_qty.copy()  # what each lot still holds
    short = np.empty(len(fifo), dtype=np.int64)  # FIFO order
    not_yet = np.empty(len(fifo), dtype=bool)  # FIFO order: no lot of the part in the country yet
    # each piece is the last of its consumption or empties its lot (at most once)
    pieces = _Pieces(len(fifo), len(fifo) + len(lot_qty))
    per_part = np.bincount(c_part, minlength=n_parts)
    part_end = np.cumsum(per_part)
    for first_part, end_part in _blocks(per_part):
        at = slice(part_end[first_part] - per_part[first_part], part_end[end_part - 1])
        if at.start < at.stop:
            _discharge_block(
                fifo[at], c_ev, c_part, c_gross, e_day, lot_key, lot_cum, lot_lo, lot_hi,
                lot_day[lot_order], named, rem, short[at], not_yet[at], pieces,
            )  # fmt: skip
    disc_sorted = lot_qty - rem

    reference = as_of_ts if as_of_ts is not None else latest
    deadline = deadlines(imports["date"], imports["material_type"], rule=deadline_rule, oea=oea)
    deadline = deadline.to_numpy(dtype="datetime64[ns]")
    balances = _balances_frame(
        imports, (i_ped, lot_day), lot_order, lot_qty, disc_sorted, deadline, reference
    )
    allocations = _allocations_frame(
        imports,
        exports,
        (i_ped, i_ped_text),
        (e_ped, e_ped_text),
        part_codes,
        deadline,
        cons,
        pieces.done(),
        lot_order,
        lot_qty,
    )
    imported = np.zeros(n_parts, dtype=bool)
    imported[lot_part] = True
    s_fifo = np.flatnonzero(short > 0)
    s_fifo = s_fifo[np.argsort(fifo[s_fifo])]  # export order, then part name
    s_idx, short = fifo[s_fifo], short[s_fifo]
    reason = pd.Categorical.from_codes(
        np.where(~imported[c_part[s_idx]], 0, np.where(not_yet[s_fifo], 1, 2)),
        categories=[SHORTFALL_NEVER_IMPORTED, SHORTFALL_NOT_YET, SHORTFALL_EXHAUSTED],
    )
    shortfalls = _shortfalls_frame(
        exports, (e_ped, e_ped_text), part_codes, c_ev[s_idx], c_part[s_idx], short, reason
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
    return pd.Categorical.from_codes(
        codes[0][rows], categories=pd.Index(codes[1], dtype=object), validate=False
    )


def _frame(columns: dict) -> pd.DataFrame:
    """A frame over the given arrays, without copying them into blocks."""
    return pd.DataFrame(columns, copy=False)


_BALANCE_INPUTS = [
    "pedimento", "line", "date", "part_number", "clave", "material_type", "value_mxn",
    "value_usd", "origin", "fraccion", "description", "uom", "igi_rate", "prosec_rate",
    "usmca_originating",
]  # fmt: skip


def _balances_frame(
    imports, keys, lot_order, lot_qty, disc_sorted, deadline, reference
) -> pd.DataFrame:
    """One row per import line, by (date, pedimento, line): an import file in
    that order — the usual one — is used as it is, its texts not copied."""
    i_ped, day = keys
    order = np.lexsort((imports["line"].to_numpy(dtype=np.int64), i_ped, day))
    fifo_position = np.empty(len(lot_order), dtype=np.int64)
    fifo_position[lot_order] = np.arange(len(lot_order))
    lot_qty, disc_sorted = lot_qty[fifo_position[order]], disc_sorted[fifo_position[order]]
    imp = imports[[c for c in _BALANCE_INPUTS if c in imports.columns]]
    if (order != np.arange(len(order))).any():
        imp = imp.take(order)
    imp = imp.reset_index(drop=True)
    open_micro = lot_qty - disc_sorted
    share = open_micro / lot_qty
    value_mxn = imp["value_mxn"].to_numpy(dtype="float64")
    value_usd = imp["value_usd"].to_numpy(dtype="float64")
    dl = pd.Series(deadline[order])
    is_open = open_micro > 0
    return _frame(
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


def _codes_dtype(n_categories: int):
    """The integer type pandas keeps a categorical's codes in."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_categories < np.iinfo(dtype).max:
            return dtype
    return np.int64


def _allocations_frame(
    imports, exports, i_ped, e_ped, part_codes, deadline, cons, pieces, lot_order, lot_qty
) -> pd.DataFrame:
    """One row per piece, consumption after consumption (allocation order),
    each consumption's pieces as the engine left them (named lots first, then
    FIFO order).  The columns are allocated once at their final size and
    filled a block at a time, so the temporaries stay small."""
    c_ev, c_part, c_gross, c_net = cons
    first, count, p_lot, p_micro, p_directed = pieces
    n = len(p_lot)
    parts = (np.arange(len(part_codes)), part_codes.to_numpy(dtype=object))
    e_part = _lookup(part_codes, exports["part_number"])
    by_export = {  # codes per export row → categorical columns
        "export_pedimento": (e_ped[0], e_ped[1]),
        "export_part": (e_part, parts[1]),
        "destination": pd.factorize(_opt(exports, "destination", "").astype(str), sort=True),
        "export_clave": pd.factorize(_opt(exports, "clave", "").astype(str), sort=True),
    }
    by_lot = {  # codes per import row
        "import_pedimento": (i_ped[0], i_ped[1]),
        "material_type": pd.factorize(imports["material_type"].astype(str), sort=True),
        "origin": pd.factorize(_opt(imports, "origin", "").astype(str), sort=True),
    }
    codes = {
        name: np.empty(n, dtype=_codes_dtype(len(cats)))
        for name, (_, cats) in (*by_export.items(), *by_lot.items(), ("part_number", parts))
    }
    for table in (by_export, by_lot):
        for name, (per_row, cats) in table.items():
            table[name] = (np.asarray(per_row).astype(codes[name].dtype), cats)
    col = {
        name: np.empty(n, dtype=dtype)
        for name, dtype in (
            ("export_line", np.int64), ("export_date", "datetime64[ns]"),
            ("import_line", np.int64), ("import_date", "datetime64[ns]"),
            ("quantity", np.float64), ("net_quantity", np.float64),
            ("scrap_quantity", np.float64), ("late", bool), ("deadline", "datetime64[ns]"),
            ("directed", bool),
            ("value_mxn", np.float64), ("value_usd", np.float64),
        )
    }  # fmt: skip
    e_line = exports["line"].to_numpy(dtype=np.int64)
    e_date = exports["date"].to_numpy(dtype="datetime64[ns]")
    i_line = imports["line"].to_numpy(dtype=np.int64)
    i_date = imports["date"].to_numpy(dtype="datetime64[ns]")
    i_value = {
        "value_mxn": imports["value_mxn"].to_numpy(dtype="float64"),
        "value_usd": imports["value_usd"].to_numpy(dtype="float64"),
    }
    at = 0
    for a, b in _blocks(count):  # fill each column in place: no temporary of full size
        k, piece = _expand(first[a:b], first[a:b] + count[a:b])
        o = slice(at, at + len(k))
        at += len(k)
        k += a  # consumption numbers
        ev, lot = c_ev[k], p_lot[piece]
        imp_row = lot_order[lot]
        for name, (per_row, _) in by_export.items():
            np.take(per_row, ev, out=codes[name][o], mode="clip")
        for name, (per_row, _) in by_lot.items():
            np.take(per_row, imp_row, out=codes[name][o], mode="clip")
        codes["part_number"][o] = c_part[k]
        np.take(p_directed, piece, out=col["directed"][o], mode="clip")
        np.take(e_line, ev, out=col["export_line"][o], mode="clip")
        np.take(e_date, ev, out=col["export_date"][o], mode="clip")
        np.take(i_line, imp_row, out=col["import_line"][o], mode="clip")
        np.take(i_date, imp_row, out=col["import_date"][o], mode="clip")
        dl = np.take(deadline, imp_row, out=col["deadline"][o], mode="clip")
        np.greater(col["export_date"][o], dl, out=col["late"][o])
        col["late"][o] &= ~np.isnat(dl)
        micro = p_micro[piece]
        np.divide(micro, MICRO, out=col["quantity"][o])
        gross = c_gross[k]
        net = np.divide(c_net[k], gross, out=np.ones(len(k)), where=gross > 0)
        net *= micro
        np.rint(net, out=net)  # the net part of the piece, whole micro-units
        np.divide(net, MICRO, out=col["net_quantity"][o])
        np.subtract(micro, net, out=col["scrap_quantity"][o])
        col["scrap_quantity"][o] /= MICRO
        share = micro / lot_qty[lot]
        for name, value in i_value.items():
            np.take(value, imp_row, out=col[name][o], mode="clip")
            col[name][o] *= share
    cats = {name: cats for name, (_, cats) in (*by_export.items(), *by_lot.items())}
    cats["part_number"] = parts[1]

    def categorical(name):
        categories = pd.Index(cats[name], dtype=object)
        return pd.Categorical.from_codes(codes.pop(name), categories=categories, validate=False)

    return _frame(
        {
            "export_pedimento": categorical("export_pedimento"),
            "export_line": col["export_line"],
            "export_date": col["export_date"],
            "export_part": categorical("export_part"),
            "part_number": categorical("part_number"),
            "import_pedimento": categorical("import_pedimento"),
            "import_line": col["import_line"],
            "import_date": col["import_date"],
            "quantity": col["quantity"],
            "directed": col["directed"],
            "net_quantity": col["net_quantity"],
            "scrap_quantity": col["scrap_quantity"],
            "late": col["late"],
            "deadline": col["deadline"],
            "value_mxn": col["value_mxn"],
            "value_usd": col["value_usd"],
            "material_type": categorical("material_type"),
            "origin": categorical("origin"),
            "destination": categorical("destination"),
            "export_clave": categorical("export_clave"),
        }
    )


def _shortfalls_frame(exports, e_ped, part_codes, ev, part, short, reason) -> pd.DataFrame:
    parts = (np.arange(len(part_codes)), part_codes.to_numpy(dtype=object))
    return _frame(
        {
            "export_pedimento": _coded(None, ev, e_ped),
            "export_line": exports["line"].to_numpy(dtype=np.int64)[ev],
            "export_date": exports["date"].to_numpy(dtype="datetime64[ns]")[ev],
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
