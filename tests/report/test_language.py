"""One language per page: a Spanish and an English monthly report of a demo
client, rendered through the real template notebook, and the index, hold no
word of the other language — text, tables, badges, buckets, figures (titles,
axes, legends, hover) and footer (docs/report.md).  The same run checks the
letterhead (firm.toml, client identity), the consultant's notes and the
sign-off."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from report.visible import foreign_words, visible_words

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "immex_nb" / "notebooks" / "monthly_report.ipynb"
DEMO = REPO / "data" / "demo" / "electronica-norte"
PERIOD = "2026-10"


def open_value_text(client: Path, lang: str) -> str:
    """The open value as ``immex-nb discharge --as-of`` the period's last day
    computes it (ClientRun, the one orchestrator), as a report page writes it."""
    from immex_nb import fmt, load
    from immex_nb.run import ClientRun

    balances = ClientRun(load(client), "2026-10-31").discharge.balances
    return fmt.money(balances["open_value_mxn"].sum(), lang=lang)


LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#1F3A5F"/></svg>'
NOTES = """Revisamos con la planta los **4 pedimentos vencidos**.

| Pedimento | Acción |
|---|---|
| 25 40 3420 5057154 | A3 esta semana |

<script>alert("nota")</script>
"""
IDENTITY = """legal_name = "Electrónica del Norte, S.A. de C.V."
rfc = "ENO100101AB1"
immex_program = "IMMEX 2010-1234"
plant_address = "Av. Industrial 100, Apodaca, N.L."
prepared_by = "Ana Torres"
"""
FIRM = """name = "Consultores Aduanales Norte"
logo = "logo.svg"
primary_color = "#1F3A5F"
contact = "comercio@example.mx"
reviewed_by = "Luis Garza"
"""

BAD_IMPORT = "26 40 3420 6199999,1,IN,2026-10-05,EN-TRAY-ESD,Charola,39231099,PZA,-40,1,17,CHN,EE,0.1,0,false\n"
#: the reason of BAD_IMPORT's reject as each page says it (docs/rules/validation.md)
REASON = {
    "es": "quantity debe ser mayor que 0; se recibió -40",
    "en": "quantity must be greater than 0, got -40",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lang") / "data"
    folder = root / DEMO.name
    shutil.copytree(DEMO, folder)
    with (folder / "client.toml").open("a", encoding="utf-8") as fh:
        fh.write(IDENTITY)
    with (folder / "imports.csv").open("a", encoding="utf-8") as fh:  # a reject, with its reason
        fh.write(BAD_IMPORT)
    (folder / "notes").mkdir()
    (folder / "notes" / f"{PERIOD}.md").write_text(NOTES, encoding="utf-8")
    (root / "firm.toml").write_text(FIRM, encoding="utf-8")
    (root / "logo.svg").write_text(LOGO, encoding="utf-8")
    return folder


def _render(folder: Path, lang: str, work: Path) -> str:
    import papermill as pm

    from immex_nb.report.render import notebook_to_html

    work.mkdir(parents=True, exist_ok=True)
    nb = work / f"report-{lang}.ipynb"
    pm.execute_notebook(
        str(TEMPLATE),
        str(nb),
        parameters={
            "client": folder.name,
            "period": PERIOD,
            "data_dir": str(folder),
            "language": lang,
            "output_dir": "",
        },
        kernel_name="python3",
        progress_bar=False,
        cwd=str(work),
    )
    return notebook_to_html(nb, title="report")


@pytest.fixture(scope="module")
def pages(client, tmp_path_factory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("lang-out")
    return {lang: _render(client, lang, work) for lang in ("es", "en")}


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["es", "en"])
def test_report_is_in_one_language(pages, lang):
    page = pages[lang]
    assert f'<html lang="{lang}">' in page
    assert foreign_words(page, lang) == set()
    words = visible_words(page)
    # the checker sees the figures' words too (axis titles, legends, hover)
    if lang == "es":
        assert {"vencimiento", "exposición", "partidas", "descargado"} <= words
    else:
        assert {"deadline", "exposure", "lines", "discharged"} <= words
    assert "Traceback" not in page
    assert REASON[lang] in page and REASON["en" if lang == "es" else "es"] not in page


@pytest.mark.slow
def test_letterhead_notes_and_sign_off(pages):
    es, en = pages["es"], pages["en"]
    for page in (es, en):
        assert "Consultores Aduanales Norte" in page and "comercio@example.mx" in page
        assert "ENO100101AB1" in page and "IMMEX 2010-1234" in page
        assert "Av. Industrial 100, Apodaca, N.L." in page
        assert 'src="data:image/svg+xml;base64,' in page
        assert "--ix-brand: #1F3A5F" in page
        assert "Ana Torres" in page and "Luis Garza" in page
        # the notes: Markdown rendered, raw HTML shown as text, never run
        assert "<strong>4 pedimentos vencidos</strong>" in page
        assert "<td>A3 esta semana</td>" in page
        assert '<script>alert("nota")</script>' not in page
        assert "&lt;script&gt;alert(" in page
    assert "Comentarios del consultor" in es and "Elaboró" in es and "Revisó" in es
    assert "Consultant's comments" in en and "Prepared by" in en
    assert "31 de octubre de 2026" in es and "October 31, 2026" in en
    client = Path(__file__).resolve().parents[2] / "data" / "demo" / "electronica-norte"
    assert open_value_text(client, "es") in es and open_value_text(client, "en") in en


@pytest.mark.parametrize("lang", ["es", "en"])
def test_index_is_in_one_language(client, tmp_path, lang):
    from immex_nb.report.data import build_report_data
    from immex_nb.report.index import write_index

    data = build_report_data(client, PERIOD, language="en" if lang == "es" else "es")
    folder = tmp_path / client.name / PERIOD
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"status": "ok"}), encoding="utf-8")
    (folder / "kpis.json").write_text(json.dumps(data.kpis_json()), encoding="utf-8")
    (folder / "report.html").write_text("<html></html>", encoding="utf-8")
    failed = SimpleNamespace(
        client="a..b", period=PERIOD, status="failed", reason="refused", seconds=None
    )
    page = write_index(tmp_path, [failed], lang=lang).read_text(encoding="utf-8")
    assert foreign_words(page, lang) == set()
    assert open_value_text(client, lang) in page
