"""Kinds of movement in the value layer (docs/rules/claves.md).

Every exit discharges temporary imports (docs/rules/discharge.md): a balance
regularised with A3 or changed to definitive with F4/F5 is *discharged*, so it
is no longer exposure.  What a consultant still wants to see is how much was
regularised or changed regime in a period, and what was paid with it.

:func:`regularised_in` gives, per kind and clave of exit, the customs value of
the import lines those exits discharged (the allocations' ``value_mxn`` =
``value_mxn × allocated / quantity``) and the taxes paid with it on that value:

* ``igi`` at the line's **general** ``igi_rate`` (regularisation of expired
  goods pays the general rate even for originating goods, RGCE 2.5.1; for a
  change of regime a PROSEC / FTA rate may have been used — the figure is then
  an upper bound);
* ``dta`` at the ad-valorem rate (8 per thousand, LFD art. 49 fr. I) and
  ``iva`` = 16 % × (value + IGI + DTA) (LIVA art. 27), from the rate tables
  (:mod:`immex_nb.rates`) in force on the period's last day.

Not included: the inflation update and surcharges an A3 carries from the
original entry (RGCE 2.5.1) — :func:`immex_nb.exposure.exposure` computes those
for lines still open.

Worked: an A3 in March 2026 discharges 10 units of a line of 100 units worth
MXN 50,000 at 10 % → value 5,000; IGI 500; DTA 40; IVA 0.16 × 5,540 = 886.40;
taxes 1,426.40.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from immex_nb.claves import Claves, default_claves
from immex_nb.dates import Period
from immex_nb.rates import Rates, resolve

#: kinds of exit that pay the import taxes on the discharged value
PAID_KINDS = ("regularisation", "regime_change")
KEYS = ["import_pedimento", "import_line"]
REGULARISED_COLUMNS = [
    "kind",
    "export_clave",
    "exits",
    "quantity",
    "value_mxn",
    "igi",
    "dta",
    "iva",
    "taxes",
]


def with_kinds(allocations: pd.DataFrame, claves: Claves | None = None) -> pd.DataFrame:
    """``allocations`` with ``export_kind`` (from ``export_clave``; blank = RT)."""
    return allocations.assign(export_kind=_kinds(allocations, claves))


def _kinds(allocations: pd.DataFrame, claves: Claves | None):
    """The ``export_kind`` of each allocation, worked out on the few distinct
    claves (allocations have millions of rows) and taken by code."""
    if "export_clave" in allocations.columns:
        codes, distinct = pd.factorize(allocations["export_clave"], use_na_sentinel=False)
        distinct = pd.Series(distinct)
    else:
        codes, distinct = np.zeros(len(allocations), dtype=np.intp), pd.Series([""])
    kind = (claves or default_claves()).kinds(distinct.astype(str), "exports")
    return kind.array.take(codes)


def regularised_in(
    allocations: pd.DataFrame,
    period,
    balances: pd.DataFrame | None = None,
    *,
    kinds: tuple[str, ...] = PAID_KINDS,
    rates: Rates | str | None = None,
    claves: Claves | None = None,
) -> pd.DataFrame:
    """How much was regularised / changed regime in ``period`` (``"2026-03"`` or a
    :class:`~immex_nb.dates.Period`) and the taxes paid with it (module docstring).

    ``allocations`` and ``balances`` are the discharge frames (``balances``
    supplies ``igi_rate`` by ``import_pedimento, import_line`` when the
    allocations lack it).  One row per ``(kind, export_clave)`` among ``kinds``
    with exits in the period: :data:`REGULARISED_COLUMNS` (``exits`` = export
    lines).  Empty when there were none.
    """
    p = period if isinstance(period, Period) else Period.parse(str(period))
    start, end = pd.Timestamp(p.start), pd.Timestamp(p.end)
    # the exits of the period and kinds first, then only the columns read here
    kind = pd.Series(_kinds(allocations, claves), index=allocations.index)
    d = pd.to_datetime(allocations["export_date"])
    keep = ((d >= start) & (d <= end) & kind.isin(kinds)).to_numpy(dtype=bool)
    read = [*KEYS, "export_pedimento", "export_line", "export_clave", "quantity", "value_mxn"]
    a = allocations.loc[keep, [c for c in allocations.columns if c in {*read, "igi_rate"}]]
    a = a.assign(export_kind=kind.array[keep])
    if a.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in REGULARISED_COLUMNS}).astype(
            {"kind": str, "export_clave": str, "exits": "int64"}
        )
    if "igi_rate" not in a.columns and balances is not None and "igi_rate" in balances.columns:
        rate = balances[[*KEYS, "igi_rate"]].drop_duplicates(KEYS)
        a = a.merge(rate, on=KEYS, how="left", validate="many_to_one")
    r = resolve(rates)
    value = a["value_mxn"].astype("float64").to_numpy()
    igi_rate = pd.to_numeric(a.get("igi_rate", 0.0), errors="coerce")
    igi_rate = np.nan_to_num(np.broadcast_to(np.asarray(igi_rate, dtype="float64"), value.shape))
    igi = value * igi_rate
    dta = value * r.dta_rate("ad_valorem", end)
    iva = r.vat_rate(end) * (value + igi + dta)
    frame = pd.DataFrame(
        {
            "kind": a["export_kind"].astype(str).to_numpy(),
            "export_clave": a["export_clave"].astype(str).to_numpy(),
            "export": list(
                zip(a["export_pedimento"].astype(str), a["export_line"].astype(int), strict=True)
            ),
            "quantity": a["quantity"].astype("float64").to_numpy(),
            "value_mxn": value,
            "igi": igi,
            "dta": dta,
            "iva": iva,
        }
    )
    out = (
        frame.groupby(["kind", "export_clave"], sort=True)
        .agg(
            exits=("export", "nunique"),
            quantity=("quantity", "sum"),
            value_mxn=("value_mxn", "sum"),
            igi=("igi", "sum"),
            dta=("dta", "sum"),
            iva=("iva", "sum"),
        )
        .reset_index()
    )
    out["taxes"] = out["igi"] + out["dta"] + out["iva"]
    return out[REGULARISED_COLUMNS]
