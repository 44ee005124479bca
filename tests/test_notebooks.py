"""Both notebooks run top to bottom under papermill on a demo client, with no
widget front-end, and say what the package says.

Each notebook glues its headline numbers in a last cell tagged ``kpis``
(``application/json``); the tests compare them with the package's own
computation on the same folder, check that the plotly figures are in the
outputs (JSON for JupyterLab and HTML for nbconvert, with plotly.js embedded
once so the HTML works offline), and that the committed notebooks carry no
outputs and keep their ``parameters`` tag.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
DEMO_CLIENT = "electronica-norte"
PLOTLY_JSON = "application/vnd.plotly.v1+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory) -> Path:
    """The committed demo client, or the same client generated when the
    data folder is absent."""
    folder = ROOT / "data" / "demo" / DEMO_CLIENT
    if (folder / "imports.csv").exists():
        return folder
    from immex_nb.samples.demo import write_demo

    root = tmp_path_factory.mktemp("demo")
    write_demo(root)
    return root / DEMO_CLIENT


def execute(name: str, out_dir: Path, parameters: dict) -> nbformat.NotebookNode:
    import papermill as pm

    out = out_dir / f"{name}.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(out),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(NOTEBOOKS),
        progress_bar=False,
        store_widget_state=False,  # the FigureWidgets' state holds plotly.js once per figure
    )
    return nbformat.read(out, as_version=4)


def tagged(nb, tag: str):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}"
    return cells[0]


def glued(nb) -> dict:
    (out,) = tagged(nb, "kpis").outputs
    return out["data"]["application/json"]


def outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def figures(nb) -> list[dict]:
    return [o["data"][PLOTLY_JSON] for o in outputs(nb) if PLOTLY_JSON in o.get("data", {})]


def figure_titled(nb, title: str) -> dict:
    found = [
        f for f in figures(nb) if f["layout"].get("title", {}).get("text", "").startswith(title)
    ]
    assert found, f"no figure titled {title!r}"
    return found[0]


def assert_renders_offline(nb) -> None:
    """No error; every figure also as HTML; plotly.js itself embedded exactly once."""
    assert not [o for o in outputs(nb) if o["output_type"] == "error"]
    html = [o["data"].get("text/html", "") for o in outputs(nb) if "data" in o]
    plotly_figs = [o for o in outputs(nb) if PLOTLY_JSON in o.get("data", {})]
    assert all("Plotly.newPlot" in o["data"]["text/html"] for o in plotly_figs)
    bundles = [h for h in html if len(h) > 1_000_000]  # plotly.min.js is ~4.8 MB
    assert len(bundles) == 1 and "window.Plotly = Plotly" in bundles[0]
    assert not any(
        'src="http' in o["data"]["text/html"] for o in plotly_figs
    )  # nothing fetched from a CDN


def test_kernel_resolves_to_this_environment():
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    assert km.format_kernel_cmd()[0] == sys.executable


def test_committed_notebooks_have_no_outputs_and_keep_tags():
    for name in ("exposure", "duty_vs_vat"):
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code), name
        params = tagged(nb, "parameters")
        assert "client_dir" in params.source
        tagged(nb, "kpis")
        assert 'pio.renderers.default = "plotly_mimetype+immex_nb_offline"' in "".join(
            c.source for c in code
        )


@pytest.mark.slow
def test_exposure_notebook(client_dir, tmp_path):
    from immex_nb.exposure import exposure_for
    from immex_nb.kpis import headline_kpis
    from immex_nb.load import load

    as_of = "2026-10-31"
    nb = execute(
        "exposure", tmp_path, {"client_dir": str(client_dir), "as_of": as_of, "lang": "en"}
    )
    assert_renders_offline(nb)

    ledger = load(client_dir)
    exposure, result = exposure_for(ledger, as_of)
    expected = headline_kpis(result, exposure, ledger.rejects)
    kpis = glued(nb)
    assert kpis == expected  # JSON keeps floats exactly; same data, same code
    assert kpis["as_of"] == as_of and kpis["open_lines"] > 0

    # the figures are the package's: the ageing bars add up to the open value,
    # the waterfall's last bar is the exposure total
    assert len(figures(nb)) >= 8
    ageing = figure_titled(nb, "Open value by time left to the deadline")
    assert sum(sum(t["y"]) for t in ageing["data"]) == pytest.approx(kpis["open_value_mxn"])
    waterfall = figure_titled(nb, "Tax exposure if open balances were regularised today")
    assert waterfall["data"][0]["y"][-1] == pytest.approx(kpis["exposure_total_mxn"])
    assert figure_titled(nb, "Open value by origin and part")["data"][0]["type"] == "treemap"
    # the explorer was built and displayed: a widget view for JupyterLab, and
    # a note instead of the widget's repr where no widget can be drawn
    (view,) = [o for o in outputs(nb) if WIDGET_VIEW in o.get("data", {})]
    assert view["data"]["text/plain"].startswith(
        "[Interactive controls: open this notebook in JupyterLab"
    )


@pytest.mark.slow
def test_exposure_notebook_in_spanish_without_widgets(client_dir, tmp_path):
    nb = execute(
        "exposure", tmp_path, {"client_dir": str(client_dir), "lang": "es", "interactive": False}
    )
    assert_renders_offline(nb)
    figure_titled(nb, "Valor abierto por tiempo restante al vencimiento")
    assert not any(WIDGET_VIEW in o.get("data", {}) for o in outputs(nb))
    # the prose follows the language too: every Markdown output is Spanish
    from report.visible import ONLY_EN

    prose = " ".join(
        "".join(o["data"]["text/markdown"])
        for o in outputs(nb)
        if "text/markdown" in o.get("data", {})
    )
    assert "Exposición IMMEX" in prose and "Faltantes y renglones rechazados" in prose
    assert not {w.lower() for w in prose.split()} & ONLY_EN
    # the demo client's one reject (an A1 filed as an import), its reason in Spanish
    cells = str(figure_titled(nb, "Renglones rechazados (1)")["data"][0]["cells"]["values"])
    assert "clave A1 (Importación definitiva): no forma parte del control IMMEX" in cells


@pytest.mark.slow
def test_duty_vs_vat_notebook(client_dir, tmp_path):
    from immex_nb import savings as S
    from immex_nb.discharge import discharge
    from immex_nb.load import load
    from immex_nb.widgets import make_scenario

    params = {
        "client_dir": str(client_dir),
        "period_start": "2025-11-01",
        "period_end": "2026-10-31",
        "cost_of_capital": 0.15,
        "refund_lag_months": 3.0,
        "tariff_shock": 0.1,
        "lang": "en",  # the notebook is Spanish by default
    }
    nb = execute("duty_vs_vat", tmp_path, params)
    assert_renders_offline(nb)

    ledger = load(client_dir)
    s = ledger.settings
    res = discharge(
        ledger.imports,
        ledger.exports,
        ledger.bom,
        as_of="2026-10-31",
        deadline_rule=s.deadline_rule,
        oea=s.oea,
    )
    scenario = make_scenario(s, cost_of_capital=0.15, refund_lag_months=3.0, tariff_shock=0.1)
    expected = S.savings(
        res, scenario, start="2025-11-01", end="2026-10-31", exports=ledger.exports
    )
    kpis = glued(nb)
    assert kpis["years"] == 1.0
    assert kpis["certification_value_per_year"] == pytest.approx(expected.certification_value)
    assert kpis["immex_value_per_year"] == pytest.approx(expected.immex_value)
    assert kpis["tmec_payable_mxn"] == pytest.approx(expected.metric("tmec_payable"))
    assert kpis["totals_mxn"] == pytest.approx(
        {
            str(r): float(t)
            for r, t in zip(expected.totals["regime"], expected.totals["total_mxn"], strict=True)
        }
    )

    bars = figure_titled(nb, "Cost per year by VAT regime")
    assert {t["type"] for t in bars["data"]} == {"bar"}
    per_regime = pd.DataFrame(
        [(x, y) for t in bars["data"] for x, y in zip(t["x"], t["y"], strict=True)]
    )
    assert per_regime.groupby(0)[1].sum().to_dict() == pytest.approx(kpis["totals_mxn"])
    heat = figure_titled(nb, "What the VAT certification is worth a year")
    assert heat["data"][0]["type"] == "heatmap"
    conclusion = [
        o["data"]["text/html"]
        for o in outputs(nb)
        if "is worth MXN" in o.get("data", {}).get("text/html", "")
    ]
    assert conclusion and f"MXN {expected.certification_value:,.0f} a year" in conclusion[0]
    assert any(WIDGET_VIEW in o.get("data", {}) for o in outputs(nb))
    json.dumps(kpis)
