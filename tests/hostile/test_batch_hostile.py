"""The report batch under a careless or hostile user (issue 14, items 5, 7, 8, 9).

Each case runs the real command line in a subprocess on two tiny client
folders and the small fixture template, and checks the exit code, that
stderr holds no traceback, and what was (not) written:

- ``kill -9`` of the batch leaves no worker or kernel running and nothing more
  is written into OUT (item 5);
- a second batch into an OUT another run holds refuses with exit 2 naming
  that run (item 7);
- a period outside the years the tables serve is refused up front (item 8);
- an OUT that cannot be written is refused up front with one line (item 9).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_TEMPLATE = ROOT / "tests" / "fixtures" / "report" / "fixture_report.ipynb"
PERIOD = "2025-03"
IMPORTS = """pedimento,line,clave,date,part_number,quantity,value_usd,value_mxn,material_type
24 47 3420 4000001,1,IN,2024-11-20,CAP-1,1000,500,10000,MP
"""
EXPORTS = """pedimento,line,clave,date,part_number,quantity,value_usd,destination
25 47 3420 5100001,1,RT,2025-03-10,CAP-1,400,300,USA
"""


def write_data(root: Path, names=("uno", "dos")) -> Path:
    for name in names:
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "imports.csv").write_text(IMPORTS, encoding="utf-8")
        (folder / "exports.csv").write_text(EXPORTS, encoding="utf-8")
    return root


def env(**extra) -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), e.get("PYTHONPATH")) if p)
    e.update(extra)
    return e


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "immex_nb.cli", *map(str, args)]


def report_args(data: Path, out: Path, *more, template: Path = FIXTURE_TEMPLATE) -> list[str]:
    return cli(
        "report", "--data", data, "--period", PERIOD, "--out", out, "--template", template, *more
    )


def run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=kw.pop("env", env()), **kw)


def assert_refused(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr


def tree(root: Path) -> dict[str, tuple[int, int]]:
    if not root.exists():
        return {}
    out = {}
    for p in sorted(root.rglob("*")):
        try:
            st = p.lstat()
        except FileNotFoundError:
            continue
        out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


# --------------------------------------------------------------------------- item 5: kill -9


def marked_processes(mark: str) -> dict[int, str]:
    """pid → command line of every process whose environment carries ``mark``."""
    found = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            environ = (d / "environ").read_bytes()
            cmdline = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if mark.encode() in environ:
            found[int(d.name)] = cmdline
    return found


def wait_for(predicate, what: str, limit: float = 120.0):
    """Poll ``predicate`` until it returns something truthy (a generous limit
    only so that a broken build fails instead of hanging)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def sleepy_template(folder: Path) -> Path:
    """The fixture template with a cell that sleeps for two minutes after the parameters."""
    nb = nbformat.read(FIXTURE_TEMPLATE, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell("import time\ntime.sleep(120)"))
    path = folder / "sleepy_report.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_kill_9_of_the_batch_leaves_no_process_and_writes_nothing_more(tmp_path, workers):
    data = write_data(tmp_path / "data")
    out = tmp_path / "out"
    mark = f"immex-nb-kill-test-{uuid.uuid4().hex}"
    argv = report_args(data, out, "--workers", workers, template=sleepy_template(tmp_path))
    proc = subprocess.Popen(
        argv,
        env=env(IMMEX_NB_TEST_MARK=mark),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    seen: dict[int, str] = {}
    try:
        want = int(workers)

        def kernels_sleeping():
            procs = marked_processes(mark)
            seen.update(procs)
            kernels = [c for c in procs.values() if "ipykernel" in c]
            stages = list(out.glob(f"*/.{PERIOD}.tmp-*"))
            return len(kernels) >= want and len(stages) >= want

        wait_for(kernels_sleeping, "the kernels to start")
        time.sleep(1.0)  # into the sleeping cell
        seen.update(marked_processes(mark))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        left = wait_for(lambda: not marked_processes(mark) or None, "the processes to end", 30)
        assert left, marked_processes(mark)
        before = tree(out)
        time.sleep(2.0)
        assert tree(out) == before  # nothing more is written into OUT
        assert not (out / "index.html").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in marked_processes(mark):  # only what this test started
            if pid in seen:
                os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- item 7: the lock on OUT


def test_a_second_batch_into_a_locked_out_refuses_naming_the_other_run(tmp_path):
    from immex_nb.report.batch import LOCK_NAME, lock_out

    data = write_data(tmp_path / "data")
    out = tmp_path / "out"
    out.mkdir()
    with lock_out(out):
        info = json.loads((out / LOCK_NAME).read_text(encoding="utf-8"))
        assert info["pid"] == os.getpid()
        proc = run(report_args(data, out))
        assert_refused(
            proc, "in use by another immex-nb run", f"pid {os.getpid()}", socket.gethostname()
        )
        assert info["started_utc"] in proc.stderr
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # nothing run, nothing written
    # released when the run ends: the next one takes it
    with lock_out(out):
        pass


# --------------------------------------------------------------------------- item 8: periods


@pytest.mark.parametrize("bad", ["0000-01", "9999-12", "1989-12", "2081-01"])
def test_a_period_the_tables_cannot_serve_is_refused_up_front(tmp_path, bad):
    data = write_data(tmp_path / "data")
    out = tmp_path / "out"
    proc = run(cli("report", "--data", data, "--period", bad, "--out", out))
    assert_refused(proc, bad, "1990–2080")
    assert not out.exists()
    from immex_nb.errors import ImmexError
    from immex_nb.report import run_batch

    with pytest.raises(ImmexError, match="1990–2080"):
        run_batch(data, [bad], out, template=FIXTURE_TEMPLATE, echo=False)
    assert not out.exists()


@pytest.mark.parametrize("period", ["1990-01", "2080-12"])
def test_the_edge_periods_are_served_by_the_rate_tables(period):
    import pandas as pd

    from immex_nb.dates import Period
    from immex_nb.rates import default_rates

    p = Period.parse(period)
    rates = default_rates()
    table = rates.inpc_factor_table(pd.Series(pd.to_datetime(["1990-01-15", str(p.end)])), p.end)
    assert table["inpc_factor"].notna().all() and (table["inpc_factor"] >= 1).all()
    assert rates.surcharge_rate(p.year) > 0


# --------------------------------------------------------------------------- item 9: unwritable OUT


def _readonly_runner(out: Path):
    """How to run a command with ``out`` read-only: a read-only bind mount in
    a private mount namespace for root (who ignores modes), else chmod 555."""
    if os.geteuid() != 0:
        out.chmod(0o555)
        return lambda argv: run(argv)
    if not shutil.which("unshare"):
        pytest.skip("root without unshare: cannot make a folder read-only")
    probe = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            f"mount --bind '{out}' '{out}' && mount -o remount,bind,ro '{out}' '{out}'",
        ],
        capture_output=True,
    )
    if probe.returncode != 0:
        pytest.skip("cannot mount read-only here")

    def runner(argv):
        script = f"mount --bind '{out}' '{out}' && mount -o remount,bind,ro '{out}' '{out}' && exec \"$@\""
        return run(["unshare", "-m", "sh", "-c", script, "sh", *argv])

    return runner


@pytest.mark.parametrize("command", ["report", "demo"])
def test_an_unwritable_out_is_refused_up_front_in_one_line(tmp_path, command):
    data = write_data(tmp_path / "data")
    out = tmp_path / "out"
    out.mkdir()
    runner = _readonly_runner(out)
    if command == "report":
        argv = report_args(data, out, "--workers", "2")
    else:
        argv = cli("demo", "--data", data, "--out", out, "--template", FIXTURE_TEMPLATE)
    proc = runner(argv)
    assert_refused(proc, f"output folder {out} cannot be written")
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1, proc.stderr
    assert list(out.iterdir()) == []


def test_an_out_that_is_a_file_or_under_a_file_is_refused(tmp_path):
    data = write_data(tmp_path / "data")
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for out, words in ((afile, "is a file"), (afile / "out", "cannot be written")):
        proc = run(report_args(data, out))
        assert_refused(proc, words)
        assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1
    assert afile.read_text() == "not a folder"
