"""The monthly report batch: every client folder × every period → a report.

What a consulting firm runs on the first working day of the month::

    immex-nb report --data clients/ --period 2025-02 --period 2025-03 --out reports/

For ``clients/acme`` and period ``2025-03`` (as of 2025-03-31) the batch runs
the template notebook with papermill, parameters ``client="acme"``,
``period="2025-03"``, ``data_dir="/…/clients/acme"``, ``previous_period=
"2025-02"``, ``output_dir=<staging folder>`` and leaves::

    reports/acme/2025-03/report.ipynb   executed notebook (kept with its error on failure)
                         report.html    for the client: outputs only, offline plotly
                         annex.xlsx     the tables behind the report (written by the notebook)
                         kpis.json      the headline figures (written by the notebook)
                         manifest.json  status, reason, parameters, input SHA-256, timings
    reports/index.html                  every client × period: KPIs, links, failures + reason

Rules, in the order they are applied:

1. **Up front.** Periods (``Period.parse``: years 1990–2080), client names,
   the template's parameters, languages and ``OUT`` are checked before anything
   runs: ``OUT`` must be a folder the batch can write (one line, exit 2), and
   it is locked (``OUT/.immex-nb.lock``, ``fcntl.flock``) — a second batch into
   the same ``OUT`` refuses, naming the run that holds it (pid, host, start).
2. **Names.** A client is a folder name.  Names with a path separator,
   ``..``, a leading dot, control characters or that resolve outside ``OUT``
   are refused (``ImmexError`` for names given with ``--client``; a folder
   found under ``DATA_ROOT`` with such a name is listed as failed, never run).
3. **Parameters.** The template's parameters are read with
   ``papermill.inspect_notebook``; a parameter the batch would pass that the
   template does not declare stops the batch before anything runs.
   ``language`` is ``--lang``, else the client's ``language`` setting, else
   ``es`` (:func:`immex_nb.text.resolve_lang`).
4. **Isolation.** Each client-month starts its own kernel (papermill), so a
   report never sees another report's state.  One worker (the default) runs
   them one after the other in this process; ``workers=N`` runs them on a
   local ``dask.distributed`` cluster of N single-threaded worker processes;
   ``scheduler=ADDRESS`` submits them to an existing Dask cluster
   (docs/batch.md).  An exception, a failing cell, a dead kernel or a lost
   worker (after Dask's retries) marks that client-month failed and the
   others go on; the index is always written.
5. **No strays.** Kernels die with the process that started them (Linux
   ``PR_SET_PDEATHSIG`` plus a parent-pid watchdog), and Dask's local worker
   processes die with the batch: ``kill -9`` of the batch leaves nothing
   running and nothing more is written into ``OUT``.
6. **Atomicity.** A client-month is written into ``OUT/<client>/.<period>.tmp-*``
   and swapped into ``OUT/<client>/<period>`` with ``os.rename`` only when
   complete; a rerun replaces the whole folder (no stale files survive).
7. **Exit code.** ``BatchResult.exit_code`` is 1 if any client-month failed,
   else 0.

The notebook writes ``kpis.json`` and ``annex.xlsx`` itself, from the same
:func:`immex_nb.report.sections.build_report_data` call whose figures it
displays, so the report, the annex and the index can never disagree.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from immex_nb.dates import Period
from immex_nb.errors import ImmexError
from immex_nb.outputs import check_out

TEMPLATE_NAME = "monthly_report.ipynb"
#: parameters the batch passes to the template (all must be declared there)
BATCH_PARAMETERS = ("client", "period", "data_dir", "language", "previous_period", "output_dir")
#: files a successful client-month must contain
REQUIRED_OUTPUTS = ("report.ipynb", "report.html", "annex.xlsx", "kpis.json")
CELL_TIMEOUT_S = 600
#: kernels' own messages (ipykernel warnings, crashes) of the last run, in OUT
LOG_NAME = ".report-kernels.log"
#: start each report's kernel while the previous report runs (IMMEX_NB_WARM_KERNELS=0: off)
WARM_KERNELS = os.environ.get("IMMEX_NB_WARM_KERNELS", "1") != "0"
#: the lock a running batch holds on OUT
LOCK_NAME = ".immex-nb.lock"
_TMP_MARK = ".tmp-"
_OLD_MARK = ".old-"


# --------------------------------------------------------------------------- names and periods


def validate_client_name(name: str, out: str | os.PathLike | None = None) -> str:
    """Return ``name`` if it is a safe folder name (and ``OUT/name`` stays in
    ``OUT``), else raise :class:`ImmexError`.

    >>> validate_client_name("acme-mx")
    'acme-mx'
    >>> validate_client_name("../etc")
    Traceback (most recent call last):
    ...
    immex_nb.errors.ImmexError: client name '../etc' is not allowed: ...
    """
    why = _name_problem(name)
    if why is None and out is not None:
        root = Path(out).resolve()
        target = (root / name).resolve()
        if target.parent != root:
            why = f"it resolves to {target}, outside {root}"
    if why:
        raise ImmexError(
            f"client name {name!r} is not allowed: {why}; "
            "use the client's folder name (no '/', '\\\\', '..', leading dot or control characters)"
        )
    return name


def _name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not name.strip():
        return "it is empty"
    if name != name.strip():
        return "it starts or ends with spaces"
    if "/" in name or "\\" in name or (os.altsep and os.altsep in name) or os.sep in name:
        return "it contains a path separator"
    if name in (".", "..") or ".." in name:
        return "it contains '..'"
    if name.startswith("."):
        return "it starts with a dot"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "it contains control characters"
    if len(name.encode("utf-8")) > 200:
        return "it is longer than 200 bytes"
    return None


# --------------------------------------------------------------------------- template


def default_template() -> Path:
    """The report template: ``notebooks/monthly_report.ipynb`` of the repository
    the package runs from (``IMMEX_NB_TEMPLATE`` overrides it)."""
    env = os.environ.get("IMMEX_NB_TEMPLATE")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parent.parent
    for candidate in (
        package.parent / "notebooks" / TEMPLATE_NAME,
        package / "notebooks" / TEMPLATE_NAME,
    ):
        if candidate.is_file():
            return candidate
    raise ImmexError(
        f"report template {TEMPLATE_NAME} not found in {package.parent / 'notebooks'}; "
        "pass --template PATH (immex-nb report, immex-nb demo), template=PATH to run_batch, "
        "or set IMMEX_NB_TEMPLATE"
    )


def check_template_parameters(
    template: str | os.PathLike, names: Iterable[str] = BATCH_PARAMETERS
) -> dict:
    """Declared parameters of ``template`` (``papermill.inspect_notebook``);
    raise :class:`ImmexError` if any of ``names`` is not among them."""
    _import_jupyter()
    import papermill as pm

    path = Path(template)
    if not path.is_file():
        raise ImmexError(f"report template {path} does not exist")
    try:
        declared = pm.inspect_notebook(str(path))
    except Exception as exc:  # unreadable notebook JSON, no parameters cell …
        raise ImmexError(f"report template {path} cannot be inspected: {exc}") from None
    unknown = sorted(set(names) - set(declared))
    if unknown:
        raise ImmexError(
            f"report template {path} does not declare parameter(s) {unknown}; "
            f"its parameters cell declares {sorted(declared)}"
        )
    return declared


# --------------------------------------------------------------------------- tasks and results


@dataclass(frozen=True)
class Task:
    client: str
    period: str
    data_dir: str  # the client's folder (absolute)
    out: str  # OUT (absolute)
    template: str
    language: str = "es"
    pdf: bool = False
    kernel_log: str = ""  # where the kernel's own messages go (OUT/.report-kernels.log)


@dataclass
class TaskResult:
    client: str
    period: str
    status: str  # "ok" | "failed"
    reason: str = ""
    seconds: float = 0.0
    folder: str | None = None  # OUT/<client>/<period>, None when nothing could be written


@dataclass
class BatchResult:
    out: Path
    results: list[TaskResult] = field(default_factory=list)
    seconds: float = 0.0
    dashboard: str | None = None  # the Dask dashboard's address, when there was one

    @property
    def failed(self) -> list[TaskResult]:
        return [r for r in self.results if r.status != "ok"]

    @property
    def ok(self) -> list[TaskResult]:
        return [r for r in self.results if r.status == "ok"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    @property
    def index(self) -> Path:
        return self.out / "index.html"


# --------------------------------------------------------------------------- kernels

#: Run as ``python -c`` by every report kernel before ipykernel starts: send the
#: kernel's own messages (ipykernel warnings, crashes) to the batch's log, die
#: with the process that started it (``PR_SET_PDEATHSIG`` on Linux, and a
#: parent-pid watchdog everywhere), and skip ``rfc3987_syntax``, which
#: jsonschema (pulled in by plotly.io → nbformat) imports only to validate IRI
#: formats nobody asks for and which builds a grammar at import (≈1 s).
#: A *spare* kernel (``IMMEX_NB_KERNEL_SPARE`` set) imports the template's usual
#: modules, then waits for one line on its stdin naming its connection file and
#: working folder (or exits after ``SPARE_IDLE_S``, or when the pipe closes): it starts while the previous
#: report runs, so the next report finds a kernel that is up and has paid its
#: imports — a fresh process all the same, that no report has run in.
_KERNEL_BOOT = r"""
import os, sys, threading, time
log = os.environ.pop("IMMEX_NB_KERNEL_LOG", "")
spare = os.environ.pop("IMMEX_NB_KERNEL_SPARE", "")
preload = os.environ.pop("IMMEX_NB_KERNEL_PRELOAD", "")
idle = float(os.environ.pop("IMMEX_NB_KERNEL_IDLE", "120") or 120)
if log:
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    except OSError:
        pass
