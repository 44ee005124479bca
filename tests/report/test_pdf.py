"""``report.pdf``: the report's HTML printed by headless Chromium (immex_nb/report/pdf.py).

A small page with a long table and three plotly figures is printed and read
back with pypdf: more than one page, the header on every page, "Página X de Y",
the table's header row repeated on each page it continues on, and each figure
whole on one page (its title and its axis title on the same page).

Needs the Debian package ``chromium``; skipped, not failed, without it.
"""

from __future__ import annotations

import os

import pytest

from immex_nb.errors import ImmexError
from immex_nb.report.pdf import chromium_path, write_pdf
from immex_nb.report.render import TEMPLATES_DIR

HEADER = "Cliente Prueba, S.A. de C.V. · 2026-10"
ROWS = 120

browser = pytest.mark.skipif(
    not chromium_path().is_file(), reason=f"headless Chromium not found at {chromium_path()}"
)


def _page_html(tmp_path):
    import plotly.graph_objects as go

    figures = []
    for k in range(1, 4):
        fig = go.Figure(go.Bar(x=["a", "b", "c"], y=[k, 2 * k, 3 * k]))
        fig.update_layout(
            title=f"FIGTOP{k}", xaxis_title=f"FIGEND{k}", height=420, width=680, margin={"t": 60}
        )
        figures.append(fig.to_html(full_html=False, include_plotlyjs="inline" if k == 1 else False))
    rows = "\n".join(
        f"<tr><td>ROW{i:03d}</td><td>pedimento 26 40 3420 {i:07d}</td><td>{i * 10:,}</td></tr>"
        for i in range(ROWS)
    )
    css = (TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")
    page = f"""<!doctype html><html lang="es"><head><meta charset="utf-8">
<style>{css}</style></head><body><main class="ix-page">
<h1>Reporte de prueba</h1>
<table class="ix-table"><thead><tr><th>COLHEAD</th><th>Pedimento</th><th>Valor MXN</th></tr></thead>
<tbody>{rows}</tbody></table>
{"".join(figures)}
</main></body></html>"""
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


@pytest.mark.browser
@browser
def test_pdf_pages_header_numbers_and_whole_figures(tmp_path):
    from pypdf import PdfReader

    html = _page_html(tmp_path)
    pdf = tmp_path / "out" / "report.pdf"
    write_pdf(html, pdf, header=HEADER, lang="es")
    assert pdf.is_file() and not list(pdf.parent.glob(".*.tmp"))
    pages = [p.extract_text() or "" for p in PdfReader(pdf).pages]
    n = len(pages)
    assert n > 1
    for i, text in enumerate(pages, start=1):
        assert HEADER in text, i
        assert f"Página {i} de {n}" in text, (i, text[-200:])
        if "ROW" in text:
            assert "COLHEAD" in text, f"page {i}: a continued table without its header row"
    rows_seen = [i for i in range(ROWS) if any(f"ROW{i:03d}" in p for p in pages)]
    assert len(rows_seen) == ROWS
    for k in range(1, 4):
        top = {i for i, p in enumerate(pages) if f"FIGTOP{k}" in p}
        end = {i for i, p in enumerate(pages) if f"FIGEND{k}" in p}
        assert len(top) == 1 and top == end, f"figure {k} cut: title on {top}, axis on {end}"


@pytest.mark.browser
@browser
def test_pdf_in_english_numbers_pages_in_english(tmp_path):
    from pypdf import PdfReader

    pdf = tmp_path / "report.pdf"
    write_pdf(_page_html(tmp_path), pdf, header="Test client · 2026-10", lang="en")
    pages = [p.extract_text() or "" for p in PdfReader(pdf).pages]
    assert f"Page 1 of {len(pages)}" in pages[0]
    assert not any("Página" in p for p in pages)


def test_missing_chromium_is_one_clear_error(tmp_path, monkeypatch):
    html = tmp_path / "report.html"
    html.write_text("<p>x</p>", encoding="utf-8")
    monkeypatch.setenv("IMMEX_NB_CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(ImmexError) as err:
        write_pdf(html, tmp_path / "report.pdf", header="x", lang="es")
    message = str(err.value)
    assert "\n" not in message and "Chromium" in message and "no-chromium" in message
    assert not (tmp_path / "report.pdf").exists()


def test_unknown_language_is_refused(tmp_path):
    with pytest.raises(ImmexError):
        write_pdf(tmp_path / "x.html", tmp_path / "x.pdf", header="x", lang="fr")


def test_chromium_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("IMMEX_NB_CHROMIUM", str(tmp_path / "c"))
    assert chromium_path() == tmp_path / "c"
    monkeypatch.delenv("IMMEX_NB_CHROMIUM")
    assert chromium_path().name.startswith("chromium") or os.sep in str(chromium_path())
