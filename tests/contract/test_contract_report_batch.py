"""The contract, §6 monthly report batch: one sentence per test, numbers worked by hand.

Each test writes a small client folder the way a client would send it and goes
only through the public entry points (docs/contract.md).
"""

from __future__ import annotations

import json
import re

import pytest
from contract_support import (
    cli,
    client,
    ep,
    exp,
    imp,
    ip,
    write_table,
)

from immex_nb.cli import main

PERIOD = "2024-06"


def _report_root(tmp_path):
    root = tmp_path / "clients"
    root.mkdir()
    client(
        root,
        [imp(ip(1), 1, "2024-01-10", "A", 100, mxn=10000), imp(ip(2), 1, "2022-06-01", "B", 5)],
        [exp(ep(1), 1, "2024-05-20", "A", 40)],
        name="alfa",
    )
    client(
        root,
        [imp(ip(1), 1, "2024-03-01", "C", 10, mxn=500, mt="EE")],
        [exp(ep(1), 1, "2024-06-30", "C", 3)],
        name="bravo",
    )
    broken = root / "zulu"
    broken.mkdir()
    write_table(broken / "imports.csv", [imp(ip(1), 1, "2024-01-10", "A", 1)])  # no exports
    return root


@pytest.fixture(scope="module")
def report_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    root = _report_root(tmp)
    out = tmp / "out"
    p = cli(
        ["report", "--data", str(root), "--period", PERIOD, "--out", str(out), "--workers", "2"]
    )
    return root, out, p


@pytest.mark.slow
def test_report_batch_files_and_exit_code(report_run):
    """§6: "writes `OUT/<client>/<YYYY-MM>/report.ipynb` …, `report.html` …,
    `annex.xlsx` …, `kpis.json` …, `OUT/index.html`" and "One client's failure
    never stops the others; the command exits 1 if any report failed"."""
    import openpyxl

    _, out, p = report_run
    assert p.returncode == 1, p.stderr[-2000:]
    assert "Traceback" not in p.stderr
    for name in ("alfa", "bravo"):
        folder = out / name / PERIOD
        for f in ("report.ipynb", "report.html", "annex.xlsx", "kpis.json"):
            assert (folder / f).is_file(), (name, f)
        kpis = json.loads((folder / "kpis.json").read_text(encoding="utf-8"))
        assert kpis
        wb = openpyxl.load_workbook(folder / "annex.xlsx", read_only=True)
        assert wb.sheetnames
        wb.close()
    failed_nb = json.loads((out / "zulu" / PERIOD / "report.ipynb").read_text(encoding="utf-8"))
    outputs = [o for c in failed_nb["cells"] for o in c.get("outputs", [])]
    assert any(o.get("output_type") == "error" for o in outputs)  # kept, with its error
    assert (out / "index.html").is_file()


def _numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        yield obj


@pytest.mark.slow
def test_report_as_of_period_last_day_kpis(report_run):
    """§6: "… × every period, as of the period's last day" and "`kpis.json` — the
    headline figures".  alfa as of 2024-06-30: A 100 units MXN 10,000, 40
    returned 2024-05-20 → open 60 → MXN 6,000; B 5 units MXN 1,000 (2022-06-01,
    expired 2023-12-01) → open value 7,000 MXN."""
    _, out, _ = report_run
    text = (out / "alfa" / PERIOD / "kpis.json").read_text(encoding="utf-8")
    assert "2024-06-30" in text
    assert any(abs(x - 7000.0) < 1e-6 for x in _numbers(json.loads(text)))


@pytest.mark.slow
def test_report_html_no_code_offline_plotly(report_run):
    """§6: "`report.html` — for the client: no code cells, interactive plotly
    figures that render offline in a browser"."""
    _, out, _ = report_run
    html = (out / "alfa" / PERIOD / "report.html").read_text(encoding="utf-8")
    assert "import immex_nb" not in html and "from immex_nb" not in html
    assert 'class="jp-InputArea' not in html and 'class="input_area' not in html
    assert "Plotly.newPlot" in html
    # plotly.js itself is embedded (a few MB), no script fetched from the network
    assert not re.search(r"<script[^>]*\bsrc=[\"']?(https?:)?//", html)
    assert len(html) > 1_000_000


@pytest.mark.slow
def test_report_index_lists_failure_with_reason(report_run):
    """§6: "`OUT/index.html` — every client × period with its KPIs, links, and the
    failures with their reason" (zulu has no exports.csv)."""
    _, out, _ = report_run
    index = (out / "index.html").read_text(encoding="utf-8")
    for name in ("alfa", "bravo", "zulu"):
        assert name in index
    assert "exports.csv" in index  # zulu's reason: the missing file
    assert "7,000" in index or "7000" in index  # alfa's open value (see below)
    assert f"alfa/{PERIOD}/report.html" in index


def test_report_client_name_cannot_escape_out(tmp_path):
    """§6: "Client names are folder names and never escape `OUT`": ``--client
    ../escape`` is refused and nothing is written beside ``OUT``."""
    root = _report_root(tmp_path)
    out = tmp_path / "box" / "out"
    out.mkdir(parents=True)
    rc = main(
        [
            "report",
            "--data",
            str(root),
            "--period",
            PERIOD,
            "--client",
            "../escape",
            "--out",
            str(out),
        ]
    )
    assert rc != 0
    assert sorted(p.name for p in (tmp_path / "box").iterdir()) == ["out"]
    assert not (tmp_path / "escape").exists()