ppid = int(os.environ.pop("IMMEX_NB_KERNEL_PARENT", "0") or 0) or os.getppid()
if sys.platform.startswith("linux"):
    try:
        import ctypes, signal
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    except Exception:
        pass
if os.getppid() != ppid:
    os._exit(1)
def _watch():
    while True:
        time.sleep(0.25)
        if os.getppid() != ppid:
            os._exit(1)
threading.Thread(target=_watch, name="immex-nb-parent-watch", daemon=True).start()
sys.modules.setdefault("rfc3987_syntax", None)
if sys.path and sys.path[0] == "":
    del sys.path[0]
if spare:
    import importlib, json, select
    for name in filter(None, preload.split(",")):
        try:
            importlib.import_module(name)
        except Exception:
            pass
    ready, _, _ = select.select([0], [], [], idle)
    line = os.read(0, 1 << 16).decode("utf-8") if ready else ""
    if not line.strip():
        os._exit(0)
    info = json.loads(line)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.chdir(info["cwd"])
    sys.argv[1:] = info["argv"]
sys.argv[0] = "ipykernel_launcher"
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""

#: what a spare kernel imports while it waits (the template's usual imports)
SPARE_PRELOAD = (
    "numpy",
    "pandas",
    "ipykernel.kernelapp",
    "IPython.display",
    "plotly.graph_objects",
    "plotly.io",
    "immex_nb",
    "immex_nb.report.render",
    "immex_nb.report.annex",
    "immex_nb.report.sections",
    # what the first cell imports on its way (loading, validation, the annex, figures)
    "nbformat",
    "jinja2",
    "xlsxwriter",
    "immex_nb.load",
    "immex_nb.run",
    "immex_nb.kpis",
    "immex_nb.savings",
    "immex_nb.tmec",
    "immex_nb.kinds",
    "immex_nb.anexo30",
    "immex_nb.figures",
    "immex_nb.datastage.reader",
    "immex_nb.datastage.compulsa",
    "immex_nb.partition",
    # plotly's renderers, templates and trace classes, imported on first use otherwise
    "plotly.io._renderers",
    "plotly.io._templates",
    "plotly.io._html",
    "plotly.graph_objs._figure",
    "plotly.graph_objs.layout._template",
    "plotly.graph_objs.layout.template._data",
    "plotly.graph_objs._bar",
    "plotly.graph_objs._scatter",
    "plotly.graph_objs._waterfall",
    "plotly.graph_objs._heatmap",
    "_plotly_utils.data_utils",
)
#: a spare kernel nobody took ends itself after this many seconds
SPARE_IDLE_S = 120

