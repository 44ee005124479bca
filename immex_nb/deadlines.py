"""Time limits of temporary imports (Ley Aduanera art. 108; CONTRACT.md §2.6).

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
  lists (see :func:`mx_holidays`); the SAT's vacation periods are not included.

``oea=True`` gives MP and EE 36 months (RGCE 2022 7.3.3 XXV; UNCONFIRMED today,
hence a per-client option, off by default).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from immex_nb.errors import ImmexError
from immex_nb.schema import DEADLINE_MONTHS

DEADLINE_RULES = ("clamp", "cff")
OEA_MONTHS = 36


def as_timestamp(as_of, what: str = "as_of") -> pd.Timestamp:
    """A date given as text, ``date`` or Timestamp → Timestamp at midnight."""
    if as_of is None:
        raise ImmexError(f"{what} is required (a date such as 2025-06-30)")
    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise ImmexError(f"{what} {as_of!r} is not a date; use YYYY-MM-DD") from None
    if pd.isna(ts):
        raise ImmexError(f"{what} is required (a date such as 2025-06-30)")
    return ts.tz_localize(None).normalize() if ts.tzinfo else ts.normalize()


def limit_months(material_type: pd.Series, *, oea: bool = False) -> pd.Series:
    """Months of the time limit per row (NaN for AF: no limit)."""
    months = {k: (np.nan if v is None else float(v)) for k, v in DEADLINE_MONTHS.items()}
    if oea:
        months.update(MP=float(OEA_MONTHS), EE=float(OEA_MONTHS))
    return material_type.map(months).astype("float64")


def _days_in_month(month: np.ndarray) -> np.ndarray:
    """Days in each ``datetime64[M]`` month."""
    return ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(np.int64)


def add_months(dates, months, *, rule: str = "clamp") -> np.ndarray:
    """``dates + months`` (vectorised) by the ``rule`` of this module's docstring.

    ``dates`` is array-like of dates; ``months`` an int or an array (NaN → NaT).
    Returns ``datetime64[D]``.
    """
    if rule not in DEADLINE_RULES:
        raise ImmexError(f"deadline rule {rule!r} is not one of {list(DEADLINE_RULES)}")
    d = np.asarray(pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[D]"))
    n = np.broadcast_to(np.asarray(months, dtype="float64"), d.shape)
    missing = np.isnan(n) | np.isnat(d)
    n_int = np.where(missing, 0, n).astype(np.int64)
    d_safe = np.where(np.isnat(d), np.datetime64("2000-01-01", "D"), d)
    start_month = d_safe.astype("datetime64[M]")
    day = (d_safe - start_month.astype("datetime64[D]")).astype(np.int64) + 1
    target = start_month + n_int
    dim = _days_in_month(target)
    overflow = day > dim
    out = target.astype("datetime64[D]") + (np.minimum(day, dim) - 1)
    if rule == "cff":
        first_next = (target + 1).astype("datetime64[D]")
        out = np.where(overflow, first_next, out)
        out = roll_to_business_day(out)
    out = np.where(missing, np.datetime64("NaT", "D"), out)
    return out.astype("datetime64[D]")


def deadlines(
    dates, material_type: pd.Series, *, rule: str = "clamp", oea: bool = False
) -> pd.Series:
    """Deadline per import line (``NaT`` for AF) as a ``datetime64[ns]`` Series."""
    mt = pd.Series(material_type).reset_index(drop=True)
    out = add_months(dates, limit_months(mt, oea=oea).to_numpy(), rule=rule)
    return pd.Series(out.astype("datetime64[ns]"), index=getattr(material_type, "index", None))


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> np.datetime64:
    first = np.datetime64(f"{year:04d}-{month:02d}-01")
    offset = (weekday - (first.astype(object).weekday())) % 7
    return first + offset + 7 * (n - 1)


@lru_cache(maxsize=1)
def mx_holidays(first_year: int = 1990, last_year: int = 2080) -> np.ndarray:
    """Holidays of CFF art. 12 / LFT art. 74, ``datetime64[D]``.

    1 Jan; first Monday of Feb; third Monday of Mar; 1 and 5 May; 16 Sep;
    third Monday of Nov; 25 Dec; and the day the federal executive changes
    hands (1 Dec every six years to 2018, 1 Oct from 2024).
    """
    days: list[np.datetime64] = []
    for y in range(first_year, last_year + 1):
        days += [
            np.datetime64(f"{y}-01-01"),
            _nth_weekday(y, 2, 0, 1),
            _nth_weekday(y, 3, 0, 3),
            np.datetime64(f"{y}-05-01"),
            np.datetime64(f"{y}-05-05"),
            np.datetime64(f"{y}-09-16"),
            _nth_weekday(y, 11, 0, 3),
            np.datetime64(f"{y}-12-25"),
        ]
        if y <= 2018 and (y - 2018) % 6 == 0:
            days.append(np.datetime64(f"{y}-12-01"))
        if y >= 2024 and (y - 2024) % 6 == 0:
            days.append(np.datetime64(f"{y}-10-01"))
    return np.unique(np.array(days, dtype="datetime64[D]"))


def roll_to_business_day(days: np.ndarray) -> np.ndarray:
    """Move each date that is not a business day to the next business day."""
    days = np.asarray(days, dtype="datetime64[D]")
    ok = ~np.isnat(days)
    out = days.copy()
    out[ok] = np.busday_offset(days[ok], 0, roll="forward", holidays=mx_holidays())
    return out
