"""A generated report opened in headless Chromium, offline: the plotly charts
draw (an ``svg`` inside every ``.js-plotly-plot``), the console stays clean,
and the page asks for nothing but its own file.

Needs the Debian package ``chromium`` (``/usr/bin/chromium``) and playwright's
Python package; skipped, not failed, when Chromium is absent.
"""

from __future__ import annotations

import os
import shutil

import pytest
from report_helpers import PERIOD, batch_once

CHROMIUM = os.environ.get("IMMEX_NB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"headless Chromium not found at {CHROMIUM}"
    ),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems, requests = [], []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    return page, problems, requests


def test_report_figures_render_offline_without_console_errors(browser, tmp_path_factory):
    _, out, _ = batch_once(tmp_path_factory)
    page, problems, requests = _open(browser, out / "acme" / PERIOD / "report.html")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=20_000)
    n_divs = page.locator(".plotly-graph-div").count()
    n_drawn = page.evaluate(
        "Array.from(document.querySelectorAll('.js-plotly-plot')).filter(d => d.querySelector('svg.main-svg')).length"
    )
    assert n_divs >= 4 and n_drawn == n_divs
    assert page.evaluate("typeof window.Plotly") == "object"
    # bars were actually drawn, not only empty axes
    assert page.locator(".js-plotly-plot .bars path").count() > 0
    assert page.locator("h1").first.inner_text() == "ACME Manufacturas, S.A. de C.V."
    assert not problems, problems
    assert all(u.startswith(("file:", "data:", "blob:", "about:")) for u in requests), requests
    page.close()


def test_index_opens_and_links_to_the_reports(browser, tmp_path_factory):
    _, out, _ = batch_once(tmp_path_factory)
    page, problems, _ = _open(browser, out / "index.html")
    hrefs = page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))")
    assert f"acme/{PERIOD}/report.html" in hrefs and f"beta/{PERIOD}/annex.xlsx" in hrefs
    assert page.locator(".ix-failures").inner_text().count("broken") >= 1
    # no script from client data ran: the escaped name is text on the page
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    assert 'alert("pwn")' in page.locator("body").inner_text()
    assert not problems, problems
    page.close()
