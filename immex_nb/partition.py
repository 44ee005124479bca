"""The discharge, partitioned: independent groups of parts run on a Dask cluster.

FIFO is independent per part once an export line is exploded through the BOM,
and an export line only ever consumes parts connected to its own part through
BOM rows.  So the parts fall into *connected components* (a part, everything
it is made of, everything made of it); each component can be discharged on
its own, and the results put back together are the single-process results,
row for row:

* allocations and shortfalls: the engine orders them by export line (date,
  pedimento, line), then part, then FIFO lot — every row of one export line
  comes from one component, so a stable sort on the export line restores the
  order;
* balances: one row per import line by (date, pedimento, line) — a sort on
  those three restores it (an import line is one pedimento and line).

Quantities are integers (micro-units) inside the engine and every value is
computed per row, so the CSV files written from a partitioned run are
byte-identical to a single-process run (a test holds them so).

Components are packed into ``n_groups`` groups of similar size (largest
first, to the lightest group) and each group is one Dask task.  The cluster
is whatever :mod:`immex_nb.cluster` connected to.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from immex_nb.dates import as_timestamp
from immex_nb.discharge import DischargeResult, discharge


def _cut(frame: pd.DataFrame, as_of) -> pd.DataFrame:
    if as_of is None:
        return frame
    return frame[pd.to_datetime(frame["date"]) <= as_of]


def part_order(imports: pd.DataFrame, exports: pd.DataFrame, bom: pd.DataFrame) -> pd.Index:
    """Parts in order of first appearance — the engine's own part order."""
    return pd.Index(
        pd.unique(
            pd.concat(
                [imports["part_number"], exports["part_number"], bom["parent"], bom["component"]],
                ignore_index=True,
            ).astype(str)
        )
    )


def components(parts: pd.Index, bom: pd.DataFrame) -> np.ndarray:
    """Connected component label of each part (BOM rows are the edges)."""
    label = np.arange(len(parts), dtype=np.int64)
    if len(bom) == 0:
        return label
    a = parts.get_indexer(bom["parent"].astype(str))
    b = parts.get_indexer(bom["component"].astype(str))
    while True:  # label propagation: a handful of passes for a BOM's depth
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]  # jump to the label's own label
        if np.array_equal(new, label):
            return label
        label = new


def part_groups(
    imports: pd.DataFrame, exports: pd.DataFrame, bom: pd.DataFrame, n_groups: int
) -> tuple[pd.Index, np.ndarray]:
    """``(parts, group of each part)``: components packed into ``n_groups``
    groups of similar row counts."""
    parts = part_order(imports, exports, bom)
    comp = components(parts, bom)
    weight = np.bincount(
        comp[parts.get_indexer(imports["part_number"].astype(str))], minlength=len(parts)
    ) + np.bincount(
        comp[parts.get_indexer(exports["part_number"].astype(str))], minlength=len(parts)
    )
    roots = np.unique(comp)
    order = roots[np.argsort(-weight[roots], kind="stable")]
    load = np.zeros(max(int(n_groups), 1), dtype=np.int64)
    group_of_root = np.empty(len(parts), dtype=np.int64)
    for root in order:  # largest component first, to the lightest group
        g = int(np.argmin(load))
        group_of_root[root] = g
        load[g] += weight[root]
    return parts, group_of_root[comp]


def discharge_partitioned(
    imports: pd.DataFrame,
    exports: pd.DataFrame,
    bom: pd.DataFrame | None,
    as_of=None,
    *,
    client,
    n_groups: int | None = None,
    **options,
) -> DischargeResult:
    """:func:`immex_nb.discharge` run as ``n_groups`` tasks on a Dask ``client``
    (default: two per worker); same frames, same order, same numbers."""
    if bom is None:
        bom = pd.DataFrame(columns=["parent", "component", "qty_per", "scrap_rate"])
    as_of_ts = as_timestamp(as_of) if as_of is not None else None
    imports, exports = _cut(imports, as_of_ts), _cut(exports, as_of_ts)
    if as_of_ts is None:  # the engine's default reference date, fixed for every group
        latest = pd.concat([pd.to_datetime(imports["date"]), pd.to_datetime(exports["date"])])
        reference = latest.max()
    else:
        reference = as_of_ts
    if n_groups is None:
        n_groups = 2 * max(len(client.scheduler_info().get("workers", {})), 1)
    parts, group = part_groups(imports, exports, bom, n_groups)
    g_imp = group[parts.get_indexer(imports["part_number"].astype(str))]
    g_exp = group[parts.get_indexer(exports["part_number"].astype(str))]
    g_bom = group[parts.get_indexer(bom["parent"].astype(str))] if len(bom) else np.empty(0, int)

    groups = np.unique(np.r_[g_imp, g_exp])
    if len(groups) < 2:  # nothing to split: one task would only add transport
        return discharge(imports, exports, bom, as_of=as_of_ts, **options)
    futures = []
    for g in groups:
        frames = (imports[g_imp == g], exports[g_exp == g], bom[g_bom == g])
        futures.append(client.submit(discharge, *frames, as_of=reference, pure=False, **options))
    results = client.gather(futures)
    return _combine(results, parts, as_of_ts, reference, options)


def _combine(results, parts: pd.Index, as_of, reference, options) -> DischargeResult:
    def cat(name):
        frames = [getattr(r, name) for r in results]
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        for col in out.columns:  # categories differ per group: back to plain text
            if isinstance(out[col].dtype, pd.CategoricalDtype):
                out[col] = out[col].astype(str)
        return out

    alloc, bal, short = cat("allocations"), cat("balances"), cat("shortfalls")
    export_key = ["export_date", "export_pedimento", "export_line"]
    alloc = alloc.sort_values(export_key, kind="stable").reset_index(drop=True)
    short = short.sort_values(export_key, kind="stable").reset_index(drop=True)
    bal = bal.sort_values(
        ["import_date", "import_pedimento", "import_line"], kind="stable"
    ).reset_index(drop=True)
    params = {**results[0].parameters, "as_of": as_of} if results else {"as_of": as_of}
    return DischargeResult(
        allocations=alloc,
        balances=bal,
        shortfalls=short,
        as_of=as_of,
        reference_date=reference,
        deadline_rule=options.get("deadline_rule", "clamp"),
        parameters=params,
    )
