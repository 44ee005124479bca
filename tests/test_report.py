"""The monthly report batch (CONTRACT §6) on two small clients and a broken one.

The batch runs the real template (``notebooks/monthly_report.ipynb``) once
for the module (see ``report_helpers``: clients, worked numbers); the tests
read what it left in ``OUT``.  Unit tests cover names, the swap into place and
the template check without a kernel.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from report_helpers import PERIOD, SCRIPT_NAME, batch_once, write_clients

from immex_nb.errors import ImmexError
from immex_nb.report import run_batch, validate_client_name
from immex_nb.report.batch import (
    _clean_stale,
    _swap_into_place,
    check_template_parameters,
    default_template,
    period_end,
    previous_period,
)

FIXTURE_TEMPLATE = Path(__file__).parent / "fixtures" / "report" / "fixture_report.ipynb"
FILES = ("report.ipynb", "report.html", "annex.xlsx", "kpis.json", "manifest.json")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return batch_once(tmp_path_factory)


# --------------------------------------------------------------------------- the batch


@pytest.mark.slow
def test_good_clients_complete_broken_one_fails_exit_1(batch):
    _, out, result = batch
    assert result.exit_code == 1
    status = {(r.client, r.period): r.status for r in result.results}
    assert status == {("acme", PERIOD): "ok", ("beta", PERIOD): "ok", ("broken", PERIOD): "failed"}
    for client in ("acme", "beta"):
        folder = out / client / PERIOD
        assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
        assert json.loads((folder / "manifest.json").read_text())["status"] == "ok"
    # no staging or old folders left behind
    assert not [p for p in out.rglob(".*") if p.is_dir()]


@pytest.mark.slow
def test_broken_client_keeps_its_failed_notebook_and_reason(batch):
    _, out, result = batch
    folder = out / "broken" / PERIOD
    assert (folder / "report.ipynb").is_file()
    assert not (folder / "report.html").exists() and not (folder / "kpis.json").exists()
    failed = result.failed[0]
    assert (
        failed.client == "broken"
        and "exports" in failed.reason
        and failed.reason.startswith("ImmexError")
    )
    nb = nbformat.read(folder / "report.ipynb", as_version=4)
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert errors and errors[0]["ename"] == "ImmexError"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["reason"] == failed.reason
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "broken" in index and "could not be produced" in index
    assert "broken/2025-03/report.ipynb" in index
    # the reason is in the index (HTML-escaped like every other string)
    reason_words = re.sub(r"[^A-Za-z]+", " ", failed.reason).split()[:3]
    for word in reason_words:
        assert word in index


@pytest.mark.slow
def test_report_html_has_outputs_but_no_code(batch):
    _, out, _ = batch
    page = (out / "acme" / PERIOD / "report.html").read_text(encoding="utf-8")
    for marker in (
        "jp-InputArea",
        "jp-InputPrompt",
        "jp-OutputPrompt",
        "input_area",
        "cm-editor",
        "highlight-ipynb",
    ):
        assert marker not in page, marker
    for source in ("build_report_data(", "view.summary()", "use_report_renderer", "save_outputs("):
        assert source not in page, source
    # the sections and the charts are there, plotly.js inlined exactly once, nothing fetched from elsewhere
    assert "Executive summary" in page and "Expiring in the next" in page
    assert page.count('class="plotly-graph-div"') >= 4
    assert len(re.findall(r"plotly\.js v\d", page)) == 1
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=\"?https?:", page)
    # warnings printed to stderr stay in the notebook, not in the client's page
    assert "Traceback" not in page


@pytest.mark.slow
def test_kpis_json_equals_the_package_computation(batch):
    """kpis.json holds exactly :func:`build_report_data`'s numbers, and those
    are the hand-worked ones of ``report_helpers`` (open 1,027,000 …)."""
    from immex_nb.report.sections import build_report_data

    data_root, out, _ = batch
    written = json.loads((out / "acme" / PERIOD / "kpis.json").read_text(encoding="utf-8"))
    expected = json.loads(
        json.dumps(build_report_data(data_root / "acme", PERIOD).kpis_json(), ensure_ascii=False)
    )
    assert written == expected
    k, prev = written["kpis"], written["previous_kpis"]
    assert written["as_of"] == "2025-03-31" and written["previous_period"] == "2025-02"
    assert written["client_name"] == "ACME Manufacturas, S.A. de C.V."
    assert k["open_lines"] == 4 and k["open_value_mxn"] == pytest.approx(1_027_000)
    assert k["expired_lines"] == 1 and k["expired_value_mxn"] == pytest.approx(20_000)
    assert k["due_lines"] == 1 and k["due_value_mxn"] == pytest.approx(2_000)
    assert prev["open_value_mxn"] == pytest.approx(31_000)
    assert k["imports_lines_month"] == 1 and k["exports_lines_month"] == 1
    headline = {h["key"]: h for h in written["headline"]}
    assert headline["open_value_mxn"]["value"] == k["open_value_mxn"]
    assert headline["open_value_mxn"]["previous"] == prev["open_value_mxn"]
    beta = json.loads((out / "beta" / PERIOD / "kpis.json").read_text(encoding="utf-8"))
    assert beta["kpis"]["rejects_count"] == 1


@pytest.mark.slow
def test_annex_has_one_formatted_sheet_per_table(batch):
    import openpyxl

    _, out, _ = batch
    wb = openpyxl.load_workbook(out / "acme" / PERIOD / "annex.xlsx")
    assert wb.sheetnames[0] == "About"
    for name in (
        "Headline KPIs",
        "Open balances",
        "Expiring 90 days",
        "Exposure",
        "Savings",
        "T-MEC 2.5",
        "Rejects",
    ):
        assert name in wb.sheetnames, name
    ws = wb["Open balances"]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    header = [c.value for c in ws[1]]
    assert header[:2] == ["import_pedimento", "import_line"]
    col = {h: i + 1 for i, h in enumerate(header)}
    values = {
        ws.cell(r, col["import_pedimento"]).value: ws.cell(r, col["open_value_mxn"])
        for r in range(2, ws.max_row + 1)
    }
    assert values["24 47 3420 4000001"].value == pytest.approx(5_000)
    assert values["24 47 3420 4000001"].number_format == "#,##0.00"
    assert ws.cell(2, col["deadline"]).number_format == "yyyy-mm-dd"
    assert ws.max_row == 1 + 4  # the four open lines


@pytest.mark.slow
def test_client_data_is_escaped_in_html(batch):
    _, out, _ = batch
    index = (out / "index.html").read_text(encoding="utf-8")
    report = (out / "beta" / PERIOD / "report.html").read_text(encoding="utf-8")
    for page in (index, report):
        assert SCRIPT_NAME not in page
        # shown as text: the angle brackets escaped (quotes may stay literal in text nodes)
        assert re.search(
            r'Beta &lt;script&gt;alert\((&#34;|&quot;|")pwn(&#34;|&quot;|")\)&lt;/script&gt; S\.A\.',
            page,
        )
    # the description from imports.csv (annex-only data) never reaches the page unescaped either
    assert "Wire <script>" not in report


@pytest.mark.slow
def test_index_lists_every_client_with_kpis_and_links(batch):
    _, out, _ = batch
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "ACME Manufacturas, S.A. de C.V." in index
    for client in ("acme", "beta"):
        for name in ("report.html", "annex.xlsx", "kpis.json", "report.ipynb"):
            assert f'href="{client}/{PERIOD}/{name}"' in index
    assert "MXN 1,027,000" in index  # acme's open value, as in kpis.json
    assert "2 of 3" not in index or "report(s) ready" in index


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name", ["../evil", "a/b", "a\\b", "..", ".", ".hidden", "", " acme", "x\x00y", "ok/../../etc"]
)
def test_unsafe_client_names_are_refused(name):
    with pytest.raises(ImmexError, match="not allowed"):
        validate_client_name(name)


def test_safe_names_pass_and_a_symlink_out_of_out_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert validate_client_name("Electrónica Norte (MX)", out) == "Electrónica Norte (MX)"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (out / "sneaky").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ImmexError, match="outside"):
        validate_client_name("sneaky", out)


def test_batch_refuses_an_escaping_client_before_running(tmp_path):
    data = write_clients(tmp_path / "data")
    out = tmp_path / "out"
    with pytest.raises(ImmexError, match="not allowed"):
        run_batch(data, [PERIOD], out, clients=["../acme"], echo=False)
    with pytest.raises(ImmexError, match="not found"):
        run_batch(data, [PERIOD], out, clients=["nobody"], echo=False)
    with pytest.raises(ImmexError, match="YYYY-MM"):
        run_batch(data, ["2025-13"], out, echo=False)
    assert not out.exists() or not any(out.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"] + (
        ["out"] if out.exists() else []
    )


# --------------------------------------------------------------------------- machinery without a kernel


def test_periods():
    assert previous_period("2025-01") == "2024-12"
    assert previous_period("2025-03") == "2025-02"
    assert str(period_end("2024-02")) == "2024-02-29"
    assert str(period_end("2025-12")) == "2025-12-31"


def test_template_parameters_are_checked(tmp_path):
    declared = check_template_parameters(default_template())
    assert {"client", "period", "data_dir", "language", "previous_period", "output_dir"} <= set(
        declared
    )
    nb = nbformat.read(FIXTURE_TEMPLATE, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = "\n".join(
        line for line in params.source.splitlines() if not line.startswith("output_dir")
    )
    lacking = tmp_path / "lacking.ipynb"
    nbformat.write(nb, lacking)
    with pytest.raises(ImmexError, match=r"does not declare parameter\(s\) \['output_dir'\]"):
        check_template_parameters(lacking)


def test_swap_replaces_the_whole_folder_and_stale_staging_is_removed(tmp_path):
    client = tmp_path / "acme"
    final = client / PERIOD
    final.mkdir(parents=True)
    (final / "report.html").write_text("old report")
    (final / "stale.txt").write_text("from an earlier run")
    stage = client / f".{PERIOD}.tmp-abc"
    stage.mkdir()
    (stage / "report.ipynb").write_text("{}")
    _swap_into_place(stage, final)
    assert sorted(p.name for p in final.iterdir()) == ["report.ipynb"]
    assert sorted(p.name for p in client.iterdir()) == [PERIOD]
    crashed = client / f".{PERIOD}.tmp-deadbeef"
    crashed.mkdir()
    (crashed / "report.ipynb").write_text("half")
    _clean_stale(client)
    assert sorted(p.name for p in client.iterdir()) == [PERIOD]


@pytest.mark.slow
def test_rerun_overwrites_cleanly_with_the_fixture_template(tmp_path):
    """A client that worked, then lost its exports.csv: the rerun replaces the
    folder — no report.html of the earlier run survives next to the failure."""
    data = write_clients(tmp_path / "data")
    shutil.rmtree(data / "broken")
    shutil.rmtree(data / "beta")
    out = tmp_path / "out"
    first = run_batch(
        data, [PERIOD], out, workers=1, template=FIXTURE_TEMPLATE, echo=False, progress=False
    )
    assert first.exit_code == 0
    folder = out / "acme" / PERIOD
    assert {"report.html", "kpis.json", "annex.xlsx"} <= {p.name for p in folder.iterdir()}
    assert "a warning the client should not see" not in (folder / "report.html").read_text(
        encoding="utf-8"
    )
    (data / "acme" / "exports.csv").unlink()
    second = run_batch(
        data, [PERIOD], out, workers=1, template=FIXTURE_TEMPLATE, echo=False, progress=False
    )
    assert second.exit_code == 1 and "exports.csv" in second.failed[0].reason
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "report.ipynb"]
    assert "could not be produced" in (out / "index.html").read_text(encoding="utf-8")