_SPARE_LOCK = threading.Lock()
_SPARE: dict = {}


def _kernel_env(log_path: str) -> dict[str, str]:
    env = {"IMMEX_NB_KERNEL_PARENT": str(os.getpid())}
    if log_path:
        env["IMMEX_NB_KERNEL_LOG"] = log_path
    return env


def _start_spare(log_path: str) -> None:
    """Start the next report's kernel now (it imports, then waits for its line on stdin)."""
    import subprocess
    import tempfile

    from jupyter_client.launcher import launch_kernel

    env = dict(os.environ)
    env.update(_kernel_env(log_path))
    env.update(
        IMMEX_NB_KERNEL_SPARE="1",
        IMMEX_NB_KERNEL_PRELOAD=",".join(SPARE_PRELOAD),
        IMMEX_NB_KERNEL_IDLE=str(SPARE_IDLE_S),
    )
    try:
        popen = launch_kernel(
            [sys.executable, "-c", _KERNEL_BOOT],
            stdin=subprocess.PIPE,
            env=env,
            cwd=tempfile.gettempdir(),
        )
    except OSError:
        return
    with _SPARE_LOCK:
        old = dict(_SPARE)
        _SPARE.clear()
        _SPARE.update(popen=popen, log=log_path, started=time.monotonic())
    if old:
        _discard_spare(old)


