"""Headline KPIs on a hand-built discharge result (the docstring's example)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from immex_nb.kpis import KPI_KEYS, headline_kpis


def result() -> SimpleNamespace:
    """Open lines A 100,000 expired; B 50,000 due in 40 days; C 20,000 due in
    200 days; AF line D 300,000 (no deadline); E closed."""
    balances = pd.DataFrame(
        {
            "import_pedimento": ["p1", "p2", "p3", "p4", "p5"],
            "import_line": [1, 1, 1, 1, 1],
            "open": [10.0, 5.0, 2.0, 1.0, 0.0],
            "expired": [True, False, False, False, False],
            "days_to_deadline": pd.array([-10, 40, 200, None, 15], dtype="Int64"),
            "open_value_mxn": [100_000.0, 50_000.0, 20_000.0, 300_000.0, 0.0],
            "open_value_usd": [5_000.0, 2_500.0, 1_000.0, 15_000.0, 0.0],
        }
    )
    shortfalls = pd.DataFrame(
        {
            "export_pedimento": ["e1", "e1", "e2"],
            "export_line": [1, 1, 3],
            "part_number": ["a", "b", "a"],
            "quantity": [1.0, 2.0, 3.0],
        }
    )
    allocations = pd.DataFrame({"late": [True, False, True]})
    return SimpleNamespace(
        balances=balances,
        shortfalls=shortfalls,
        allocations=allocations,
        as_of=pd.Timestamp("2025-06-30"),
    )


def exposure() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "status": ["expired", "in_time", "in_time", "in_time"],
            "igi": [10_000.0, 0.0, 0.0, 1.0],
            "dta": [800.0, 400.0, 160.0, 0.0],
            "iva": [1.0, 2.0, 3.0, 4.0],
            "actualizacion": [0.0] * 4,
            "recargos": [100.0, 0.0, 0.0, 0.0],
            "multa": [0.0] * 4,
            "total": [10_901.0, 402.0, 163.0, 5.0],
        }
    )


def test_headline_kpis_worked_example():
    rejects = pd.DataFrame({"file": ["imports.csv"] * 2, "row": [3, 9]})
    k = headline_kpis(result(), exposure(), rejects)
    assert list(k) == list(KPI_KEYS)
    assert k["as_of"] == "2025-06-30"
    assert (k["open_lines"], k["open_value_mxn"], k["open_value_usd"]) == (4, 470_000.0, 23_500.0)
    assert (k["expired_lines"], k["expired_value_mxn"], k["expired_value_usd"]) == (
        1,
        100_000.0,
        5_000.0,
    )
    # B only: C is 200 days out, D has no deadline, E is closed
    assert (k["due_lines"], k["due_value_mxn"]) == (1, 50_000.0)
    assert k["exposure_total_mxn"] == 11_471.0
    assert k["exposure_expired_mxn"] == 10_901.0 and k["exposure_in_time_mxn"] == 570.0
    assert k["exposure_igi_mxn"] == 10_001.0 and k["exposure_recargos_mxn"] == 100.0
    assert (k["shortfall_count"], k["shortfall_exports"]) == (3, 2)
    assert k["late_allocations"] == 2
    assert k["rejects_count"] == 2
    json.dumps(k)  # JSON-ready


def test_horizon_and_missing_inputs():
    k = headline_kpis(result(), None, None, horizon_days=365)
    assert (k["due_lines"], k["due_value_mxn"]) == (2, 70_000.0)
    assert k["exposure_total_mxn"] == 0.0 and k["exposure_lines"] == 0 and k["rejects_count"] == 0


def test_return_ratio_over_the_last_12_months():
    """As of 2026-06-30 the window is (2025-06-30, 2026-06-30].  Imports in it:
    600,000 (2025-09-01) + 400,000 (2026-03-01) = 1,000,000; the 2025-06-30
    line (500,000) falls just outside.  Discharged by exports in the window:
    300,000 (2025-12-01, drawn from the old line) + 550,000 (2026-06-30) =
    850,000; the 2025-05-01 export (90,000) is outside → 0.85, above 0.80."""
    from immex_nb.kpis import return_ratio

    balances = pd.DataFrame(
        {
            "import_date": pd.to_datetime(["2025-06-30", "2025-09-01", "2026-03-01"]),
            "value_mxn": [500_000.0, 600_000.0, 400_000.0],
        }
    )
    allocations = pd.DataFrame(
        {
            "export_date": pd.to_datetime(["2025-05-01", "2025-12-01", "2026-06-30"]),
            "value_mxn": [90_000.0, 300_000.0, 550_000.0],
        }
    )
    r = SimpleNamespace(
        balances=balances, allocations=allocations, as_of=pd.Timestamp("2026-06-30")
    )
    assert return_ratio(r) == 0.85
    nothing_in = SimpleNamespace(
        balances=balances.iloc[:1], allocations=allocations, as_of=pd.Timestamp("2026-06-30")
    )
    assert return_ratio(nothing_in) is None


def test_return_ratio_counts_only_the_kinds_that_count():
    """Same window as above, 1,000,000 MXN in.  Out: RT 300,000 (return), V1
    200,000 (virtual transfer), F4 150,000 (change of regime), A3 100,000
    (regularisation).  By default (docs/rules/claves.md: returns and virtual
    transfers count, UNCONFIRMED) 500,000 → 0.50; with ratio_kinds=("return",)
    300,000 → 0.30; counting changes of regime too adds F4's 150,000 → 0.65."""
    from immex_nb.kpis import return_ratio

    balances = pd.DataFrame(
        {
            "import_date": pd.to_datetime(["2025-09-01", "2026-03-01"]),
            "value_mxn": [600_000.0, 400_000.0],
        }
    )
    allocations = pd.DataFrame(
        {
            "export_date": pd.to_datetime(["2025-12-01"] * 4),
            "export_clave": ["RT", "V1", "F4", "A3"],
            "value_mxn": [300_000.0, 200_000.0, 150_000.0, 100_000.0],
        }
    )
    r = SimpleNamespace(
        balances=balances, allocations=allocations, as_of=pd.Timestamp("2026-06-30")
    )
    assert return_ratio(r) == pytest.approx(0.50)
    assert return_ratio(r, ratio_kinds=("return",)) == pytest.approx(0.30)
    assert return_ratio(r, ratio_kinds=("return", "virtual_transfer", "regime_change")) == (
        pytest.approx(0.65)
    )


def test_a_client_claves_table_can_make_a_kind_count(tmp_path):
    from immex_nb.claves import Claves
    from immex_nb.kpis import return_ratio

    (tmp_path / "claves.csv").write_text(
        "side,clave,in_ledger,kind,counts_as_return\nexports,F4,true,regime_change,true\n",
        encoding="utf-8",
    )
    balances = pd.DataFrame({"import_date": [pd.Timestamp("2026-01-01")], "value_mxn": [100.0]})
    allocations = pd.DataFrame(
        {
            "export_date": [pd.Timestamp("2026-02-01")] * 2,
            "export_clave": ["F4", "A3"],
            "value_mxn": [30.0, 20.0],
        }
    )
    r = SimpleNamespace(
        balances=balances, allocations=allocations, as_of=pd.Timestamp("2026-06-30")
    )
    assert return_ratio(r) == 0.0
    assert return_ratio(r, claves=Claves.load(tmp_path)) == pytest.approx(0.30)
