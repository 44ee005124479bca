"""Widget callbacks without a browser: set a control's ``.value``, check the
FigureWidget data changed the way the numbers say."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import pandas as pd
import plotly.graph_objects as go
import pytest
from test_figures import exposure_frame

from immex_nb import widgets as W


def bar_total(fig) -> float:
    return sum(sum(t.y) for t in fig.data if t.type == "bar")


# --------------------------------------------------------------------------- update_figure


def test_update_figure_restyles_in_place_or_replaces_traces():
    target = W.to_widget(go.Figure(go.Bar(x=["a"], y=[1.0], name="one")))
    assert isinstance(target, go.FigureWidget)
    uid = target.data[0].uid
    W.update_figure(
        target,
        go.Figure(go.Bar(x=["a", "b"], y=[2.0, 3.0], name="two")).update_layout(title_text="T"),
    )
    assert target.data[0].uid == uid  # same trace object, restyled
    assert list(target.data[0].y) == [2.0, 3.0] and target.data[0].name == "two"
    assert target.layout.title.text == "T"
    W.update_figure(target, go.Figure([go.Scatter(y=[1]), go.Scatter(y=[2])]))
    assert [t.type for t in target.data] == ["scatter", "scatter"]


# --------------------------------------------------------------------------- exposure explorer


def fake_ledger() -> SimpleNamespace:
    imports = pd.DataFrame(
        {"material_type": ["MP", "EE", "MP", "AF"], "origin": ["CHN", "CHN", "USA", "DEU"]}
    )
    return SimpleNamespace(imports=imports, rejects=pd.DataFrame({"file": ["imports.csv"]}))


def fake_compute(calls: list):
    """As of 2025-06-30 the test frame of test_figures (open 470,000 MXN); as of
    any later date the same lines with every value doubled."""

    def compute(ts: pd.Timestamp):
        calls.append(ts)
        exp = exposure_frame()
        exp = exp[exp["open"] > 0].reset_index(drop=True)
        if ts > pd.Timestamp("2025-06-30"):
            for c in ("open_value_mxn", "open_value_usd", "igi", "dta", "iva", "total"):
                exp[c] = exp[c] * 2
        result = SimpleNamespace(
            balances=exp, shortfalls=pd.DataFrame(), allocations=pd.DataFrame(), as_of=ts
        )
        return exp, result

    return compute


def test_explorer_starts_with_everything_selected():
    calls = []
    box, ex = W.build_exposure_explorer(fake_ledger(), "2025-06-30", compute=fake_compute(calls))
    assert calls == [pd.Timestamp("2025-06-30")]
    assert set(ex.figures) == {"kpis", "ageing", "calendar", "waterfall", "treemap", "top"}
    assert all(isinstance(f, go.FigureWidget) for f in ex.figures.values())
    assert all(f in box.children for f in ex.figures.values())
    assert ex.category.value == ("MP", "EE", "AF")
    assert [label for label, _ in ex.category.options][0] == "Inputs / raw materials (MP)"
    assert ex.origin.value == ("CHN", "DEU", "USA")  # China, Germany, United States (by label)
    assert math.isclose(bar_total(ex.figures["ageing"]), 470_000.0)
    assert ex.figures["kpis"].data[0].value == 470_000.0
    assert ex.figures["kpis"].data[5].value == 1.0  # one reject
    assert "MXN 470,000" in ex.summary.value


def test_category_filter_updates_figures_in_place():
    box, ex = W.build_exposure_explorer(fake_ledger(), "2025-06-30", compute=fake_compute([]))
    ageing = ex.figures["ageing"]
    ex.category.value = ("MP",)  # MP: 100,000 expired + 50,000 in 31–60 days
    assert ex.figures["ageing"] is ageing
    assert [t.name for t in ageing.data] == ["Inputs / raw materials (MP)"]
    assert math.isclose(bar_total(ageing), 150_000.0)
    # waterfall total: the two MP lines' ``total``
    expected = exposure_frame().query("material_type == 'MP' and open > 0")["total"].sum()
    assert math.isclose(ex.figures["waterfall"].data[0].y[-1], expected)
    assert ex.figures["kpis"].data[1].value == 100_000.0  # expired


def test_origin_filter_and_empty_selection():
    box, ex = W.build_exposure_explorer(fake_ledger(), "2025-06-30", compute=fake_compute([]))
    ex.origin.value = ("USA",)
    assert math.isclose(bar_total(ex.figures["ageing"]), 50_000.0)
    tm = ex.figures["treemap"].data[0]
    assert dict(zip(tm.ids, tm.values, strict=True))["all"] == 50_000.0
    ex.origin.value = ()
    assert ex.figures["ageing"].layout.annotations[0].text == "Nothing to show"
    assert ex.figures["kpis"].data[0].value == 0.0


def test_as_of_change_recomputes_once_per_date():
    calls = []
    box, ex = W.build_exposure_explorer(fake_ledger(), "2025-06-30", compute=fake_compute(calls))
    ex.as_of.value = dt.date(2025, 7, 31)
    assert math.isclose(bar_total(ex.figures["ageing"]), 940_000.0)
    ex.as_of.value = dt.date(2025, 6, 30)  # cached
    ex.as_of.value = dt.date(2025, 7, 31)  # cached
    assert calls == [pd.Timestamp("2025-06-30"), pd.Timestamp("2025-07-31")]
    assert ex.computations == 2
    ex.as_of.value = None  # cleared picker: figures stay
    assert math.isclose(bar_total(ex.figures["ageing"]), 940_000.0)


def test_explorer_in_spanish():
    box, ex = W.build_exposure_explorer(
        fake_ledger(), "2025-06-30", compute=fake_compute([]), lang="es"
    )
    assert ex.as_of.description == "Al corte"
    assert ex.figures["ageing"].data[0].name == "Insumos / materias primas (MP)"
    assert "partidas abiertas" in ex.summary.value
    with pytest.raises(ValueError, match="lang"):
        W.build_exposure_explorer(fake_ledger(), "2025-06-30", compute=fake_compute([]), lang="fr")


def test_explorer_on_a_loaded_client(tmp_path):
    """The default computation: load → discharge with the cut-off → exposure.

    Import 100 units of P-1 (MXN 17,000) on 2024-01-10, 40 returned on
    2024-03-01: as of 2024-06-30, 60 open worth MXN 10,200; moving the date
    before the export (2024-02-15) puts all 100 back: MXN 17,000.
    """
    from conftest import write_client_folder

    from immex_nb.load import load

    ledger = load(write_client_folder(tmp_path / "acme"))
    box, ex = W.build_exposure_explorer(ledger, "2024-06-30")
    assert math.isclose(bar_total(ex.figures["ageing"]), 10_200.0)
    ex.as_of.value = dt.date(2024, 2, 15)
    assert math.isclose(bar_total(ex.figures["ageing"]), 17_000.0)


# --------------------------------------------------------------------------- duty vs VAT


@pytest.fixture
def one_line_client(tmp_path):
    """2025: one import of MXN 100,000 from China (IGI 10 %, no PROSEC rate),
    half of it returned to Germany in June.  VAT on the import = 0.16 ×
    (100,000 + 10,000 IGI + 800 DTA) = 17,728."""
    from conftest import write_client_folder

    from immex_nb.discharge import discharge
    from immex_nb.load import load

    folder = write_client_folder(
        tmp_path / "uno",
        imports=[
            {
                "pedimento": "25 47 3420 5000001",
                "line": "1",
                "clave": "IN",
                "date": "2025-01-10",
                "part_number": "W-1",
                "quantity": "100",
                "value_usd": "5000",
                "value_mxn": "100000",
                "origin": "CHN",
                "material_type": "MP",
                "igi_rate": "0.10",
            }
        ],
        exports=[
            {
                "pedimento": "25 47 3420 5000009",
                "line": "1",
                "clave": "RT",
                "date": "2025-06-02",
                "part_number": "W-1",
                "quantity": "50",
                "value_usd": "3000",
                "destination": "DEU",
            }
        ],
    )
    ledger = load(folder)
    result = discharge(ledger.imports, ledger.exports, ledger.bom, as_of="2025-12-31")
    return ledger, result


def regime_value(fig, regime: str, component: str) -> float:
    (trace,) = [t for t in fig.data if t.name.startswith(component)]
    return trace.y[list(trace.x).index(regime)]


def test_make_scenario_maps_the_notebook_parameters():
    sc = W.make_scenario(
        SimpleNamespace(prosec=False, vat_certified=False), tariff_shock=0.15, cost_of_capital=0.1
    )
    assert sc.cost_of_capital == 0.1 and sc.prosec is False and sc.vat_certified is False
    assert sc.tariff_shock == {o: "+0.15" for o in ("CHN", "IND", "KOR", "VNM", "TWN")}
    assert W.make_scenario().tariff_shock == {}


def test_duty_vat_sliders_update_bars_heatmap_and_conclusion(one_line_client):
    ledger, result = one_line_client
    box, st = W.build_duty_vat_explorer(
        result,
        start="2025-01-01",
        end="2025-12-31",
        exports=ledger.exports,
        settings=ledger.settings,
        client="Uno",
    )
    regimes, heatmap = st.figures["regimes"], st.figures["heatmap"]
    assert isinstance(regimes, go.FigureWidget) and regimes in box.children
    # VAT paid in cash: 17,728 × 12 % × 2 / 12 = 354.56; guaranteed: 17,728 × 1 % = 177.28
    assert math.isclose(regime_value(regimes, "IMMEX, VAT paid in cash", "VAT"), 354.56)
    assert math.isclose(regime_value(regimes, "IMMEX, VAT guaranteed", "VAT"), 177.28)
    assert "MXN 355 a year for Uno" in st.conclusion.value
    hm = heatmap.data[0]
    assert math.isclose(hm.z[list(hm.y).index("2")][list(hm.x).index("12%")], 354.56)
    assert st.heatmap_runs == 1

    st.sliders["cost_of_capital"].value = 0.24  # doubles the financing cost; heatmap axes: no rerun
    assert math.isclose(regime_value(regimes, "IMMEX, VAT paid in cash", "VAT"), 709.12)
    assert "MXN 709 a year" in st.conclusion.value
    assert st.heatmap_runs == 1

    st.sliders["tariff_shock"].value = 0.15  # CHN: IGI 25 % → VAT 0.16 × 125,800 = 20,128
    assert math.isclose(
        regime_value(regimes, "IMMEX, VAT paid in cash", "VAT"), 20_128 * 0.24 * 2 / 12
    )
    assert math.isclose(regime_value(regimes, "No IMMEX (definitive imports)", "IGI"), 25_000.0)
    assert st.heatmap_runs == 2
    assert math.isclose(
        heatmap.data[0].z[list(hm.y).index("2")][list(hm.x).index("12%")], 20_128 * 0.12 * 2 / 12
    )


def test_duty_vat_explorer_in_spanish_and_bad_defaults(one_line_client):
    ledger, result = one_line_client
    box, st = W.build_duty_vat_explorer(
        result,
        start="2025-01-01",
        end="2025-12-31",
        exports=ledger.exports,
        client="Uno",
        lang="es",
        refund_lag_months=3.0,
    )
    assert st.sliders["refund_lag_months"].value == 3.0
    assert st.sliders["cost_of_capital"].description == "Costo de capital"
    assert "IMMEX, IVA pagado" in st.figures["regimes"].data[0].x
    assert "vale MXN 532 al año para Uno" in st.conclusion.value  # 17,728 × 12 % × 3/12 = 531.84
    with pytest.raises(ValueError, match="unknown scenario default"):
        W.build_duty_vat_explorer(result, start="2025-01-01", end="2025-12-31", cost_of_kapital=0.1)
