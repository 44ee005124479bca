"""Time, in one place: dates parsed once at the edge, months added one way, periods.

Everything in immex-nb that reads a date, adds months, or speaks of a month
("period", ``YYYY-MM``) goes through this module:

* :func:`as_timestamp` — a date given as text, ``date`` or Timestamp → a
  midnight ``Timestamp`` (one parser; a one-line :class:`ImmexError` otherwise).
* :class:`Period` — a calendar month: ``Period.parse("2025-03")``, ``.start``,
  ``.end`` (the report's as-of date), ``.previous``, ``.next``, ``.bounds``.
* :func:`add_months` — "N months later", vectorised, by the clamp rule or the
  CFF art. 12 rule (docs/rules/deadlines.md).
* :func:`months_or_fraction` — months *or fraction* between two dates
  (CFF art. 21, docs/rules/exposure.md): 2024-01-10 → 2024-03-05 is 2,
  → 2024-03-10 is 2, → 2024-03-11 is 3.
* :func:`mx_holidays`, :func:`roll_to_business_day` — business days of CFF art. 12.

Imports nothing from the rest of the package but :mod:`immex_nb.errors`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd

from immex_nb.errors import ImmexError

#: Ways to count "N months later" (docs/rules/deadlines.md).
MONTH_RULES = ("clamp", "cff")

#: Years the calendar (holidays) and the rate tables can serve.  A period or
#: as-of date outside them is refused at the edge with a one-line message.
FIRST_YEAR, LAST_YEAR = 1990, 2080

_PERIOD_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def as_timestamp(value, what: str = "as_of") -> pd.Timestamp:
    """A date given as text, ``date`` or Timestamp → Timestamp at midnight."""
    if value is None:
        raise ImmexError(f"{what} is required (a date such as 2025-06-30)")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise ImmexError(f"{what} {value!r} is not a date; use YYYY-MM-DD") from None
    if pd.isna(ts):
        raise ImmexError(f"{what} is required (a date such as 2025-06-30)")
    return ts.tz_localize(None).normalize() if ts.tzinfo else ts.normalize()


def check_year(year: int, what: str) -> None:
    """Refuse a year the calendar and rate tables cannot serve."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ImmexError(
            f"{what} is outside the years immex-nb can value ({FIRST_YEAR}–{LAST_YEAR})"
        )


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month, the unit of the monthly report and the Anexo 30 worksheet."""

    year: int
    month: int

    @classmethod
    def parse(cls, text) -> Period:
        """``"2025-03"`` → ``Period(2025, 3)``; a :class:`Period` passes through."""
        if isinstance(text, Period):
            return text
        m = _PERIOD_RE.fullmatch(str(text).strip())
        if not m:
            raise ImmexError(f"period {text!r} is not valid; use YYYY-MM (e.g. 2025-03)")
        period = cls(int(m.group(1)), int(m.group(2)))
        check_year(period.year, f"period {period}")
        return period

    @classmethod
    def of(cls, day) -> Period:
        """The period a date falls in."""
        ts = as_timestamp(day, "date")
        return cls(ts.year, ts.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    @property
    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """Last day: the as-of date of the period's report (2024-02 → 2024-02-29)."""
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def bounds(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``(first day, last day)`` as Timestamps, both inclusive."""
        return pd.Timestamp(self.start), pd.Timestamp(self.end)

    def contains(self, dates) -> np.ndarray:
        """Boolean mask: which of ``dates`` fall in this period."""
        d = pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[D]")
        lo, hi = np.datetime64(self.start, "D"), np.datetime64(self.end, "D")
        return (d >= lo) & (d <= hi)

    def shifted(self, months: int) -> Period:
        k = self.year * 12 + self.month - 1 + months
        return Period(k // 12, k % 12 + 1)


# --------------------------------------------------------------------------- month arithmetic


def _days_in_month(month: np.ndarray) -> np.ndarray:
    """Days in each ``datetime64[M]`` month."""
    return ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(np.int64)


def add_months(dates, months, *, rule: str = "clamp") -> np.ndarray:
    """``dates + months`` (vectorised), by ``rule`` (docs/rules/deadlines.md).

    * ``"clamp"``: same day N months later, or the month's last day where that
      day does not exist — ``2024-08-31 + 18 months = 2026-02-28``;
    * ``"cff"`` (CFF art. 12): a missing day moves to the first business day of
      the next month, and a result on a non-business day to the next business day.

    ``dates`` is array-like of dates; ``months`` an int or an array (NaN → NaT).
    Returns ``datetime64[D]``.
    """
    if rule not in MONTH_RULES:
        raise ImmexError(f"deadline rule {rule!r} is not one of {list(MONTH_RULES)}")
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


def months_or_fraction(start_dates, as_of) -> np.ndarray:
    """Months *or fraction* from each start date to ``as_of`` (CFF art. 21).

    The smallest ``n ≥ 0`` with ``start + n months ≥ as_of`` (clamp rule).
    2024-01-10 → 2024-03-05: 2; → 2024-03-10: 2; → 2024-03-11: 3.
    """
    as_of = as_timestamp(as_of)
    d = pd.DatetimeIndex(
        pd.to_datetime(start_dates if hasattr(start_dates, "dtype") else list(start_dates))
    )
    missing = np.asarray(d.isna())
    y = np.where(missing, as_of.year, np.asarray(d.year, dtype="float64")).astype(np.int64)
    mo = np.where(missing, as_of.month, np.asarray(d.month, dtype="float64")).astype(np.int64)
    m = (as_of.year - y) * 12 + (as_of.month - mo)  # whole calendar months apart
    cand = add_months(d, m.astype("float64"), rule="clamp")  # lands in as_of's month
    n = np.where(cand >= np.datetime64(as_of.date(), "D"), m, m + 1)
    n = np.maximum(n, 0)
    return np.where(missing, 0, n).astype(np.int64)


def month_labels(dates) -> np.ndarray:
    """``YYYY-MM`` of each date (vectorised; NaT → "")."""
    d = pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[M]")
    out = np.datetime_as_string(d, unit="M")
    return np.where(np.isnat(d), "", out)


# --------------------------------------------------------------------------- business days


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> np.datetime64:
    first = np.datetime64(f"{year:04d}-{month:02d}-01")
    offset = (weekday - (first.astype(object).weekday())) % 7
    return first + offset + 7 * (n - 1)


@lru_cache(maxsize=1)
def mx_holidays(first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> np.ndarray:
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
