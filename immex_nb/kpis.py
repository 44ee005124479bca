"""Headline KPIs: the handful of numbers a consultant quotes first.

One pure function over a discharge result and its exposure frame, shared by
the exposure notebook, the monthly report and its ``kpis.json`` — so the
numbers on every page agree.  Definitions (as of ``result.as_of``):

* ``open_value_mxn`` / ``open_lines``: import lines with ``open > 0``, their
  ``open_value_mxn`` summed (``value_mxn × open / quantity``).
* ``expired_value_mxn`` / ``expired_lines``: those of them with
  ``expired`` (deadline < as_of; AF lines never expire).
* ``due_value_mxn`` / ``due_lines``: open, not expired, deadline within
  ``horizon_days`` (default 90) days: ``0 ≤ days_to_deadline ≤ 90``.
* ``exposure_total_mxn``: ``total`` of the exposure frame (its expired and
  in-time parts as ``exposure_expired_mxn`` / ``exposure_in_time_mxn``), and
  the taxes it is made of (``exposure_igi_mxn`` …).
* ``return_ratio_12m``: value of temporary imports discharged by the exits
  that count as returns (returns and virtual transfers by default, not changes
  of regime, regularisations or donations: docs/rules/claves.md) in the 12
  months to ``as_of`` (allocations' ``value_mxn`` with ``as_of − 12
  months < export_date ≤ as_of``) ÷ value of the temporary imports entered in
  the same 12 months; ``None`` when nothing came in.  Companies with the
  IVA/IEPS certification must return at least ``return_ratio_threshold``
  (80 % under the 2024 rule; one source says 60 % — UNCONFIRMED, hence a
  parameter) of what they import over 12 months.  Worked: 1,000,000 MXN in,
  850,000 MXN of it (or of older lots) out → 0.85 ≥ 0.80.
* ``shortfall_count`` rows of ``result.shortfalls`` (``shortfall_exports``
  distinct export lines among them); ``late_allocations`` allocations drawn
  from an expired import line; ``rejects_count`` rows of ``ledger.rejects``.

Worked example: three open lines — A 100,000 MXN expired, B 50,000 due in
40 days, C 20,000 due in 200 days — give ``open_value_mxn`` 170,000 (3
lines), ``expired_value_mxn`` 100,000 (1), ``due_value_mxn`` 50,000 (1).

Values are plain Python ``int``/``float``/``str`` (JSON-ready, full
precision: money is rounded only when shown).
"""

from __future__ import annotations

import pandas as pd

HORIZON_DAYS = 90
#: share of 12 months' temporary imports a VAT-certified company must return
#: (2024 rule: 80 %; one source says 60 % — UNCONFIRMED, a parameter)
RETURN_RATIO_THRESHOLD = 0.80

#: KPI keys in display order (the keys of :func:`headline_kpis`)
KPI_KEYS = (
    "as_of",
    "open_lines",
    "open_value_mxn",
    "open_value_usd",
    "expired_lines",
    "expired_value_mxn",
    "expired_value_usd",
    "horizon_days",
    "due_lines",
    "due_value_mxn",
    "exposure_lines",
    "exposure_total_mxn",
    "exposure_expired_mxn",
    "exposure_in_time_mxn",
    "exposure_igi_mxn",
    "exposure_dta_mxn",
    "exposure_iva_mxn",
    "exposure_actualizacion_mxn",
    "exposure_recargos_mxn",
    "exposure_multa_mxn",
    "return_ratio_12m",
    "return_ratio_threshold",
    "shortfall_count",
    "shortfall_exports",
    "late_allocations",
    "rejects_count",
)


def _sum(frame: pd.DataFrame, column: str) -> float:
    if column not in frame.columns or frame.empty:
        return 0.0
    return float(frame[column].fillna(0.0).sum())


def _as_bool(series: pd.Series) -> pd.Series:
    return series.astype("boolean").fillna(False).astype(bool)


