"""The monthly report batch (docs/report.md, docs/batch.md) on two small clients and a broken one.

The batch runs the real template (``immex_nb/notebooks/monthly_report.ipynb``) once
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
from report_helpers import (
    GAMMA_NAME,
    PERIOD,
    SCRIPT_NAME,
    batch_once,
    write_clients,
    write_gamma,
)

from immex_nb.dates import Period
from immex_nb.errors import ImmexError
from immex_nb.report import run_batch, validate_client_name
from immex_nb.report.batch import (
    BatchResult,
    _clean_stale,
    _swap_into_place,
    check_template_parameters,
    default_template,
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
    assert status == {
        ("acme", PERIOD): "ok",
        ("beta", PERIOD): "ok",
        ("broken", PERIOD): "failed",
        ("gamma", PERIOD): "ok",
    }
    for client in ("acme", "beta", "gamma"):
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
    # the batch ran with --lang en: the index follows it
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
    data = build_report_data(data_root / "acme", PERIOD, language=written["language"])
    expected = json.loads(json.dumps(data.kpis_json(), ensure_ascii=False))
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

    from immex_nb.report.annex import sheet_title
    from immex_nb.text import t

    _, out, _ = batch
    wb = openpyxl.load_workbook(out / "acme" / PERIOD / "annex.xlsx")
    lang = "es" if wb.sheetnames[0] == sheet_title("index", "es") else "en"
    assert wb.sheetnames[0] == sheet_title("index", lang)
    for key in ("saldos", "descargos", "vencimientos", "exposicion", "ahorro", "rechazos"):
        assert sheet_title(key, lang) in wb.sheetnames, key
    ws = wb[sheet_title("saldos", lang)]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    header = [c.value for c in ws[1]]
    assert header[:2] == [t("annex.h.pedimento", lang), t("annex.h.partida", lang)]
    col = {h: i + 1 for i, h in enumerate(header)}
    values = {
        ws.cell(r, 1).value: ws.cell(r, col[t("annex.h.valor_saldo_mxn", lang)])
        for r in range(2, ws.max_row + 1)
    }
    assert values["24 47 3420 4000001"].value == pytest.approx(5_000)
    assert values["24 47 3420 4000001"].number_format == "#,##0.00"
    assert ws.cell(2, col[t("annex.h.fecha_limite", lang)]).number_format == "yyyy-mm-dd"
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
    assert "$1,027,000 MXN" in index  # acme's open value, as in kpis.json
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
    assert str(Period.parse("2025-01").previous) == "2024-12"
    assert str(Period.parse("2025-03").previous) == "2025-02"
    assert str(Period.parse("2024-02").end) == "2024-02-29"
    assert str(Period.parse("2025-12").end) == "2025-12-31"


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
    for other in ("broken", "beta", "gamma"):
        shutil.rmtree(data / other)
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
    assert "no se pudieron generar" in (out / "index.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- client strings, exposure, rejects


@pytest.mark.slow
def test_client_name_from_client_toml_is_escaped_in_report_html(batch):
    """``name = "<script>alert(1)</script> & Co"`` shows as text: ``&lt;``,
    ``&gt;`` and ``&amp;`` in report.html and index.html, never a live tag."""
    _, out, _ = batch
    report = (out / "gamma" / PERIOD / "report.html").read_text(encoding="utf-8")
    index = (out / "index.html").read_text(encoding="utf-8")
    for page in (report, index):
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
        assert "<script>alert(1)" not in page.lower()
    assert "Gear <script>" not in report  # the description of GEAR-1
    written = json.loads((out / "gamma" / PERIOD / "kpis.json").read_text(encoding="utf-8"))
    assert written["client_name"] == GAMMA_NAME  # JSON keeps the data as it is


def test_report_exposure_is_exposure_for_with_the_clients_settings(tmp_path):
    """gamma has ``prosec = false``: the report values its open line at the
    general rate (2,852.80, see report_helpers), exactly
    ``exposure_for(ledger, as_of)``; with PROSEC it would
    be 2,272.80.  acme (an import after the as-of date) agrees for both
    months too."""
    from immex_nb.exposure import exposure_for
    from immex_nb.load import load
    from immex_nb.report.sections import build_report_data

    data_root = write_clients(tmp_path / "data")
    gamma = load(data_root / "gamma")
    expected, _ = exposure_for(gamma, "2025-03-31")
    data = build_report_data(data_root / "gamma", PERIOD)
    assert data.kpis["exposure_total_mxn"] == pytest.approx(expected["total"].sum())
    assert data.kpis["exposure_total_mxn"] == pytest.approx(2_852.80)
    with_prosec, _ = exposure_for(gamma, "2025-03-31", use_prosec=True)
    assert with_prosec["total"].sum() == pytest.approx(2_272.80)
    import pandas as pd

    pd.testing.assert_frame_equal(data.current.exposure, expected)
    acme = load(data_root / "acme")
    acme_data = build_report_data(data_root / "acme", PERIOD)
    for snap, as_of in ((acme_data.current, "2025-03-31"), (acme_data.previous, "2025-02-28")):
        frame, _ = exposure_for(acme, as_of)
        pd.testing.assert_frame_equal(snap.exposure, frame)
        assert not frame["imported_after_as_of"].any()


def test_rejects_are_grouped_by_file_and_column(tmp_path):
    """gamma's three bad quantities (rows 3, 4, 5: -1, 0, "many") have three
    different reasons but are one group: imports.csv · quantity · 3 rows,
    first row 3 with its reason."""
    from immex_nb.load import load
    from immex_nb.report.sections import rejects_by_column

    rejects = load(write_gamma(tmp_path / "gamma")).rejects
    assert rejects["reason"].nunique() == 3
    g = rejects_by_column(rejects)
    assert g.to_dict("records") == [
        {
            "file": "imports.csv",
            "column": "quantity",
            "rows": 3,
            "first_row": 3,
            "example": "quantity must be greater than 0, got -1",
        }
    ]
    import pandas as pd

    mixed = pd.DataFrame(
        {
            "file": ["exports.csv", "imports.csv", "imports.csv", "imports.csv"],
            "row": [9, 7, 4, 4],
            "column": ["date", "", "value_mxn", "value_mxn"],
            "value": ["x", "", "a", "a"],
            "reason": ["bad date 'x'", "value right of the header", "a at row 4", "again row 4"],
        }
    )
    g = rejects_by_column(mixed)
    assert list(zip(g["file"], g["column"], g["rows"], g["first_row"], strict=True)) == [
        ("exports.csv", "date", 1, 9),
        ("imports.csv", "", 1, 7),
        ("imports.csv", "value_mxn", 1, 4),
    ]
    assert g.loc[g["column"] == "value_mxn", "example"].item() == "a at row 4"
    assert rejects_by_column(mixed.iloc[0:0]).empty


@pytest.mark.slow
def test_data_quality_table_shows_one_line_per_column(batch):
    _, out, _ = batch
    report = (out / "gamma" / PERIOD / "report.html").read_text(encoding="utf-8")
    # the grouped table (the list of every rejected row follows under its own heading)
    grouped = report.split("Rejected rows by file and column")[1].split("<h3>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", grouped, flags=re.S)
    quality = [r for r in rows if ">imports.csv<" in r and ">quantity<" in r]
    assert len(quality) == 1
    cells = re.findall(r"<td[^>]*>(.*?)</td>", quality[0])
    assert cells == [
        "imports.csv",
        "quantity",
        "3",
        "3",
        "quantity must be greater than 0, got -1",
    ]
    assert "quantity is not a number" not in grouped  # only one example reason per group
    # every rejected row is listed below the grouped table (issue 11)
    assert "quantity is not a number" in report.split("Rejected rows by file and column")[1]


# --------------------------------------------------------------------------- --template


def test_report_cli_passes_template_to_run_batch(tmp_path, monkeypatch, capsys):
    from immex_nb.cli import main
    from immex_nb.commands import report as report_pkg

    data = write_clients(tmp_path / "data")
    out = tmp_path / "out"
    missing = tmp_path / "elsewhere" / "my_report.ipynb"
    argv = ["report", "--data", str(data), "--period", PERIOD, "--out", str(out)]
    # the real batch refuses a template that is not there, before running anything
    assert main([*argv, "--template", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "my_report.ipynb" in err and "does not exist" in err
    assert not out.exists() or not any(out.rglob("report.html"))
    seen = {}

    def fake_run_batch(*args, **kwargs):
        seen.update(args=args, kwargs=kwargs)

        return BatchResult(out=Path(args[2]))

    monkeypatch.setattr(report_pkg, "run_batch", fake_run_batch)
    assert main([*argv, "--template", str(FIXTURE_TEMPLATE)]) == 0
    assert seen["kwargs"]["template"] == str(FIXTURE_TEMPLATE)
    assert main(argv) == 0 and seen["kwargs"]["template"] is None


def test_missing_default_template_names_the_option(tmp_path, monkeypatch):
    from immex_nb.report import batch as batch_mod

    monkeypatch.delenv("IMMEX_NB_TEMPLATE", raising=False)
    # as if installed outside a source checkout: no notebooks/ beside the package
    monkeypatch.setattr(
        batch_mod, "__file__", str(tmp_path / "site" / "immex_nb" / "report" / "batch.py")
    )
    with pytest.raises(ImmexError, match=r"--template PATH"):
        default_template()


# --------------------------------------------------------------------------- immex-nb demo


@pytest.fixture
def demo_calls(monkeypatch, tmp_path):
    """``immex-nb demo`` with the batch and the demo generator replaced by
    recorders: ``calls["batch"]`` = (root, periods) per run, ``calls["write"]``
    = roots the generator was asked to fill (it writes the gamma client)."""
    import immex_nb.samples.demo
    from immex_nb.commands import demo as demo_mod

    calls = {"batch": [], "write": []}

    def fake_run_batch(root, periods, out, **kwargs):

        calls["batch"].append((Path(root), list(periods)))
        return BatchResult(out=Path(out))

    def fake_write_demo(root):
        calls["write"].append(Path(root))
        write_gamma(Path(root) / "gamma")

    monkeypatch.setattr(demo_mod, "run_batch", fake_run_batch)
    monkeypatch.setattr(immex_nb.samples.demo, "write_demo", fake_write_demo)
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.setattr(demo_mod, "default_demo_root", lambda: repo / "data" / "demo")
    monkeypatch.chdir(repo)
    calls["repo"] = repo
    return calls


def cli_demo(data_root, out, months=3):
    """``immex-nb demo --data DATA_ROOT --out OUT --months N`` (its exit code)."""
    from argparse import Namespace

    from immex_nb.commands import demo

    args = Namespace(data=data_root, out=out, months=months, workers=None, template=None)
    return demo.run(args)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_demo_refuses_a_mistyped_folder_and_creates_nothing(demo_calls, tmp_path):
    typo = tmp_path / "dat" / "demo"
    with pytest.raises(ImmexError, match=r"dat/demo does not exist.*imports\.csv"):
        cli_demo(typo, tmp_path / "out")
    assert not (tmp_path / "dat").exists()
    assert demo_calls["write"] == [] and demo_calls["batch"] == []


def test_demo_refuses_one_client_folder_and_leaves_it_alone(demo_calls, tmp_path):
    data = write_clients(tmp_path / "data")
    before = _tree(data)
    with pytest.raises(ImmexError, match="one client's folder"):
        cli_demo(data / "acme", tmp_path / "out")
    empty = tmp_path / "notes"
    (empty / "misc").mkdir(parents=True)
    (empty / "misc" / "readme.txt").write_text("no data here")
    with pytest.raises(ImmexError, match=r"no client folder found in .*notes.*exports\.csv"):
        cli_demo(empty, tmp_path / "out")
    assert _tree(data) == before and _tree(empty) == ["misc", "misc/readme.txt"]
    assert demo_calls["write"] == [] and demo_calls["batch"] == []


def test_demo_finds_clients_in_any_capitals_and_workbooks(demo_calls, tmp_path):
    """A folder named like a demo client but holding IMPORTS.CSV, and a
    client whose tables are sheets of one workbook, are clients: the batch
    runs on them (periods ending with acme's last date, 2025-04) and no demo
    data is written over them."""
    import pandas as pd
    from report_helpers import ACME_EXPORTS, ACME_IMPORTS

    from immex_nb.report.demo import client_folders

    root = tmp_path / "clients"
    upper = root / "electronica-norte"
    upper.mkdir(parents=True)
    (upper / "IMPORTS.CSV").write_text(ACME_IMPORTS, encoding="utf-8")
    (upper / "Exports.Csv").write_text(ACME_EXPORTS, encoding="utf-8")
    book = root / "workbook-client"
    book.mkdir()
    with pd.ExcelWriter(book / "anexo24.xlsx") as xl:
        for sheet, text in (("Imports", ACME_IMPORTS), ("EXPORTS", ACME_EXPORTS)):
            rows = [line.split(",") for line in text.strip().splitlines()]
            pd.DataFrame(rows[1:], columns=rows[0]).to_excel(xl, sheet_name=sheet, index=False)
    (root / "archive").mkdir()  # a folder without client data is skipped
    before = _tree(root)
    assert client_folders(root) == ["electronica-norte", "workbook-client"]
    assert cli_demo(root, tmp_path / "out") == 0
    assert demo_calls["batch"] == [(root, ["2025-02", "2025-03", "2025-04"])]
    assert demo_calls["write"] == [] and _tree(root) == before
    assert (upper / "IMPORTS.CSV").read_text(encoding="utf-8") == ACME_IMPORTS


def test_demo_writes_only_the_missing_default_folder(demo_calls, tmp_path):
    repo = demo_calls["repo"]
    # "data/demo" from the repository = the default location: generated once
    assert cli_demo("data/demo", tmp_path / "out") == 0
    assert demo_calls["write"] == [Path("data/demo")]
    assert demo_calls["batch"][-1] == (Path("data/demo"), ["2025-01", "2025-02", "2025-03"])
    # present now: used as it is, not rewritten
    assert cli_demo(None, tmp_path / "out", months=1) == 0
    assert len(demo_calls["write"]) == 1
    assert demo_calls["batch"][-1] == (repo / "data" / "demo", ["2025-03"])
    # an existing but emptied default folder is not refilled either
    shutil.rmtree(repo / "data" / "demo" / "gamma")
    with pytest.raises(ImmexError, match="no client folder found"):
        cli_demo(None, tmp_path / "out")
    assert len(demo_calls["write"]) == 1


def test_demo_cli_defaults_and_errors(tmp_path, capsys):
    from immex_nb.cli import build_parser, main

    args = build_parser().parse_args(["demo"])
    assert args.data is None and args.template is None
    typo = tmp_path / "dta"
    assert main(["demo", "--data", str(typo), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "dta does not exist" in err and "Traceback" not in err
    assert not typo.exists() and not (tmp_path / "out").exists()
    # --template reaches the batch through demo too (checked before anything runs)
    data = write_clients(tmp_path / "data")
    missing = tmp_path / "nowhere.ipynb"
    rc = main(
        ["demo", "--data", str(data), "--out", str(tmp_path / "out"), "--template", str(missing)]
    )
    assert rc == 2 and "nowhere.ipynb does not exist" in capsys.readouterr().err
