"""Exposure: what the open balances would cost as of a date (docs/rules/exposure.md).

Every import line still open after the discharge (same cut-off) is valued one
of two ways:

* **in time** (deadline ≥ as-of, or AF): the cost of a change of regime now.
  IGI at the lower of the general rate and the PROSEC rate (when given), DTA
  8 ‰, VAT 16 % of (value + IGI + DTA), and the IGI updated by inflation from
  the month of entry (RLA art. 140): ``actualizacion = igi × (F − 1)``; no
  surcharges, no fine.
* **expired** (deadline < as-of): a regularisation (LA art. 101, key A3).
  IGI at the general rate (no preference), DTA, VAT; the whole ``tax`` updated
  (``tax × (F − 1)``); surcharges for each month *or fraction* from the entry
  date to as-of, at most 60, month *k* carrying the late-payment rate of the
  year it starts in (1.47 % to 2025, 2.07 % from 2026):
  ``recargos = (tax + actualizacion) × Σ rates``; ``multa = tax × fine_rate``
  (a parameter, default 0: fine amounts are UNCONFIRMED).

``F`` = INPC(month before as-of's month) ÷ INPC(month before the entry month),
truncated to 4 decimals, at least 1 (see :mod:`immex_nb.rates`).  ``total =
tax + actualizacion + recargos + multa``; full precision inside, rounding only
for display.

Worked line (as of 2026-03-10).  Import 2022-11-20, MP, 10 units, customs
value MXN 100,000, general rate 10 %, nothing exported.  Deadline 2024-05-20
< as-of → expired.  ``igi`` 10,000; ``dta`` 800; ``iva`` 0.16 × 110,800 =
17,728; ``tax`` 28,528.  F: INPC Feb-2026 is not published yet, so the last
one (Jan-2026, 143.588) is used and the row says ``inpc_estimated``; Oct-2022
125.276 → 1.14617… → 1.1461; ``actualizacion`` = 28,528 × 0.1461 =
4,167.9408.  Months or fraction from 2022-11-20 to 2026-03-10: 40 (2022-11-20
+ 40 months = 2026-03-20 ≥ as-of; + 39 = 2026-02-20 < as-of).  They start
2022-11-20 … 2026-02-20: 38 before 2026 at 1.47 % and 2 in 2026 at 2.07 % →
Σ = 0.6; ``recargos`` = (28,528 + 4,167.9408) × 0.6 = 19,617.56448;
``total`` = 52,313.50528.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from immex_nb.ageing import bucket, days_to_deadline
from immex_nb.dates import as_timestamp, months_or_fraction
from immex_nb.errors import ImmexError
from immex_nb.rates import Rates, month_index, resolve

#: docs/rules/exposure.md columns, in this order, then the extras below
CONTRACT_COLUMNS = [
    "import_pedimento",
    "import_line",
    "part_number",
    "status",
    "open",
    "open_value_mxn",
    "igi",
    "dta",
    "iva",
    "actualizacion",
    "recargos",
    "multa",
    "total",
]
EXTRA_COLUMNS = [
    "open_value_usd",
    "total_usd",
    "import_date",
    "deadline",
    "days_to_deadline",
    "bucket",
    "material_type",
    "clave",
    "origin",
    "fraccion",
    "description",
    "quantity",
    "value_mxn",
    "value_usd",
    "igi_rate",
    "prosec_rate",
    "rate_used",
    "tax",
    "inpc_month_from",
    "inpc_month_to",
    "inpc_from",
    "inpc_to",
    "inpc_factor",
    "inpc_estimated",
    "inpc_before_table",
    "surcharge_months",
    "surcharge_rate_sum",
    "surcharge_rate_estimated",
    "fine_rate",
    "imported_after_as_of",
]
#: the money columns: the contract's from ``open_value_mxn`` to ``total``, and USD
MONEY_COLUMNS = [*CONTRACT_COLUMNS[CONTRACT_COLUMNS.index("open_value_mxn") :], "total_usd"]
REQUIRED = [
    "import_pedimento",
    "import_line",
    "import_date",
    "part_number",
    "quantity",
    "open",
    "value_mxn",
    "deadline",
]
IN_TIME, EXPIRED = "in_time", "expired"
_STR_DTYPE = pd.Series([""], dtype="str").dtype  # pandas' text columns
MAX_SURCHARGE_MONTHS = 60  # CFF art. 21: at most five years


def surcharge_rate_sum(
    start_dates, months, rates: Rates | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Σ of the monthly late-payment rates over months k = 0 … months−1 from
    each start date, month k taking the rate of the year it starts in
    (docs/rules/exposure.md).

    Counted per calendar year, not per month: the months of row i that start
    in year Y are the overlap of ``[s_i, s_i + n_i)`` with ``[12·Y, 12·Y + 12)``
    (month indices), and Σ = Σ_Y count × rate(Y) — a handful of years, never
    a months × rows matrix.  Returns ``(sum, estimated)`` (estimated: a year
    beyond the rate table).
    """
    r = resolve(rates)
    start = month_index(start_dates)
    start = np.where(start < 0, 0, start)  # no date: month 0 (it has no months anyway)
    months = np.asarray(months, dtype=np.int64)
    if len(start) == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    end = start + np.maximum(months, 0)  # exclusive
    total = np.zeros(len(start))
    estimated = np.zeros(len(start), dtype=bool)
    used = months > 0
    if not used.any():
        return total, estimated
    years = np.arange(start[used].min() // 12, (end[used].max() - 1) // 12 + 1)
    year_rate, year_est = r.surcharge_rates(years)
    for year, rate, est in zip(years, year_rate, year_est, strict=True):
        count = np.clip(np.minimum(end, 12 * year + 12) - np.maximum(start, 12 * year), 0, None)
        total += count * rate
        if est:
            estimated |= count > 0
    return total, estimated


def _check_columns(balances: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED if c not in balances.columns]
    if missing:
        raise ImmexError(
            f"exposure needs the discharge balances; column(s) {missing} missing; columns found: {list(balances.columns)}"
        )


def exposure(
    balances: pd.DataFrame,
    as_of,
    *,
    fine_rate: float = 0.0,
    rates: Rates | str | os.PathLike | None = None,
    use_prosec: bool = True,
    max_surcharge_months: int = MAX_SURCHARGE_MONTHS,
    include_later_imports: bool = True,
) -> pd.DataFrame:
    """What each open import line would cost as of ``as_of`` (docs/rules/exposure.md).

    ``balances`` is the ``balances`` frame of :func:`immex_nb.discharge` run
    with the same cut-off.  ``fine_rate`` is the fine as a share of the omitted
    taxes on expired lines; ``rates`` a :class:`~immex_nb.rates.Rates`, a
    folder of override CSVs, or ``None`` for the built-in tables;
    ``use_prosec=False`` ignores ``prosec_rate`` on in-time lines (what-if for
    a client without PROSEC).  Balances of a discharge with the same cut-off
    hold no line imported after ``as_of``; balances computed otherwise may, and
    such lines are listed in time, factor 1, flagged ``imported_after_as_of``
    (``include_later_imports=False`` leaves them out).  One row per line with ``open > 0``, sorted by
    ``import_pedimento, import_line``; the contract's columns first, then the
    working (rates, INPC months and values, surcharge months …).  ``attrs``
    hold ``as_of``, ``fine_rate``, ``inpc_estimated`` (any row) and
    ``last_inpc_month``.
    """
    _check_columns(balances)
    as_of = as_timestamp(as_of)
    fine_rate = _check_fine_rate(fine_rate)
    r = resolve(rates)
    keys = _open_lines(balances, as_of, include_later_imports)
    rows = keys["row"].to_numpy()
    line = _line_values(balances, rows, as_of, use_prosec)
    tax = _taxes(line, r, as_of)
    upd = _update_and_surcharges(line, tax, r, as_of, fine_rate, max_surcharge_months)
    return _exposure_frame(balances, keys, line, tax, upd, r, as_of, fine_rate)


def _check_fine_rate(fine_rate) -> float:
    fine_rate = 0.0 if fine_rate is None else float(fine_rate)
    if not np.isfinite(fine_rate) or fine_rate < 0:
        raise ImmexError(f"fine_rate {fine_rate!r} must be a fraction ≥ 0 (e.g. 0.7)")
    return fine_rate


def _open_lines(balances: pd.DataFrame, as_of, include_later_imports: bool) -> pd.DataFrame:
    """Stage 1: the lines still open, in ``(import_pedimento, import_line)``
    order: their keys, and in ``row`` their positions in ``balances``.  Only
    these rows are gathered and valued by the next stages; closed lines are
    never touched again."""
    open_qty = pd.to_numeric(balances["open"], errors="coerce").astype("float64").to_numpy()
    rows = np.flatnonzero(np.round(open_qty, 6) > 0)  # NaN → not open
    if not include_later_imports:
        entered = pd.to_datetime(balances["import_date"].take(rows)) <= as_of
        rows = rows[entered.to_numpy(dtype=bool)]
    keys = pd.DataFrame(
        {
            "import_pedimento": balances["import_pedimento"].take(rows).array,
            "import_line": balances["import_line"].take(rows).array,
            "row": rows,
        }
    )
    keys = keys.sort_values(["import_pedimento", "import_line"], kind="stable")
    return keys.reset_index(drop=True)


def _column(b: pd.DataFrame, name: str, rows: np.ndarray, default=np.nan) -> pd.Series:
    """Column ``name`` at ``rows`` (a fresh 0…n−1 index), ``default`` where absent."""
    if name not in b.columns:
        return pd.Series(default, index=pd.RangeIndex(len(rows)))
    return b[name].take(rows).reset_index(drop=True)


def _floats(b: pd.DataFrame, name: str, rows: np.ndarray, default=np.nan) -> np.ndarray:
    """A numeric column at ``rows`` as float64 (text that is not a number → NaN)."""
    if name in b.columns and b[name].dtype == np.float64:
        return b[name].to_numpy()[rows]
    return (
        pd.to_numeric(_column(b, name, rows, default), errors="coerce").astype("float64").to_numpy()
    )


def _dates(b: pd.DataFrame, name: str, rows: np.ndarray) -> np.ndarray:
    """A date column at ``rows`` as ``datetime64[ns]`` (converted once, here)."""
    col = b[name]
    if col.dtype == "datetime64[ns]":
        return col.to_numpy()[rows]
    return pd.to_datetime(col.take(rows)).astype("datetime64[ns]").to_numpy()


def _line_values(b: pd.DataFrame, rows: np.ndarray, as_of, use_prosec: bool) -> dict:
    """Stage 2: per line, the open value, status and the IGI rate that applies."""
    qty, opn, value_mxn = (
        b[c].to_numpy()[rows]
        if b[c].dtype == np.float64
        else b[c].take(rows).astype("float64").to_numpy()
        for c in ("quantity", "open", "value_mxn")
    )
    value_usd = _floats(b, "value_usd", rows)
    share = np.divide(opn, qty, out=np.zeros_like(opn), where=qty > 0)
    deadline = _dates(b, "deadline", rows)
    expired = ~np.isnat(deadline) & (deadline < as_of.to_datetime64())
    igi_rate = _floats(b, "igi_rate", rows, 0.0)
    igi_rate = np.where(np.isnan(igi_rate), 0.0, igi_rate)
    prosec_rate = _floats(b, "prosec_rate", rows)
    # in time: the lower of general and PROSEC; expired: the general rate, no preference
    in_time_rate = np.fmin(igi_rate, prosec_rate) if use_prosec else igi_rate
    return {
        "qty": qty,
        "open": opn,
        "share": share,
        "value_mxn": value_mxn,
        "value_usd": value_usd,
        "open_value": value_mxn * share,
        "deadline": deadline,
        "expired": expired,
        "igi_rate": igi_rate,
        "prosec_rate": prosec_rate,
        "rate": np.where(expired, igi_rate, in_time_rate),
        "import_date": _dates(b, "import_date", rows),
    }


def _taxes(line: dict, r: Rates, as_of) -> dict:
    """Stage 3: IGI, DTA 8 ‰ and IVA 16 % of (value + IGI + DTA)."""
    open_value = line["open_value"]
    igi = open_value * line["rate"]
    dta = open_value * r.dta_rate("ad_valorem", as_of)
    iva = r.vat_rate(as_of) * (open_value + igi + dta)
    return {"igi": igi, "dta": dta, "iva": iva, "tax": igi + dta + iva}


def _update_and_surcharges(
    line: dict, tax: dict, r: Rates, as_of, fine_rate: float, max_months: int
) -> dict:
    """Stage 4: INPC update (IGI in time, all taxes expired), surcharges and fine.

    Months or fraction and their rates are counted on the expired lines only
    (an in-time line has none)."""
    expired, import_date = line["expired"], line["import_date"]
    entry_month = month_index(import_date)
    f = r.inpc_factors(entry_month, as_of)
    factor = f["inpc_factor"]
    actualizacion = np.where(expired, tax["tax"], tax["igi"]) * (factor - 1.0)
    n = np.zeros(len(expired), dtype=np.int64)
    s_sum = np.zeros(len(expired))
    s_est = np.zeros(len(expired), dtype=bool)
    if expired.any():
        late = np.flatnonzero(expired)
        n[late] = np.minimum(months_or_fraction(import_date[late], as_of), int(max_months))
        s_sum[late], s_est[late] = surcharge_rate_sum(import_date[late], n[late], r)
    recargos = np.where(expired, (tax["tax"] + actualizacion) * s_sum, 0.0)
    multa = np.where(expired, tax["tax"] * fine_rate, 0.0)
    return {
        "inpc": f,
        "entry_month": entry_month,
        "actualizacion": actualizacion,
        "recargos": recargos,
        "multa": multa,
        "total": tax["tax"] + actualizacion + recargos + multa,
        "months": n,
        "rate_sum": s_sum,
        "rate_estimated": s_est,
    }


#: the line's status as a text column, gathered from these two by ``expired``
_STATUS = (IN_TIME, EXPIRED)
TEXT_COLUMNS = ("material_type", "clave", "origin", "fraccion", "description")


def _text(b: pd.DataFrame, name: str, rows: np.ndarray):
    """A text column at ``rows``, missing values and an absent column as ``""``."""
    values = _column(b, name, rows, "")
    if values.dtype == _STR_DTYPE:
        return values.fillna("").array
    return values.astype(object).where(values.notna(), "").astype(str).array


def _exposure_frame(b, keys, line, tax, upd, r: Rates, as_of, fine_rate: float) -> pd.DataFrame:
    """Stage 5: the contract's columns, then the working, and the run's attrs."""
    rows = keys["row"].to_numpy()
    expired, import_date = line["expired"], line["import_date"]
    value_mxn, value_usd = line["value_mxn"], line["value_usd"]
    usd_per_mxn = np.divide(
        value_usd, value_mxn, out=np.full_like(value_mxn, np.nan), where=value_mxn > 0
    )
    usd_per_mxn = np.where((value_mxn == 0) & ~np.isnan(value_usd), 0.0, usd_per_mxn)
    days = days_to_deadline(line["deadline"], as_of)
    f = upd["inpc"]
    as_of64 = as_of.to_datetime64()
    dated = ~np.isnat(import_date)
    # a month before the table takes its first value: the update is understated
    first_month = str(r.inpc_table["month"].iloc[0])
    first_m = int(r.inpc_table["_m"].iloc[0])

    cols = {
        "import_pedimento": keys["import_pedimento"].astype(str).array,
        "import_line": keys["import_line"].astype("int64").to_numpy(),
        "part_number": _column(b, "part_number", rows).astype(str).array,
        "status": pd.array(_STATUS, dtype=_STR_DTYPE).take(expired.astype(np.intp)),
        "open": line["open"],
        "open_value_mxn": line["open_value"],
        **{c: tax[c] for c in ("igi", "dta", "iva")},
        **{c: upd[c] for c in ("actualizacion", "recargos", "multa", "total")},
        "open_value_usd": value_usd * line["share"],
        "total_usd": upd["total"] * usd_per_mxn,
        "import_date": import_date,
        "deadline": line["deadline"],
        "days_to_deadline": days.array,
        "bucket": bucket(days).array,
        **{name: _text(b, name, rows) for name in TEXT_COLUMNS},
        "quantity": line["qty"],
        "value_mxn": value_mxn,
        "value_usd": value_usd,
        "igi_rate": line["igi_rate"],
        "prosec_rate": line["prosec_rate"],
        "rate_used": line["rate"],
        "tax": tax["tax"],
        **{c: f[c] for c in ("inpc_month_from", "inpc_month_to", "inpc_from", "inpc_to")},
        "inpc_factor": f["inpc_factor"],
        # a line entered after as_of has factor 1 whatever the table holds
        "inpc_estimated": f["inpc_estimated"] & (import_date <= as_of64),
        "inpc_before_table": (upd["entry_month"] - 1 < first_m) & dated,
        "surcharge_months": upd["months"].astype(np.int64),
        "surcharge_rate_sum": upd["rate_sum"],
        "surcharge_rate_estimated": upd["rate_estimated"] & expired,
        "fine_rate": np.full(len(rows), fine_rate),
        "imported_after_as_of": import_date > as_of64,
    }
    out = pd.DataFrame({c: cols[c] for c in CONTRACT_COLUMNS + EXTRA_COLUMNS})
    out.attrs.update(
        as_of=as_of,
        fine_rate=fine_rate,
        inpc_estimated=bool(out["inpc_estimated"].any()),
        inpc_before_table=int(out["inpc_before_table"].sum()),
        first_inpc_month=first_month,
        last_inpc_month=r.last_inpc_month,
    )
    return out


def exposure_for(ledger, as_of, **options):
    """``(exposure_frame, discharge_result)`` of a loaded ledger as of ``as_of``
    through :class:`immex_nb.run.ClientRun` — the one way every caller wires
    load → discharge → value.  ``options`` are ClientRun's (``fine_rate``,
    ``rates``, ``deadline_rule``, ``use_prosec``)."""
    from immex_nb.run import ClientRun

    run = ClientRun(ledger, as_of, **options)
    return run.exposure, run.discharge


SUMMARY_DIMENSIONS = {
    "part": "part_number",
    "part_number": "part_number",
    "origin": "origin",
    "material_type": "material_type",
    "category": "material_type",
    "bucket": "bucket",
    "status": "status",
}
SUMMARY_VALUES = MONEY_COLUMNS


def summarize_exposure(df: pd.DataFrame, by: str | list[str] = "part_number") -> pd.DataFrame:
    """Lines, expired lines and every money column summed per ``by``:
    ``"part"``/``"part_number"``, ``"origin"``, ``"material_type"``
    (``"category"``), ``"bucket"`` (every bucket in order, also empty ones),
    ``"status"``, or a list of columns.  Sorted by total (bucket: by urgency)."""
    keys = [by] if isinstance(by, str) else list(by)
    keys = [SUMMARY_DIMENSIONS.get(k, k) for k in keys]
    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise ImmexError(
            f"cannot summarise exposure by {missing}; accepted: {sorted(SUMMARY_DIMENSIONS)} or columns {list(df.columns)}"
        )
    g = df.assign(_expired=(df["status"] == EXPIRED).astype("int64")).groupby(
        keys, observed=False, sort=True
    )
    out = g.agg(
        lines=("status", "size"),
        expired_lines=("_expired", "sum"),
        **{v: (v, "sum") for v in SUMMARY_VALUES if v in df.columns},
    )
    out = out.reset_index()
    if keys != ["bucket"]:
        out = out.sort_values(
            ["total", *keys], ascending=[False] + [True] * len(keys), kind="stable"
        ).reset_index(drop=True)
    return out


def exposure_summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """One tidy table: the summaries by part, origin, material type and bucket
    stacked, with ``dimension`` and ``key`` columns (``exposure_summary.csv``)."""
    parts = []
    for dim, colname in (
        ("part_number", "part_number"),
        ("origin", "origin"),
        ("material_type", "material_type"),
        ("bucket", "bucket"),
    ):
        s = summarize_exposure(df, colname)
        s.insert(0, "key", s.pop(colname).astype(str))
        s.insert(0, "dimension", dim)
        parts.append(s)
    total = {
        "dimension": "total",
        "key": "all",
        "lines": len(df),
        "expired_lines": int((df["status"] == EXPIRED).sum()),
    }
    total.update({v: float(df[v].sum()) for v in SUMMARY_VALUES if v in df.columns})
    parts.append(pd.DataFrame([total]))
    return pd.concat(parts, ignore_index=True)
