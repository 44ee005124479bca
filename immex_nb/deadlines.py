"""Time limits of temporary imports (Ley Aduanera art. 108; docs/rules/deadlines.md).

The limit runs from the entry date and depends on the material type:

=====  ==========================================  =========
code   what                                        months
=====  ==========================================  =========
MP     inputs, raw materials, parts, labels        18
EE     packaging                                   18
CT     containers and trailer boxes                24
AF     machinery, equipment, tools, moulds         none (program validity)
=====  ==========================================  =========

Two ways to count "N months later" are offered:

* ``"clamp"`` (default): same day N months later, or the month's last day
  where that day does not exist — ``2024-08-31 + 18 months = 2026-02-28``.
* ``"cff"`` (CFF art. 12): a missing day moves to the first business day of
  the next month (``2024-08-31 + 18 → 2026-03-02``, since 2026-03-01 is a
  Sunday), and a deadline on a non-business day moves to the next business
  day.  Non-business days are Saturdays, Sundays and the holidays CFF art. 12
  lists (see :func:`immex_nb.dates.mx_holidays`); the SAT's vacation periods are not included.

``oea=True`` gives MP and EE 36 months (RGCE 2022 7.3.3 XXV; UNCONFIRMED today,
hence a per-client option, off by default).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from immex_nb.dates import MONTH_RULES, add_months
from immex_nb.schema import DEADLINE_MONTHS

DEADLINE_RULES = MONTH_RULES
OEA_MONTHS = 36


def limit_months(material_type: pd.Series, *, oea: bool = False) -> pd.Series:
    """Months of the time limit per row (NaN for AF: no limit)."""
    months = {k: (np.nan if v is None else float(v)) for k, v in DEADLINE_MONTHS.items()}
    if oea:
        months.update(MP=float(OEA_MONTHS), EE=float(OEA_MONTHS))
    codes, distinct = pd.factorize(pd.Series(material_type))  # a few types, many rows
    per_type = pd.Series(distinct, dtype=object).map(months).to_numpy(dtype="float64")
    per_row = np.where(codes >= 0, per_type[codes] if len(per_type) else np.nan, np.nan)
    return pd.Series(per_row, index=getattr(material_type, "index", None), dtype="float64")


def deadlines(
    dates, material_type: pd.Series, *, rule: str = "clamp", oea: bool = False
) -> pd.Series:
    """Deadline per import line (``NaT`` for AF) as a ``datetime64[ns]`` Series."""
    mt = pd.Series(material_type).reset_index(drop=True)
    out = add_months(dates, limit_months(mt, oea=oea).to_numpy(), rule=rule)
    return pd.Series(out.astype("datetime64[ns]"), index=getattr(material_type, "index", None))