def headline_kpis(
    result: object,
    exposure: pd.DataFrame | None = None,
    rejects: pd.DataFrame | None = None,
    *,
    horizon_days: int = HORIZON_DAYS,
    return_ratio_threshold: float = RETURN_RATIO_THRESHOLD,
) -> dict[str, object]:
    """The headline numbers of one client as of ``result.as_of``.

    ``result`` is what :func:`immex_nb.discharge` returns (``balances``,
    ``shortfalls``, ``allocations``, ``as_of``); ``exposure`` the exposure
    frame for the same as-of (``status``, ``total``, ``igi`` …) or ``None``;
    ``rejects`` the loader's rejects table or ``None``.
    """
    balances: pd.DataFrame = result.balances
    open_rows = balances[balances["open"] > 0]
    expired = (
        _as_bool(open_rows["expired"])
        if "expired" in open_rows.columns
        else pd.Series(False, index=open_rows.index)
    )
    days = open_rows["days_to_deadline"] if "days_to_deadline" in open_rows.columns else None
    if days is None:
        due = pd.Series(False, index=open_rows.index)
    else:
        d = pd.to_numeric(days, errors="coerce").astype("float64")  # Int64 with <NA> → NaN
        due = ~expired & (d >= 0) & (d <= horizon_days)

    as_of = getattr(result, "as_of", None)
    kpis: dict[str, object] = {
        "as_of": None
        if as_of is None or pd.isna(as_of)
        else pd.Timestamp(as_of).strftime("%Y-%m-%d"),
        "open_lines": int(len(open_rows)),
        "open_value_mxn": _sum(open_rows, "open_value_mxn"),
        "open_value_usd": _sum(open_rows, "open_value_usd"),
        "expired_lines": int(expired.sum()),
        "expired_value_mxn": _sum(open_rows[expired], "open_value_mxn"),
        "expired_value_usd": _sum(open_rows[expired], "open_value_usd"),
        "horizon_days": int(horizon_days),
        "due_lines": int(due.sum()),
        "due_value_mxn": _sum(open_rows[due], "open_value_mxn"),
    }

    exp = exposure if exposure is not None else pd.DataFrame(columns=["status", "total"])
    status = (
        exp["status"].astype("string") if "status" in exp.columns else pd.Series(dtype="string")
    )
    kpis["exposure_lines"] = int(len(exp))
    kpis["exposure_total_mxn"] = _sum(exp, "total")
    kpis["exposure_expired_mxn"] = (
        _sum(exp[(status == "expired").fillna(False).astype(bool)], "total") if len(exp) else 0.0
    )
    kpis["exposure_in_time_mxn"] = (
        _sum(exp[(status == "in_time").fillna(False).astype(bool)], "total") if len(exp) else 0.0
    )
    for part in ("igi", "dta", "iva", "actualizacion", "recargos", "multa"):
        kpis[f"exposure_{part}_mxn"] = _sum(exp, part)

    shortfalls: pd.DataFrame = getattr(result, "shortfalls", pd.DataFrame())
    kpis["shortfall_count"] = int(len(shortfalls))
    if len(shortfalls) and {"export_pedimento", "export_line"} <= set(shortfalls.columns):
        kpis["shortfall_exports"] = int(
            len(shortfalls[["export_pedimento", "export_line"]].drop_duplicates())
        )
    else:
        kpis["shortfall_exports"] = 0
    allocations: pd.DataFrame = getattr(result, "allocations", pd.DataFrame())
    kpis["late_allocations"] = (
        int(_as_bool(allocations["late"]).sum())
        if "late" in allocations.columns and len(allocations)
        else 0
    )
    kpis["rejects_count"] = int(len(rejects)) if rejects is not None else 0
    kpis["return_ratio_12m"] = return_ratio(result)
    kpis["return_ratio_threshold"] = float(return_ratio_threshold)
    return {k: kpis[k] for k in KPI_KEYS}


def return_ratio(
    result: object,
    months: int = 12,
    *,
    ratio_kinds: tuple[str, ...] | None = None,
    claves: object | None = None,
) -> float | None:
    """Value discharged by the exits that count as returns in the ``months`` to
    ``result.as_of`` ÷ value of the temporary imports entered in them (see the
    module docstring).

    Which exits count (docs/rules/claves.md, UNCONFIRMED by law): by default the
    claves whose ``counts_as_return`` is true in ``claves`` (the built-in table:
    returns RT/H1 and virtual transfers V1/V4/V5 — not F4/F5 changes of regime,
    A3 regularisations or V9 donations; a client overrides it per clave in its
    ``claves.csv``); ``ratio_kinds`` (e.g. ``("return",)``) counts the exits of
    those kinds instead.  Allocations without ``export_clave`` all count."""
    as_of = getattr(result, "as_of", None)
    if as_of is None or pd.isna(as_of):
        as_of = getattr(result, "reference_date", None)
    if as_of is None:
        return None
    end = pd.Timestamp(as_of)
    start = end - pd.DateOffset(months=months)
    b: pd.DataFrame = result.balances
    if not {"import_date", "value_mxn"} <= set(b.columns):
        return None
    d = pd.to_datetime(b["import_date"])
    imported = _sum(b[(d > start) & (d <= end)], "value_mxn")
    if imported <= 0:
        return None
    a: pd.DataFrame = getattr(result, "allocations", pd.DataFrame())
    if a.empty or not {"export_date", "value_mxn"} <= set(a.columns):
        return 0.0
    e = pd.to_datetime(a["export_date"])
    window = a[(e > start) & (e <= end)]
    if "export_clave" in window.columns and len(window):
        from immex_nb.claves import default_claves

        table = claves or default_claves()
        clave = window["export_clave"].astype(str)
        if ratio_kinds is None:
            counts = table.column(clave, "exports", "counts_as_return", default=False)
        else:
            counts = table.kinds(clave, "exports").isin(tuple(ratio_kinds))
        window = window[counts.to_numpy(dtype=bool)]
    return _sum(window, "value_mxn") / imported