def _have_spare() -> bool:
    with _SPARE_LOCK:
        return bool(_SPARE)


def _take_spare(log_path: str) -> dict | None:
    with _SPARE_LOCK:
        spare = dict(_SPARE)
        _SPARE.clear()
    if not spare:
        return None
    fresh = time.monotonic() - spare["started"] < SPARE_IDLE_S - 5
    if spare["log"] != log_path or spare["popen"].poll() is not None or not fresh:
        _discard_spare(spare)
        return None
    return spare


def _discard_spare(spare: dict | None = None) -> None:
    """End the spare kernel (this process's, when none is given)."""
    if spare is None:
        with _SPARE_LOCK:
            spare = dict(_SPARE)
            _SPARE.clear()
    if not spare:
        return
    popen = spare["popen"]
    if popen.poll() is None:
        popen.kill()
        with contextlib.suppress(Exception):
            popen.wait(timeout=10)
    with contextlib.suppress(OSError):
        popen.stdin.close()


def _kernel_manager_class(log_path: str, warm: bool = False, warm_next: bool = True):
    """A jupyter_client kernel manager whose ``python3`` kernel is this
    interpreter started through :data:`_KERNEL_BOOT` — never a user-level
    kernel spec pointing at another Python — with its messages sent to
    ``log_path``.  ``warm``: take the spare kernel when there is one, and
    (``warm_next``) start the next one for the report after this one."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec

    env = _kernel_env(log_path)

    class ReportKernelManager(AsyncKernelManager):
        @property
        def kernel_spec(self):
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    argv=[sys.executable, "-c", _KERNEL_BOOT, "-f", "{connection_file}"],
                    display_name="Python 3 (immex-nb report)",
                    language="python",
                    env=env,
                )
            return self._kernel_spec

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            spare = _take_spare(log_path) if warm else None
            if warm and warm_next:
                _start_spare(log_path)
            cwd = str(kw.get("cwd") or os.getcwd())
            popen = spare["popen"] if spare else None
            if popen is not None:
                line = json.dumps({"cwd": cwd, "argv": list(kernel_cmd[3:])}) + "\n"
                try:
                    popen.stdin.write(line.encode("utf-8"))
                    popen.stdin.close()
                except OSError:  # it died meanwhile
                    _discard_spare(spare)
                    popen = None
            if popen is None:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            prov = self.provisioner
            prov.process = popen
            prov.pid = popen.pid
            try:
                prov.pgid = os.getpgid(popen.pid)
            except OSError:
                prov.pgid = None
            prov.cwd = cwd
            self._reconcile_connection_info(prov.connection_info)

    return ReportKernelManager


_PREPARED = False


def _prepare_process() -> None:
    """Once per process that runs reports (this one, or a Dask worker): quiet
    papermill's and traitlets' loggers and pay the heavy imports once."""
    global _PREPARED
    if _PREPARED:
        return
    import logging

    logging.getLogger("papermill").setLevel(logging.ERROR)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    _import_jupyter()

    _PREPARED = True


def _warm_html(lang: str) -> None:
    """Import nbconvert and compile the report page's templates by exporting
    an empty notebook: run in a thread while the kernel runs the report, so
    the HTML export after it pays only for the report itself."""
    try:
        import nbformat

        from immex_nb.report.render import notebook_to_html

        notebook_to_html(nbformat.v4.new_notebook(), lang=lang)
    except Exception:  # the real export says what is wrong
        pass


def _import_jupyter() -> None:
    """Import papermill (nbformat → jsonschema) without ``rfc3987_syntax``:
    jsonschema imports it only to check IRI formats nobody here asks for, and
    it builds a grammar at import (≈1 s).  The module is hidden while
    jsonschema's format checkers load, then visible again for anyone else."""
    if "papermill" in sys.modules:
        return
    hide = "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules
    if hide:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        import jupyter_client  # noqa: F401
        import nbformat  # noqa: F401
        import papermill  # noqa: F401
    finally:
        if hide and sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]


