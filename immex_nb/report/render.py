"""From executed notebook to a client-ready, offline HTML page.

Two halves that must agree on how plotly figures travel:

* **inside the kernel** :func:`use_report_renderer` makes ``fig.show()`` (or a
  figure as a cell's last value) emit two representations: the plotly JSON
  mimetype (JupyterLab draws it when a consultant opens ``report.ipynb``) and a
  ``text/html`` ``<div>`` + ``Plotly.newPlot(...)`` snippet *without*
  plotly.js and without the MathJax CDN tag plotly's own HTML renderers add;
* **in the batch** :func:`notebook_to_html` runs nbconvert's ``HTMLExporter``
  with every input cell and prompt hidden (``exclude_input=True``) through the
  ``report.html.j2`` template (``immex_nb/templates``), which drops the
  require.js / MathJax / mermaid CDN tags of the stock ``lab`` template and
  inlines plotly.js **once** in ``<head>`` from the installed plotly package.

So a report opened from a USB stick on a laptop with no network still draws
every chart: nothing in the page refers to another host.  Example::

    nb = "OUT/acme/2025-03/report.ipynb"
    html = notebook_to_html(nb, title="ACME — March 2025")
    # ≈ 4.7 MB: plotly.js once + one <div class="plotly-graph-div"> per chart

``stderr`` streams (warnings) are dropped from the HTML — they stay in the
executed notebook for the consultant.  Markdown cells are kept (they are the
report's prose); code cells show only their outputs.
"""

from __future__ import annotations

import copy
import os
import threading
from functools import lru_cache
from pathlib import Path

from immex_nb.text import DEFAULT_LANG

RENDERER_NAME = "immex_report"
#: plotly config for every figure in a report: no plotly logo, no "edit in
#: chart studio", a PNG download button named after the chart.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def use_report_renderer() -> str:
    """Register and select the report renderer in this (kernel) process.

    Called from the report template's first cell.  Returns the renderer name.
    """
    import plotly.io as pio
    from plotly.io._base_renderers import MimetypeRenderer, PlotlyRenderer

    class _ReportRenderer(MimetypeRenderer):
        """plotly JSON for JupyterLab + an HTML div (no plotly.js) for nbconvert."""

        def __init__(self) -> None:
            self._json = PlotlyRenderer(config=PLOTLY_CONFIG)

        def to_mimebundle(self, fig_dict):
            bundle = self._json.to_mimebundle(copy.deepcopy(fig_dict))
            bundle["text/html"] = pio.to_html(
                fig_dict,
                config=PLOTLY_CONFIG,
                include_plotlyjs=False,
                include_mathjax=False,
                full_html=False,
                default_width="100%",
                default_height=420,
                validate=False,
            )
            return bundle

    if RENDERER_NAME not in pio.renderers:
        pio.renderers[RENDERER_NAME] = _ReportRenderer()
    pio.renderers.default = RENDERER_NAME
    return RENDERER_NAME


def _drop_stderr(nb) -> None:
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]


def notebook_to_html(
    notebook: str | os.PathLike | dict, title: str = "Report", lang: str | None = None
) -> str:
    """HTML for the client: outputs and markdown only, plotly.js inlined once.

    ``<html lang=…>`` is ``lang``, else the ``language`` parameter papermill
    recorded in the executed notebook, else Spanish."""
    import nbformat
    from plotly.offline import get_plotlyjs

    if isinstance(notebook, dict):  # a notebook already read (nbformat.NotebookNode)
        nb = copy.deepcopy(notebook)
    else:
        nb = nbformat.read(os.fspath(notebook), as_version=4)
    _drop_stderr(nb)
    nb.metadata["title"] = title
    nb.metadata.pop("widgets", None)  # report notebooks never depend on widgets
    params = nb.metadata.get("papermill", {}).get("parameters", {}) or {}
    lang = lang or str(params.get("language") or DEFAULT_LANG)
    resources = {
        # plotly.js (4.7 MB) goes in after the export: nbconvert re-parses the
        # whole page (BeautifulSoup) and a script's text passes through as is
        "plotly_js": _PLOTLY_JS_MARK,
        "report_css": (TEMPLATES_DIR / "report.css").read_text(encoding="utf-8"),
    }
    with _EXPORT_LOCK:  # a shared exporter: one export at a time per process
        body, _ = _exporter(lang).from_notebook_node(nb, resources=resources)
    head, mark, tail = body.partition(_PLOTLY_JS_MARK)
    if not mark:
        raise RuntimeError("report.html.j2 lost resources.plotly_js")
    return head + get_plotlyjs() + tail


_EXPORT_LOCK = threading.Lock()
#: where plotly.js goes in the exported page (see :func:`notebook_to_html`)
_PLOTLY_JS_MARK = "/* immex-nb: plotly.js */"


@lru_cache(maxsize=4)
def _exporter(lang: str):
    """One HTML exporter per language and process: its jinja templates are
    compiled once, not once per report (every call passes its own notebook
    and resources)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        language_code=lang,
        template_name="lab",
        template_file="report.html.j2",
        extra_template_paths=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
