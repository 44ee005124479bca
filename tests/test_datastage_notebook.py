"""notebooks/datastage.ipynb runs under papermill on a demo client and shows the planted differences."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from immex_nb.samples.datastage import example_ledger, write_demo_datastage

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "datastage.ipynb"
DEMO = ROOT / "data" / "demo" / "electronica-norte"


def test_notebook_is_commit_ready():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "notebook_connected" not in NOTEBOOK.read_text(encoding="utf-8")


def _client(tmp_path: Path) -> Path:
    client = tmp_path / "client"
    if (DEMO / "imports.csv").exists():
        client.mkdir()
        for name in ("imports.csv", "exports.csv", "bom.csv", "client.toml"):
            if (DEMO / name).exists():
                shutil.copy(DEMO / name, client / name)
    else:  # demo data not generated: the small example client
        client.mkdir()
        imports, exports = example_ledger()
        imports.to_csv(client / "imports.csv", index=False, date_format="%Y-%m-%d")
        exports.to_csv(client / "exports.csv", index=False, date_format="%Y-%m-%d")
    return client


def _texts(cell) -> str:
    """What a reader sees of a cell: its printed text, Markdown, HTML tables and
    its figures' titles, axes, legends and trace names."""
    from report.visible import _Text, figure_texts

    parts = []
    for o in cell.outputs:
        data = o.get("data", {})
        parts += [o.get("text", ""), data.get("text/markdown", "")]
        page = data.get("text/html", "")
        if "Plotly.newPlot" in page:
            parts += figure_texts(page)
        else:  # a table: its text without the <style> pandas puts before it
            parser = _Text()
            parser.feed(page)
            parts += parser.text
    return " ".join(parts)


def _run(tmp_path, lang):
    papermill = pytest.importorskip("papermill")
    client = _client(tmp_path)
    planted = write_demo_datastage(client).planted
    out = tmp_path / f"datastage-{lang}.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"client_dir": str(client), "datastage_path": "", "lang": lang},
        kernel_name="python3",
        cwd=str(ROOT),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    assert not [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    by_tag = {(c.metadata.get("tags") or [""])[0]: c for c in nb.cells if c.cell_type == "code"}
    return nb, by_tag, planted


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["es", "en"])
def test_notebook_runs_with_papermill_and_shows_the_findings_in_one_language(tmp_path, lang):
    """Spanish by default, English on request (docs/rules/datastage.md): prose,
    headers, differences, treatments, details and figures in one language."""
    from report.visible import ONLY_EN, ONLY_ES

    from immex_nb.text import t

    nb, by_tag, planted = _run(tmp_path, lang)
    summary = _texts(by_tag["compulsa-summary"])
    for issue in planted["issue"].unique():
        assert t(f"compulsa.{issue}", lang) in summary
    findings = _texts(by_tag["compulsa-findings"])
    for ped in planted["pedimento"].unique():
        assert ped in findings
    clave = {
        "es": "clave en el Anexo 24: IN; en el Data Stage: V1",
        "en": "Anexo 24 IN; Data Stage V1",
    }
    assert clave[lang] in findings
    for tag in ("taxes-figure", "rates-figure"):
        shown = "".join(o.get("data", {}).get("text/html", "") for o in by_tag[tag].outputs)
        assert "plotly" in shown.lower(), tag
    taxes = _texts(by_tag["taxes-by-month"])
    assert t("ds.treatment.credited", lang) in taxes and t("ds.treatment.deferred", lang) in taxes
    assert t("ds.fig.taxes_title", lang) in _texts(by_tag["taxes-figure"])
    words = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" not in (cell.metadata.get("tags") or []):
            found = re.findall(r"[A-Za-zÁÉÍÓÚÑáéíóúñü]+", _texts(cell))
            words |= {w.lower() for w in found if not w.isupper()}  # IN, AF, DTA: codes
    foreign = words & (ONLY_EN if lang == "es" else ONLY_ES)
    assert not foreign, sorted(foreign)
