"""Ageing of open balances: how far each import line is from its time limit.

For an as-of date every open import line gets ``days_to_deadline`` (deadline
minus as-of, in calendar days; empty for AF, which has no limit) and a bucket:

=============================  ===============================
bucket                         days to deadline
=============================  ===============================
Expired                        < 0 (deadline before as-of)
Due within 30 days             0 … 30
Due in 31–60 days              31 … 60
Due in 61–90 days              61 … 90
Due in more than 90 days       > 90
No time limit (AF)             no deadline (machinery, AF)
=============================  ===============================

Example, as of 2025-06-30: a resin lot entered 2024-01-15 (MP, 18 months)
is due 2025-07-15 → 15 days → "Due within 30 days"; one entered 2023-12-20 was
due 2025-06-20 → −10 days → "Expired"; a moulding press (AF) → "No time
limit (AF)".  The bucket is an *ordered* categorical, so tables and charts
list it from the most to the least urgent.

The bucket values above are the data's identifiers (CSV outputs, the annex);
what a reader sees comes from the text catalog: :func:`bucket_label`
(``"Expired"`` → ``"Vencido"`` in Spanish, key ``bucket.expired``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from immex_nb.dates import as_timestamp
from immex_nb.errors import ImmexError
from immex_nb.text import t

BUCKET_EXPIRED = "Expired"  # the ageing bucket; a line's status is exposure.EXPIRED
NO_LIMIT = "No time limit (AF)"
BUCKETS = (
    BUCKET_EXPIRED,
    "Due within 30 days",
    "Due in 31–60 days",
    "Due in 61–90 days",
    "Due in more than 90 days",
    NO_LIMIT,
)
BUCKET_DTYPE = pd.CategoricalDtype(list(BUCKETS), ordered=True)
#: each bucket's kind: its key in the text catalog (``bucket.<kind>``) and its colour
BUCKET_KINDS = dict(zip(BUCKETS, ("expired", "30", "60", "90", "later", "none"), strict=True))
#: upper bound (days, inclusive) of each dated bucket after "Expired"
BUCKET_EDGES = (30, 60, 90)


def days_to_deadline(deadline, as_of) -> pd.Series:
    """Calendar days from ``as_of`` to each deadline (negative once passed);
    ``<NA>`` where there is no deadline.  Nullable ``Int64``."""
    as_of = as_timestamp(as_of)
    d = pd.to_datetime(pd.Series(deadline))
    days = (d - as_of).dt.days
    return days.astype("Int64")


def bucket(days) -> pd.Series:
    """Ageing bucket for days to deadline (``<NA>`` = no limit), ordered categorical."""
    days = pd.Series(days)
    v = pd.to_numeric(days, errors="coerce").astype("float64").to_numpy()
    codes = np.select(  # positions in BUCKETS, no label written per row
        [np.isnan(v), v < 0, v <= BUCKET_EDGES[0], v <= BUCKET_EDGES[1], v <= BUCKET_EDGES[2]],
        [BUCKETS.index(NO_LIMIT), 0, 1, 2, 3],
        default=4,
    )
    return pd.Series(pd.Categorical.from_codes(codes, dtype=BUCKET_DTYPE), index=days.index)


def bucket_label(value: object, lang: str) -> str:
    """A bucket as a reader sees it in ``lang``: ``"Expired"`` → ``"Vencido"``;
    anything that is not a bucket is returned as text."""
    kind = BUCKET_KINDS.get(str(value))
    return t(f"bucket.{kind}", lang) if kind else str(value)


def ageing(balances: pd.DataFrame, as_of, *, open_only: bool = True) -> pd.DataFrame:
    """``balances`` with ``days_to_deadline``, ``expired`` and ``bucket`` as of a date.

    ``balances`` needs ``deadline`` (NaT = no limit) and, with ``open_only``
    (default), ``open``: closed lines are left out.  The input is not changed.
    """
    missing = [
        c for c in ("deadline",) + (("open",) if open_only else ()) if c not in balances.columns
    ]
    if missing:
        raise ImmexError(
            f"ageing needs column(s) {missing}; columns found: {list(balances.columns)}"
        )
    out = balances
    if open_only:
        out = out.loc[np.round(out["open"].astype("float64"), 6) > 0]
    out = out.copy()
    out["days_to_deadline"] = days_to_deadline(out["deadline"], as_of).to_numpy()
    out["expired"] = (out["days_to_deadline"] < 0).fillna(False).astype(bool)
    out["bucket"] = bucket(out["days_to_deadline"]).to_numpy()
    out["bucket"] = out["bucket"].astype(BUCKET_DTYPE)
    return out


def ageing_summary(
    aged: pd.DataFrame, by: str | None = "material_type", value: str = "open_value_mxn"
) -> pd.DataFrame:
    """Lines and ``value`` per bucket (and per ``by`` when given), every bucket
    listed in order even when empty.  ``aged`` is the output of :func:`ageing`."""
    if "bucket" not in aged.columns:
        raise ImmexError("ageing_summary needs the output of ageing() (column 'bucket')")
    keys = ["bucket"] if by is None else [by, "bucket"]
    agg = {"lines": ("bucket", "size")}
    if value in aged.columns:
        agg[value] = (value, "sum")
    if "open" in aged.columns:
        agg["open"] = ("open", "sum")
    out = aged.groupby(keys, observed=False, sort=True).agg(**agg).reset_index()
    return out
