"""The report batch on Dask (docs/report.md, docs/batch.md, docs/batch.md).

- A real cluster — ``dask scheduler`` and two ``dask worker`` processes on
  localhost — gets a batch with one broken client through ``--scheduler``;
  one worker is killed mid-batch: every report is written or recorded as
  failed, and the index lists them all.
- ``--workers 2`` (a local cluster) writes the same files as one worker,
  bar timestamps, random plotly ids and the staging folder's name.

Both use the small fixture template (tests/fixtures/report).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from immex_nb.report.batch import BatchResult

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_TEMPLATE = ROOT / "tests" / "fixtures" / "report" / "fixture_report.ipynb"
PERIOD = "2025-03"
IMPORTS = """pedimento,line,clave,date,part_number,quantity,value_usd,value_mxn,material_type
24 47 3420 4000001,1,IN,2024-11-20,CAP-{n},{q},500,10000,MP
"""
EXPORTS = """pedimento,line,clave,date,part_number,quantity,value_usd,destination
25 47 3420 5100001,1,RT,2025-03-10,CAP-{n},40,300,USA
"""


def write_data(root: Path, good: int, broken: bool = True) -> Path:
    """``good`` client folders ``c1…``, and ``broken`` (no exports.csv)."""
    for n in range(1, good + 1):
        folder = root / f"c{n}"
        folder.mkdir(parents=True)
        (folder / "imports.csv").write_text(IMPORTS.format(n=n, q=100 * n), encoding="utf-8")
        (folder / "exports.csv").write_text(EXPORTS.format(n=n), encoding="utf-8")
    if broken:
        (root / "broken").mkdir()
        (root / "broken" / "imports.csv").write_text(IMPORTS.format(n=0, q=1), encoding="utf-8")
    return root


def wait_for(predicate, what: str, limit: float = 120.0):
    """Poll until ``predicate()`` is truthy (the limit only turns a hang into a failure)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def _env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), e.get("PYTHONPATH")) if p)
    return e


def _start(argv, log: Path) -> subprocess.Popen:
    fh = open(log, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        argv, stdout=fh, stderr=subprocess.STDOUT, env=_env(), start_new_session=True
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the worker and its children
        proc.wait()


@pytest.fixture
def cluster(tmp_path):
    """``dask scheduler`` + two ``dask worker`` processes; yields (address, [workers])."""
    dask_bin = Path(sys.executable).with_name("dask")
    if not dask_bin.exists():
        pytest.skip("the dask command is not installed beside this Python")
    sched_file = tmp_path / "scheduler.json"
    procs = []
    try:
        scheduler = _start(
            [
                str(dask_bin),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(sched_file),
            ],
            tmp_path / "scheduler.log",
        )
        procs.append(scheduler)
        address = wait_for(
            lambda: (
                sched_file.exists() and json.loads(sched_file.read_text() or "{}").get("address")
            ),
            "the scheduler",
        )
        workers = []
        for i in range(2):
            w = _start(
                [
                    str(dask_bin),
                    "worker",
                    address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--local-directory",
                    str(tmp_path / f"w{i}"),
                ],
                tmp_path / f"worker{i}.log",
            )
            procs.append(w)
            workers.append(w)
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address, workers
    finally:
        for p in reversed(procs):
            _stop(p)


@pytest.mark.slow
def test_batch_on_an_existing_cluster_survives_a_killed_worker(tmp_path, cluster):
    address, workers = cluster
    data = write_data(tmp_path / "data", good=4)
    out = tmp_path / "out"
    argv = [
        sys.executable,
        "-m",
        "immex_nb.cli",
        "report",
        "--data",
        str(data),
        "--period",
        PERIOD,
        "--out",
        str(out),
        "--scheduler",
        address,
        "--template",
        str(FIXTURE_TEMPLATE),
    ]
    batch = subprocess.Popen(
        argv, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        # mid-batch: a report is being written
        wait_for(lambda: list(out.glob(f"*/.{PERIOD}.tmp-*")), "a report to start")
        _stop(workers[0])
        stdout, stderr = batch.communicate(timeout=300)
    finally:
        if batch.poll() is None:
            batch.kill()
            batch.wait()
    assert batch.returncode == 1, stderr  # the broken client failed
    assert "Traceback" not in stderr
    assert address in stderr  # where it ran
    index = (out / "index.html").read_text(encoding="utf-8")
    for client in ("c1", "c2", "c3", "c4", "broken"):
        folder = out / client / PERIOD
        manifest = folder / "manifest.json"
        assert client in index
        if manifest.exists() and json.loads(manifest.read_text())["status"] == "ok":
            assert {"report.html", "kpis.json", "annex.xlsx", "report.ipynb"} <= {
                p.name for p in folder.iterdir()
            }
        else:  # failed: recorded in the output with its reason
            assert f"FAILED {client} {PERIOD}" in stderr
    assert f"FAILED broken {PERIOD}" in stderr and "exports.csv" in stderr
    assert not list(out.glob(f"*/.{PERIOD}.tmp-*"))  # no staging left behind


# --------------------------------------------------------------------------- same files as one worker

_RANDOM = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\.tmp-[0-9a-f]{10}"), ".tmp-<id>"),
    (re.compile(r'"id": "[0-9a-f]{8}"'), '"id": "<cell>"'),  # cells papermill adds
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?"), "<time>"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d( UTC)?"), "<time>"),  # the index's "generated"
    (re.compile(r'"(duration|seconds|notebook_s|html_s|pdf_s)":\s*[^,}\n]*'), r'"\1": <t>'),
]


