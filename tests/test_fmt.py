"""The one formatter: the same number reads the same in a figure, a widget,
a conclusion and a cell of the report."""

import numpy as np
import pandas as pd
import pytest

from immex_nb import fmt
from immex_nb.report.sections import _cell


def test_money_one_convention():
    assert fmt.money(1234567.891) == "MXN 1,234,568"
    assert fmt.money(1234567.891, "USD", decimals=2) == "USD 1,234,567.89"
    # sign after the currency; a value rounding to zero has no sign
    assert fmt.money(-1234.4) == "MXN -1,234"
    assert fmt.money(-1500) == "MXN -1,500"
    assert fmt.money(-0.2) == "MXN 0"
    assert fmt.money(-0.004, decimals=2) == "MXN 0.00"
    # bare number for table cells whose header names the currency
    assert fmt.money(-1234.4, "") == "-1,234"
    assert fmt.money(np.float64(2_500.5), "") == "2,500"  # half to even, as Python's format


def test_money_short_for_bar_labels():
    assert fmt.money(1234567.891, short=True) == "MXN 1.23 M"
    assert fmt.money(45_600, "USD", short=True) == "USD 45.6 k"
    assert fmt.money(2.5e9, short=True) == "MXN 2.50 B"
    assert fmt.money(-45_600, short=True) == "MXN -45.6 k"
    assert fmt.money(999.4, short=True) == "MXN 999"
    assert fmt.money(-0.3, short=True) == "MXN 0"


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, pd.NaT])
def test_missing_is_an_en_dash_everywhere(missing):
    assert fmt.MISSING == "–"
    for f in (fmt.money, fmt.percent, fmt.count, fmt.quantity, fmt.date, fmt.format_value):
        assert f(missing) == "–", f
    assert fmt.money(missing, short=True) == "–"
    assert _cell(missing, "MXN") == "–" and _cell(missing, "date") == "–"


def test_percent_count_quantity_date():
    assert fmt.percent(0.8312) == "83.1%"
    assert fmt.percent(0.12, 0) == "12%"
    assert fmt.count(1234) == "1,234" and fmt.count(np.int64(7)) == "7"
    assert fmt.quantity(1500.0) == "1,500"
    assert fmt.quantity(2.125) == "2.125"
    assert fmt.quantity(1 / 3) == "0.3333"
    assert fmt.date(pd.Timestamp("2026-03-31")) == "2026-03-31"
    assert fmt.date("not a date") == "not a date"


def test_kpi_units_and_changes():
    assert fmt.format_value(1234567.891, "MXN") == "MXN 1,234,568"
    assert fmt.format_value(-1234.4, "MXN") == "MXN -1,234"
    assert fmt.format_value(0.8312, "ratio") == "83.1%"
    assert fmt.format_value(np.int64(12), "count") == "12"
    assert fmt.format_value(3.5, "qty") == "3.5"
    assert fmt.format_value("n/a", "MXN") == "n/a"
    assert fmt.format_change(120.0, 100.0, "MXN") == "+20 (+20.0%)"
    assert fmt.format_change(0.5, 0.4, "ratio") == "+10.0 pts"
    assert fmt.format_change(5.0, None, "count") == "no previous month"
    assert fmt.format_change(5.0, 5.0, "count") == "no change"


def test_report_cells_use_the_same_numbers():
    """A table cell is the money text without its currency (the header names it)."""
    assert _cell(-1234.4, "MXN") == "-1,234"
    assert _cell(1234567.891, "USD") == "1,234,568"
    assert _cell(0.2, "MXN-") == "–" and _cell(-1234.4, "MXN-") == "-1,234"
    assert _cell(0.165, "rate") == fmt.percent(0.165)
    assert _cell(pd.Timestamp("2026-01-05"), "date") == "2026-01-05"
    assert _cell(12345, "int") == "12,345"
    assert _cell("<b>", "text") == "&lt;b&gt;"
