"""The report's shortcuts give the same numbers as the long way (issue 15).

The report computes T-MEC 2.5 once per snapshot and takes the month's and the
year's savings rows from it, and drops the previous month's allocations once
its figures are computed.  Each shortcut is checked here against the plain
call on a bundled demo client (no timings: ``bench/bench_report.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from immex_nb.dates import Period
from immex_nb.load import load
from immex_nb.report import data as D
from immex_nb.savings import Scenario, savings
from immex_nb.tmec import tmec_25

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "electronica-norte"
PERIOD = Period.parse("2026-10")


@pytest.fixture(scope="module")
def snap():
    ledger = load(DEMO)
    return ledger, D.snapshot(ledger, pd.Timestamp(PERIOD.end))


@pytest.mark.parametrize("prosec", [True, False])
@pytest.mark.parametrize("months", [1, 10])
def test_savings_from_the_ledgers_tmec_lines_is_the_same(snap, prosec, months):
    ledger, s = snap
    r = s.result
    start, end = PERIOD.shifted(1 - months).start, PERIOD.end
    sc = Scenario(prosec=prosec)
    exports = ledger.exports.loc[pd.to_datetime(ledger.exports["date"]) <= pd.Timestamp(end)]
    lines = tmec_25(r.allocations, r.balances, exports, prosec=prosec)
    plain = savings(r, sc, start=start, end=end, exports=exports)
    quick = savings(r, sc, start=start, end=end, exports=exports, tmec_lines=lines)
    assert plain.metric("tmec_payable") > 0
    for name in ("regimes", "totals", "summary", "tmec"):
        assert_frame_equal(getattr(quick, name), getattr(plain, name))


def test_savings_ignores_tmec_lines_under_a_tariff_shock(snap):
    ledger, s = snap
    r = s.result
    sc = Scenario(tariff_shock={"igi_rate": 0.5})
    start, end = PERIOD.start, PERIOD.end
    wrong = r.allocations.iloc[0:0]  # would give no T-MEC lines at all if it were used
    plain = savings(r, sc, start=start, end=end, exports=ledger.exports)
    quick = savings(r, sc, start=start, end=end, exports=ledger.exports, tmec_lines=wrong)
    assert_frame_equal(quick.summary, plain.summary)


def test_previous_month_keeps_balances_and_figures_not_allocations():
    data = D.build_report_data(DEMO, str(PERIOD), language="es")
    prev = data.previous.result
    assert len(prev.allocations) == 0
    assert list(prev.allocations.columns) == list(data.current.result.allocations.columns)
    assert len(prev.balances) and data.previous_kpis
    assert data.anexo30 is not None  # built from the previous balances


def test_papermill_is_imported_without_hiding_rfc3987_syntax_for_good():
    from immex_nb.report import batch

    batch._import_jupyter()
    assert "papermill" in sys.modules
    assert sys.modules.get("rfc3987_syntax", "absent") is not None


def test_release_memory_is_harmless():
    D.release_memory()
    D.release_memory()
