"""How numbers read everywhere: figures, widgets, the report page, its index.

A consultant compares a hover in a notebook with a cell of the monthly report
and the sentence of a conclusion; all three must say the same thing, so all
three format through this module.  One convention:

* money rounds to whole pesos/dollars, thousands with commas, the currency
  first and the sign after it: ``MXN 1,234,568``, ``MXN -1,234`` (a value
  that rounds to zero is ``MXN 0``, never ``MXN -0``); ``currency=""`` gives
  the bare number for table cells whose header names the currency;
* short money for bar labels: ``MXN 45.6 k``, ``MXN 1.23 M``, ``MXN 2.50 B``;
* percentages from fractions: ``0.0825`` → ``8.2%``;
* counts: ``1,234``; quantities: up to four decimals, trailing zeros dropped;
* dates ISO: ``2026-03-31``;
* with a language (``lang="es"|"en"``, the monthly report and its index) money
  reads as a Mexican reader writes it, the peso sign first and the currency
  after: ``$1,234,568 MXN``, ``-$1,234 MXN``, ``$12,345 USD``; dates in table
  cells ``31/10/2026`` (es) or ``2026-10-31`` (en), in sentences
  ``31 de octubre de 2026`` / ``October 31, 2026`` (:func:`long_date`);
* a missing value (``None``, NaN, ``NaT``, ``pd.NA``) is an en dash ``–``.

Worked examples (full precision stays in ``kpis.json`` and ``annex.xlsx``)::

    >>> money(1234567.891)
    'MXN 1,234,568'
    >>> money(-1234.4)
    'MXN -1,234'
    >>> money(1234567.891, "USD", decimals=2)
    'USD 1,234,567.89'
    >>> money(1234567.891, short=True)
    'MXN 1.23 M'
    >>> money(float("nan"))
    '–'
    >>> percent(0.8312)
    '83.1%'
    >>> format_value(0.8312, "ratio")
    '83.1%'
    >>> format_change(120.0, 100.0, "MXN")
    '+20 (+20.0%)'
    >>> money(1234567.891, lang="es")
    '$1,234,568 MXN'
    >>> long_date("2026-10-31", "es")
    '31 de octubre de 2026'
    >>> long_date("2026-10-31", "en")
    'October 31, 2026'
"""

from __future__ import annotations

import numbers

import pandas as pd

from immex_nb.text import check_lang, t

#: what a missing value reads as
MISSING = "–"

#: units a KPI may carry (:func:`format_value`)
UNITS = ("MXN", "USD", "count", "ratio", "days", "qty")


def is_missing(value: object) -> bool:
    """``None``, NaN, ``NaT`` and ``pd.NA`` are missing; anything else is not."""
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays, odd objects
        return False


def _signed(body: str, negative: bool) -> str:
    return f"-{body}" if negative else body


def money(
    value: object,
    currency: str = "MXN",
    *,
    decimals: int = 0,
    short: bool = False,
    lang: str | None = None,
) -> str:
    """``1234567.891`` → ``"MXN 1,234,568"``; ``-1234.4`` → ``"MXN -1,234"``;
    ``short=True`` → ``"MXN 1.23 M"``; ``currency=""`` → ``"1,234,568"``;
    missing → ``"–"``.  With ``lang`` (report pages): ``"$1,234,568 MXN"``,
    ``"-$1,234 MXN"``, ``"$1.23 M MXN"``."""
    if is_missing(value):
        return MISSING
    v = float(value)  # type: ignore[arg-type]
    a = abs(v)
    if short and a >= 1e3:
        if a >= 1e9:
            body = f"{a / 1e9:.2f} B"
        elif a >= 1e6:
            body = f"{a / 1e6:.2f} M"
        else:
            body = f"{a / 1e3:.1f} k"
    else:
        body = f"{a:,.{0 if short else decimals}f}"
    nonzero = round(a, 0 if short else decimals) != 0
    if lang is not None and currency:
        check_lang(lang)
        return f"{_signed('$' + body, v < 0 and nonzero)} {currency}"
    number = _signed(body, v < 0 and nonzero)
    return f"{currency} {number}" if currency else number


def percent(value: object, decimals: int = 1) -> str:
    """A fraction as a percentage: ``0.0825`` → ``"8.2%"``; missing → ``"–"``."""
    if is_missing(value):
        return MISSING
    return f"{float(value) * 100:.{decimals}f}%"  # type: ignore[arg-type]


def count(value: object) -> str:
    """A whole number with thousands separators: ``1234`` → ``"1,234"``."""
    if is_missing(value):
        return MISSING
    return f"{float(value):,.0f}"  # type: ignore[arg-type]


def quantity(value: object, decimals: int = 4) -> str:
    """``1500.0`` → ``"1,500"``, ``2.125`` → ``"2.125"``, ``1/3`` → ``"0.3333"``."""
    if is_missing(value):
        return MISSING
    v = float(value)  # type: ignore[arg-type]
    if v == round(v):
        return f"{v:,.0f}"
    return f"{v:,.{decimals}f}".rstrip("0").rstrip(".")


def date(value: object, lang: str | None = None) -> str:
    """``Timestamp("2026-03-31 00:00")`` → ``"2026-03-31"`` (``lang="es"``:
    ``"31/03/2026"``); text that is no date is returned as it is."""
    if is_missing(value):
        return MISSING
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if lang is not None:
        return t("date.short", lang, day=ts.day, month=ts.month, year=ts.year)
    return ts.strftime("%Y-%m-%d")


def long_date(value: object, lang: str) -> str:
    """``2026-10-31`` → ``"31 de octubre de 2026"`` / ``"October 31, 2026"``."""
    if is_missing(value):
        return MISSING
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    return t("date.long", lang, day=ts.day, month=t(f"month.{ts.month}", lang), year=ts.year)


def month_year(value: object, lang: str) -> str:
    """A date or ``YYYY-MM`` → ``"octubre de 2026"`` / ``"October 2026"``."""
    ts = pd.Timestamp(str(value) + "-01" if len(str(value)) == 7 else value)  # type: ignore[arg-type]
    return t("date.month_year", lang, month=t(f"month.{ts.month}", lang), year=ts.year)


def format_value(value: object, unit: str = "", lang: str | None = None) -> str:
    """A KPI value in its unit (one of :data:`UNITS`; anything else: two decimals);
    ``lang`` gives money the report's style (:func:`money`)."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if unit in ("MXN", "USD"):
        return money(value, unit, lang=lang)
    if unit == "ratio":
        return percent(value)
    if unit in ("count", "days"):
        return count(value)
    if unit == "qty":
        return quantity(value)
    return f"{float(value):,.2f}"


def format_change(value: object, previous: object, unit: str = "", lang: str | None = None) -> str:
    """Month-over-month change as text: absolute, and relative when it means something."""
    lang = lang or "en"
    if is_missing(value) or is_missing(previous):
        return t("fmt.no_previous", lang)
    v, p = float(value), float(previous)  # type: ignore[arg-type]
    d = v - p
    if abs(d) < 0.005:
        return t("fmt.no_change", lang)
    if unit == "ratio":
        return f"{d * 100:+.1f} {t('fmt.points', lang)}"
    absolute = f"{d:+,.0f}" if unit in ("MXN", "USD", "count", "days") else f"{d:+,.2f}"
    if p != 0:
        return f"{absolute} ({d / abs(p) * 100:+.1f}%)"
    return absolute
