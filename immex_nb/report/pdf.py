"""``report.pdf``: the report's HTML printed by headless Chromium.

The PDF is the very same ``report.html``, printed: nothing is laid out twice,
so the page and the PDF cannot disagree.  Chromium is the system browser
(the Debian package ``chromium``, ``/usr/bin/chromium``, or the path in
``IMMEX_NB_CHROMIUM``) driven by playwright; no browser is ever downloaded.

What the print looks like (docs/annex.md, "The PDF"):

* US Letter, portrait, 14 mm margins, backgrounds printed;
* a page header with the client and the period (``header``), a footer
  "Página 3 de 12" / "Page 3 of 12" (text catalog, ``annex.pdf_page``);
* figures and table rows are never split across pages and a table that goes
  on to the next page repeats its header row (``@media print`` rules at the
  end of ``templates/report.css``);
* every plotly figure has drawn its SVG before the page is printed.

The file is written to a temporary name beside ``pdf`` and renamed, so a
failure never leaves half a PDF.
"""

from __future__ import annotations

import html as html_lib
import os
import shutil
from pathlib import Path

from immex_nb.errors import ImmexError
from immex_nb.text import check_lang, t

#: flags for a quiet, offline, sandbox-free headless Chromium
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: CSS pixels of the viewport the page is laid out at (Letter less margins at 96 dpi)
VIEWPORT = {"width": 760, "height": 1000}
MARGINS = {"top": "20mm", "bottom": "16mm", "left": "14mm", "right": "14mm"}
#: milliseconds to wait for the page and its figures
TIMEOUT_MS = 60_000

_FIGURES_DRAWN = """() => Array.from(document.querySelectorAll('.plotly-graph-div'))
    .every(d => d.querySelector('svg.main-svg') !== null)"""


def chromium_path() -> Path:
    """The Chromium to print with: ``IMMEX_NB_CHROMIUM``, else ``chromium`` on
    the PATH, else ``/usr/bin/chromium`` — whether it exists or not."""
    found = os.environ.get("IMMEX_NB_CHROMIUM") or shutil.which("chromium")
    return Path(found or "/usr/bin/chromium")


def _header_html(header: str) -> str:
    return (
        '<div style="font-size:8px; color:#4b5563; width:100%; padding:0 14mm; '
        'font-family:Helvetica, Arial, sans-serif; display:flex; justify-content:space-between;">'
        f"<span>{html_lib.escape(header)}</span></div>"
    )


def _footer_html(lang: str) -> str:
    text = t(
        "annex.pdf_page",
        lang,
        page='<span class="pageNumber"></span>',
        pages='<span class="totalPages"></span>',
    )
    return (
        '<div style="font-size:8px; color:#4b5563; width:100%; padding:0 14mm; '
        'font-family:Helvetica, Arial, sans-serif; text-align:right;">'
        f"{text}</div>"
    )


def write_pdf(html: Path, pdf: Path, *, header: str, lang: str) -> None:
    """Print ``html`` to ``pdf`` (Letter; ``header`` on every page, e.g.
    "Electrónica del Norte · octubre 2026"; page numbers in ``lang``)."""
    lang = check_lang(lang)
    html, pdf = Path(html), Path(pdf)
    if not html.is_file():
        raise ImmexError(f"cannot print {html}: no such HTML file")
    exe = chromium_path()
    if not exe.is_file():
        raise ImmexError(
            f"PDF needs Chromium, not found at {exe}; install the Debian package "
            "'chromium' or set IMMEX_NB_CHROMIUM to its path"
        )
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a declared dependency
        raise ImmexError(
            "PDF needs the Python package 'playwright' (pip install playwright)"
        ) from None

    from immex_nb.outputs import atomic_path

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(exe), args=list(CHROMIUM_ARGS))
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(html.resolve().as_uri(), wait_until="load", timeout=TIMEOUT_MS)
                page.wait_for_function(_FIGURES_DRAWN, timeout=TIMEOUT_MS)
                page.emulate_media(media="print")
                with atomic_path(pdf) as tmp:
                    page.pdf(
                        path=str(tmp),
                        format="Letter",
                        print_background=True,
                        display_header_footer=True,
                        header_template=_header_html(header),
                        footer_template=_footer_html(lang),
                        margin=MARGINS,
                    )
            finally:
                browser.close()
    except PlaywrightError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImmexError(f"printing {html.name} to PDF failed: {first}") from None
