"""Number formatting shared by the report page, the index and the annex.

Money rounds to whole pesos/dollars for reading (full precision stays in
``kpis.json`` and ``annex.xlsx``)::

    >>> format_value(1234567.891, "MXN")
    'MXN 1,234,568'
    >>> format_value(0.8312, "ratio")
    '83.1%'
    >>> format_change(120.0, 100.0, "MXN")
    '+20 (+20.0%)'
"""

from __future__ import annotations

import math

#: units a KPI may carry
UNITS = ("MXN", "USD", "count", "ratio", "days", "qty")


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def format_value(value: object, unit: str = "") -> str:
    if _is_missing(value):
        return "–"
    if not isinstance(value, int | float):
        return str(value)
    v = float(value)
    if unit in ("MXN", "USD"):
        return f"{unit} {v:,.0f}"
    if unit == "ratio":
        return f"{v * 100:.1f}%"
    if unit in ("count", "days"):
        return f"{v:,.0f}"
    if unit == "qty":
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{v:,.2f}"


def format_change(value: object, previous: object, unit: str = "") -> str:
    """Month-over-month change as text: absolute, and relative when it means something."""
    if _is_missing(value) or _is_missing(previous):
        return "no previous month"
    v, p = float(value), float(previous)  # type: ignore[arg-type]
    d = v - p
    if abs(d) < 0.005:
        return "no change"
    if unit == "ratio":
        return f"{d * 100:+.1f} pts"
    absolute = f"{d:+,.0f}" if unit in ("MXN", "USD", "count", "days") else f"{d:+,.2f}"
    if p != 0:
        return f"{absolute} ({d / abs(p) * 100:+.1f}%)"
    return absolute