def _one_line(text: object, limit: int = 400) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _execution_reason(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None)
    if ename is not None:  # papermill.PapermillExecutionError
        evalue = _one_line(getattr(exc, "evalue", ""))
        return f"{ename}: {evalue}" if evalue else str(ename)
    return _one_line(f"{type(exc).__name__}: {exc}")


def _input_hashes(data_dir: Path) -> dict[str, str]:
    from immex_nb.outputs import sha256_file

    hashes = {}
    if data_dir.is_dir():
        for p in sorted(data_dir.rglob("*")):
            if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(data_dir).parts
            ):
                hashes[p.relative_to(data_dir).as_posix()] = sha256_file(p)
    return hashes


def _client_name(stage: Path, client: str) -> str:
    try:
        k = json.loads((stage / "kpis.json").read_text(encoding="utf-8"))
        return str(k.get("client_name") or client)
    except (OSError, ValueError, AttributeError):
        return client


# --------------------------------------------------------------------------- one client-month


def run_task(task: Task, *, warm_next: bool = True) -> TaskResult:
    """Run one client-month into a staging folder, then swap it into place.

    ``warm_next``: start the next report's kernel while this one runs (off
    for the last report of a serial batch: nobody would take it)."""
    _prepare_process()
    import papermill as pm

    from immex_nb.outputs import write_text
    from immex_nb.report.render import notebook_to_html
    from immex_nb.text import t

    t0 = time.perf_counter()
    client_out = Path(task.out) / task.client
    final = client_out / task.period
    client_out.mkdir(parents=True, exist_ok=True)
    stage = client_out / f".{task.period}{_TMP_MARK}{uuid.uuid4().hex[:10]}"
    stage.mkdir()
    prev = str(Period.parse(task.period).previous)
    warm = threading.Thread(
        target=_warm_html, args=(task.language,), name="immex-nb-warm-html", daemon=True
    )
    warm.start()
    params = {
        "client": task.client,
        "period": task.period,
        "data_dir": task.data_dir,
        "language": task.language,
        "previous_period": prev,
        "output_dir": str(stage),
    }
    status, reason = "ok", ""
    timings: dict[str, float] = {}
    required = list(REQUIRED_OUTPUTS) + (["report.pdf"] if task.pdf else [])
    try:
        try:
            pm.execute_notebook(
                task.template,
                str(stage / "report.ipynb"),
                parameters=params,
                kernel_name="python3",
                language="python",
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                execution_timeout=CELL_TIMEOUT_S,
                cwd=str(stage),
                # every output is on disk when the last cell returns: no graceful shutdown wait
                shutdown_kernel="immediate",
                kernel_manager_class=_kernel_manager_class(
                    task.kernel_log, warm=WARM_KERNELS, warm_next=warm_next
                ),
            )
        except Exception as exc:  # a failing cell, a dead kernel …
            status, reason = "failed", _execution_reason(exc)
        timings["notebook_s"] = round(time.perf_counter() - t0, 3)
        name = _client_name(stage, task.client)
        if status == "ok":
            warm.join()
            t1 = time.perf_counter()
            try:
                title = t("batch.html_title", task.language, name=name, period=task.period)
                html = notebook_to_html(stage / "report.ipynb", title=title)
                write_text(stage / "report.html", html)
            except Exception as exc:
                status, reason = "failed", "HTML export failed: " + _execution_reason(exc)
            timings["html_s"] = round(time.perf_counter() - t1, 3)
        if status == "ok" and task.pdf:
            t1 = time.perf_counter()
            try:
                from immex_nb.report.pdf import write_pdf

                write_pdf(
                    stage / "report.html",
                    stage / "report.pdf",
                    header=f"{name} · {task.period}",
                    lang=task.language,
                )
            except Exception as exc:
                status, reason = "failed", "PDF export failed: " + _execution_reason(exc)
            timings["pdf_s"] = round(time.perf_counter() - t1, 3)
        if status == "ok":
            missing = [f for f in required if not (stage / f).is_file()]
            if missing:
                status, reason = "failed", f"the template did not write {', '.join(missing)}"
        elapsed = time.perf_counter() - t0
        manifest = {
            "command": "report",
            "client": task.client,
            "period": task.period,
            "as_of": Period.parse(task.period).end.isoformat(),
            "status": status,
            "reason": reason,
            "parameters": {k: v for k, v in params.items() if k != "output_dir"},
            "template": task.template,
            "inputs": _input_hashes(Path(task.data_dir)),
            "seconds": round(elapsed, 3),
            "timings": timings,
            "version": _version(),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        write_text(
            stage / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        )
        _swap_into_place(stage, final)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return TaskResult(
        task.client, task.period, status, reason, round(time.perf_counter() - t0, 3), str(final)
    )


def _version() -> str:
    from immex_nb import __version__

    return __version__


def _swap_into_place(stage: Path, final: Path) -> None:
    """Replace ``final`` by ``stage`` with two renames; the old folder is removed
    after the new one is in place."""
    old = None
    if final.exists() or final.is_symlink():
        old = final.with_name(f".{final.name}{_OLD_MARK}{uuid.uuid4().hex[:10]}")
        os.rename(final, old)
    os.rename(stage, final)
    if old is not None:
        if old.is_symlink() or old.is_file():
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- OUT: writable, locked


@contextlib.contextmanager
def lock_out(out: Path, command: str = "report") -> Iterator[Path]:
    """Hold ``OUT/.immex-nb.lock`` (``fcntl.flock``, released by the kernel
    when this process ends, however it ends) while the block runs.  Another
    run holding it → :class:`ImmexError` naming that run (pid, host, start
    time).  Where ``fcntl`` does not exist (Windows) the lock is skipped."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield out
        return
    path = out / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise ImmexError(
            f"output folder {out} cannot be locked ({exc.strerror or exc}); give a folder you can write to"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ImmexError(
                f"output folder {out} is in use by another immex-nb run ({_holder(fd)}); "
                "wait for it to finish or write into another folder"
            ) from None
        info = {
            "command": command,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
        try:
            yield out
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    try:
        raw = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        info = json.loads(raw)
        return (
            f"immex-nb {info.get('command', '?')}, pid {info.get('pid', '?')} on "
            f"{info.get('host', '?')}, started {info.get('started_utc', '?')}"
        )
    except (OSError, ValueError, AttributeError):
        return "a run that has not said who it is yet"


# --------------------------------------------------------------------------- main side


def discover_clients(data_root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Client folders under ``data_root``: (valid names, [(bad name, why)]).
    Files, hidden folders (leading dot) and ``__…`` folders (``__MACOSX``) are
    not clients."""
    if not data_root.is_dir():
        raise ImmexError(
            f"data root {data_root} is not a folder; it should hold one folder per client"
        )
    good, bad = [], []
    for p in sorted(data_root.iterdir(), key=lambda q: q.name):
        if not p.is_dir() or p.name.startswith((".", "__")):  # .git, __MACOSX, __pycache__
            continue
        why = _name_problem(p.name)
        (bad.append((p.name, why)) if why else good.append(p.name))
    return good, bad


def _clean_stale(client_out: Path) -> None:
    """Remove staging/old folders a crashed run left behind."""
    if not client_out.is_dir():
        return
    for p in client_out.iterdir():
        if p.name.startswith(".") and (_TMP_MARK in p.name or _OLD_MARK in p.name) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def client_language(folder: Path) -> str | None:
    """The client's ``language`` setting, or None; a bad ``client.toml`` raises
    :class:`ImmexError` (that client's reports fail with its message)."""
    from immex_nb.settings import read_settings

    return read_settings(folder).language or None


def firm_language(data_root: Path) -> str | None:
    """The consultancy's default language (``DATA_ROOT/firm.toml``), or None."""
    from immex_nb.settings import read_firm

    return read_firm(data_root).language or None


def run_batch(
    data_root: str | os.PathLike,
    periods: Sequence[str],
    out: str | os.PathLike,
    clients: Sequence[str] | None = None,
    workers: int | None = None,
    *,
    scheduler: str | None = None,
    template: str | os.PathLike | None = None,
    language: str | None = None,
    pdf: bool = False,
    progress: bool | None = None,
    echo: Callable[[str], None] | bool | None = None,
) -> BatchResult:
    """Run the report template for every client × period (docs/report.md, docs/batch.md).

    ``clients`` restricts the run to those folder names.  ``workers`` (default
    1) is the number of reports run at once: 1 runs them here, one after the
    other; N > 1 starts a local Dask cluster of N single-threaded worker
    processes; ``scheduler`` (``tcp://host:8786``) submits them to an existing
    Dask cluster instead (``workers`` is then ignored).  ``language`` is
    ``es``/``en`` for every report (default: each client's ``language``
    setting, else ``es``); ``pdf`` also writes ``report.pdf``.  ``template``
    overrides the notebook (default :func:`default_template`); ``progress``
    shows a tqdm bar (default: when stderr is a terminal).  Raises
    :class:`ImmexError` (before running anything) for an unusable data root,
    period, client name, language, template or ``OUT``, or an ``OUT`` another
    run holds; failures of single client-months are in the result, never
    raised.  ``echo``: a function that receives the batch's progress lines
    (what it starts, the Dask dashboard); the batch itself prints nothing.
    """
    from immex_nb.text import check_lang, resolve_lang

    say = echo if callable(echo) else _silent
    t0 = time.perf_counter()
    root = Path(data_root)
    out_dir = Path(out)
    if language is not None:
        check_lang(language)
    if workers is not None and workers < 1:
        raise ImmexError(f"workers must be at least 1 (got {workers})")
    periods = list(dict.fromkeys(str(p).strip() for p in periods))
    if not periods:
        raise ImmexError("no period given; give at least one month as YYYY-MM")
    periods = sorted(str(Period.parse(p)) for p in periods)
    found, bad_found = discover_clients(root)
    if clients:
        names = list(dict.fromkeys(clients))
        for name in names:
            validate_client_name(name)
        missing = [n for n in names if not (root / n).is_dir()]
        if missing:
            raise ImmexError(
                f"client folder(s) {missing} not found under {root}; clients there: {found}"
            )
        bad_found = []
    else:
        names = found
        if not names and not bad_found:
            raise ImmexError(
                f"no client folders under {root}; expected one folder per client (e.g. {root}/acme/imports.csv)"
            )
    template_path = Path(template) if template is not None else default_template()
    if not template_path.is_file():
        raise ImmexError(f"report template {template_path} does not exist")

    check_out(out_dir)
    for name in names:
        validate_client_name(name, out_dir)
    out_abs = out_dir.resolve()
    log_path = out_abs / LOG_NAME
    result = BatchResult(out=out_dir)
    firm_lang = firm_language(root)  # a bad firm.toml stops the batch up front
    with lock_out(out_abs), contextlib.ExitStack() as spare:
        log_path.unlink(missing_ok=True)
        if WARM_KERNELS and not scheduler and min(workers or 1, len(names) * len(periods)) <= 1:
            # a serial batch: the first report's kernel starts (and pays its
            # imports) while this process imports papermill and reads the template
            _start_spare(str(log_path))
            spare.callback(_discard_spare)
        check_template_parameters(template_path)
        tasks = []
        for name in names:
            try:
                lang = resolve_lang(language, client_language(root / name), firm_lang)
            except ImmexError as exc:
                for p in periods:
                    result.results.append(TaskResult(name, p, "failed", str(exc)))
                continue
            for p in periods:
                tasks.append(
                    Task(
                        name,
                        p,
                        str((root / name).resolve()),
                        str(out_abs),
                        str(template_path.resolve()),
                        lang,
                        pdf,
                        str(log_path),
                    )
                )
        for name, why in bad_found:
            for p in periods:
                result.results.append(
                    TaskResult(name, p, "failed", f"folder name not allowed: {why}")
                )
        for name in names:
            _clean_stale(out_abs / name)

        n_workers = 1 if scheduler else max(1, min(workers or 1, len(tasks) or 1))
        where = f"Dask cluster {scheduler}" if scheduler else f"{n_workers} worker(s)"
        say(
            f"immex-nb report: {len(names)} client(s) × {len(periods)} period(s) = "
            f"{len(tasks)} report(s), {where} → {out_dir}"
        )
        try:
            if scheduler or n_workers > 1:
                done = _execute_dask(tasks, n_workers, scheduler, progress, say, result)
            else:
                done = _execute_here(tasks, progress)
            result.results.extend(done)
        finally:
            # attempts of a lost worker may have left staging folders; nothing runs now
            for name in names:
                _clean_stale(out_abs / name)
        result.results.sort(key=lambda r: (r.client, r.period))

        from immex_nb.report.index import write_index

        write_index(out_dir, result.results, lang=resolve_lang(language, firm_lang))
    result.seconds = round(time.perf_counter() - t0, 3)
    return result


def _silent(_line: str) -> None:
    """Where the batch's progress lines go when nobody asked for them."""


def _bar(total: int, progress: bool | None):
    from tqdm import tqdm

    disable = None if progress is None else not progress
    return tqdm(total=total, desc="reports", unit="report", disable=disable, file=sys.stderr)


def _note(bar, r: TaskResult) -> None:
    bar.set_postfix_str(f"{r.client} {r.period} {r.status}", refresh=False)
    bar.update(1)


def _lost(task: Task, why: str) -> TaskResult:
    folder = Path(task.out) / task.client / task.period
    return TaskResult(
        task.client,
        task.period,
        "failed",
        why,
        folder=str(folder) if folder.is_dir() else None,
    )


def _execute_here(tasks: list[Task], progress: bool | None) -> list[TaskResult]:
    """One worker: the reports one after the other in this process (each in
    its own kernel)."""
    results: list[TaskResult] = []
    if WARM_KERNELS and tasks and not _have_spare():
        _start_spare(tasks[0].kernel_log)  # warms while papermill reads the template
    try:
        with _bar(len(tasks), progress) as bar:
            for i, task in enumerate(tasks):
                try:
                    r = run_task(task, warm_next=i + 1 < len(tasks))
                except Exception as exc:  # outside the notebook: a full disk, …
                    r = _lost(task, "error: " + _execution_reason(exc))
                results.append(r)
                _note(bar, r)
    finally:
        _discard_spare()  # the kernel started for a next report that is not coming
    return results


def _execute_dask(
    tasks: list[Task],
    n_workers: int,
    scheduler: str | None,
    progress: bool | None,
    say: Callable[[str], None],
    result: BatchResult,
) -> list[TaskResult]:
    """The reports as futures on a Dask cluster: a local one of ``n_workers``
    single-threaded processes, or the one at ``scheduler``.  A task whose
    worker dies is retried by the scheduler (``distributed.scheduler.allowed-
    failures``) and, when it keeps dying, recorded as one failed report."""
    import dask
    from distributed import as_completed

    from immex_nb.cluster import connect

    results: list[TaskResult] = []
    if not tasks:
        return results
    with contextlib.ExitStack() as stack:
        if not scheduler:
            # a local cluster: one retry for a task whose worker died, then it is one failed report
            stack.enter_context(
                dask.config.set(
                    {
                        "distributed.scheduler.allowed-failures": 1,
                        "distributed.admin.system-monitor.gil.enabled": False,
                    }
                )
            )
        client = stack.enter_context(connect(workers=n_workers, scheduler=scheduler))
        with contextlib.suppress(Exception):
            result.dashboard = client.dashboard_link
        say(
            f"immex-nb report: Dask dashboard {result.dashboard}"
            if result.dashboard
            else "immex-nb report: no Dask dashboard"
        )
        run_id = uuid.uuid4().hex[:8]
        futures = {}
        for i, task in enumerate(tasks):
            key = f"immex-nb-report-{run_id}-{i}"
            futures[client.submit(run_task, task, key=key, pure=False, retries=0)] = task
        with _bar(len(tasks), progress) as bar:
            for fut in as_completed(futures):
                task = futures[fut]
                try:
                    r = fut.result()
                except Exception as exc:  # the worker died (again) or the task raised
                    name = type(exc).__name__
                    why = (
                        "worker lost while running the report"
                        if name == "KilledWorker"
                        else "worker error: " + _execution_reason(exc)
                    )
                    r = _lost(task, why)
                results.append(r)
                _note(bar, r)
    return results