def _normalised(path: Path, out: Path) -> str | bytes:
    if path.suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path)
        return repr([(ws.title, [list(r) for r in ws.iter_rows(values_only=True)]) for ws in wb])
    text = path.read_text(encoding="utf-8").replace(str(out.resolve()), "<OUT>")
    for pattern, repl in _RANDOM:
        text = pattern.sub(repl, text)
    return text


@pytest.mark.slow
def test_a_local_cluster_writes_the_same_files_as_one_worker(tmp_path):
    from immex_nb.report import run_batch

    data = write_data(tmp_path / "data", good=1, broken=True)
    results = {}
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        res = run_batch(
            data,
            [PERIOD],
            out,
            workers=workers,
            template=FIXTURE_TEMPLATE,
            echo=False,
            progress=False,
        )
        results[workers] = (out, res)
    (out1, r1), (out2, r2) = results[1], results[2]
    assert [(r.client, r.status, r.reason) for r in r1.results] == [
        (r.client, r.status, r.reason) for r in r2.results
    ]
    assert r1.exit_code == r2.exit_code == 1
    files1 = sorted(p.relative_to(out1) for p in out1.rglob("*") if p.is_file())
    files2 = sorted(p.relative_to(out2) for p in out2.rglob("*") if p.is_file())
    assert files1 == files2
    for rel in files1:
        if rel.name.startswith("."):  # the lock and the kernels' log
            continue
        assert _normalised(out1 / rel, out1) == _normalised(out2 / rel, out2), rel


# --------------------------------------------------------------------------- --lang, --pdf


def test_language_is_the_option_else_the_clients_setting_else_spanish(tmp_path, monkeypatch):
    from immex_nb.report import batch

    data = write_data(tmp_path / "data", good=3, broken=False)
    (data / "c1" / "client.toml").write_text('name = "Uno"\nlanguage = "en"\n', encoding="utf-8")
    (data / "c3" / "client.toml").write_text('language = "fr"\n', encoding="utf-8")
    seen = []
    monkeypatch.setattr(batch, "_execute_here", lambda tasks, progress: seen.extend(tasks) or [])
    import immex_nb.report.index

    monkeypatch.setattr(immex_nb.report.index, "write_index", lambda out, results, **kw: None)
    res = batch.run_batch(data, [PERIOD], tmp_path / "out", template=FIXTURE_TEMPLATE, echo=False)
    assert {t.client: t.language for t in seen} == {"c1": "en", "c2": "es"}
    assert [(r.client, r.status) for r in res.results] == [("c3", "failed")]
    reason = res.results[0].reason
    assert "client.toml: language must be one of" in reason and "'fr'" in reason
    seen.clear()
    batch.run_batch(
        data,
        [PERIOD],
        tmp_path / "out",
        template=FIXTURE_TEMPLATE,
        language="en",
        pdf=True,
        echo=False,
    )
    assert {(t.language, t.pdf) for t in seen} == {("en", True)}


def test_report_options_reach_run_batch(tmp_path, monkeypatch):

    from immex_nb.cli import main
    from immex_nb.commands import report as report_pkg

    seen = {}
    monkeypatch.setattr(
        report_pkg, "run_batch", lambda *a, **kw: seen.update(kw) or BatchResult(out=Path(a[2]))
    )
    argv = ["report", "--data", str(tmp_path), "--period", PERIOD, "--out", str(tmp_path / "o")]
    assert main([*argv, "--lang", "en", "--pdf", "--scheduler", "tcp://127.0.0.1:8786"]) == 0
    assert seen["language"] == "en" and seen["pdf"] is True
    assert seen["scheduler"] == "tcp://127.0.0.1:8786" and seen["workers"] is None
    assert main([*argv, "--workers", "3"]) == 0
    assert seen["workers"] == 3 and seen["language"] is None and seen["pdf"] is False
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_pdf_is_written_from_the_html_with_the_header_and_language(tmp_path, monkeypatch):
    import types

    from immex_nb.report import batch

    calls = []

    def write_pdf(html, pdf, *, header, lang):
        calls.append((Path(html).name, header, lang))
        Path(pdf).write_bytes(b"%PDF-1.4\n")

    monkeypatch.setitem(
        sys.modules, "immex_nb.report.pdf", types.SimpleNamespace(write_pdf=write_pdf)
    )
    data = write_data(tmp_path / "data", good=1, broken=False)
    out = tmp_path / "out"
    res = batch.run_batch(
        data, [PERIOD], out, template=FIXTURE_TEMPLATE, pdf=True, echo=False, progress=False
    )
    assert res.exit_code == 0, res.failed
    assert calls == [("report.html", f"c1 · {PERIOD}", "es")]
    assert (out / "c1" / PERIOD / "report.pdf").read_bytes().startswith(b"%PDF")
