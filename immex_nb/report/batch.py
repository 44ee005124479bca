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

1. **Names.** A client is a folder name.  Names with a path separator,
   ``..``, a leading dot, control characters or that resolve outside ``OUT``
   are refused (``ImmexError`` for names given with ``--client``; a folder
   found under ``DATA_ROOT`` with such a name is listed as failed, never run).
2. **Parameters.** The template's parameters are read with
   ``papermill.inspect_notebook``; a parameter the batch would pass that the
   template does not declare stops the batch before anything runs.
3. **Isolation.** Each client-month runs in a worker process
   (``ProcessPoolExecutor``, ``workers`` default ``min(2, cpu count)``) that
   starts its own kernel; an exception, a failing cell or a crashed worker
   marks that client-month failed and the others go on.
4. **Atomicity.** A client-month is written into ``OUT/<client>/.<period>.tmp-*``
   and swapped into ``OUT/<client>/<period>`` with ``os.rename`` only when
   complete; a rerun replaces the whole folder (no stale files survive).
5. **Exit code.** ``BatchResult.exit_code`` is 1 if any client-month failed,
   else 0.

The notebook writes ``kpis.json`` and ``annex.xlsx`` itself, from the same
:func:`immex_nb.report.sections.build_report_data` call whose figures it
displays, so the report, the annex and the index can never disagree.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from immex_nb.dates import Period
from immex_nb.errors import ImmexError

TEMPLATE_NAME = "monthly_report.ipynb"
#: parameters the batch passes to the template (all must be declared there)
BATCH_PARAMETERS = ("client", "period", "data_dir", "language", "previous_period", "output_dir")
#: files a successful client-month must contain
REQUIRED_OUTPUTS = ("report.ipynb", "report.html", "annex.xlsx", "kpis.json")
LANGUAGES = ("en", "es")
CELL_TIMEOUT_S = 600
#: kernels' own messages (ipykernel warnings, crashes) of the last run, in OUT
LOG_NAME = ".report-kernels.log"
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
    language: str = "en"


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


# --------------------------------------------------------------------------- worker side

_KERNEL_SPEC_DIR = "IMMEX_NB_KERNEL_DIR"


def _worker_init(kernel_dir: str | None, log_path: str | None = None) -> None:
    """Put our own ``python3`` kernel spec (this interpreter) first on
    JUPYTER_PATH, so a user-level spec pointing at another Python cannot hijack
    the run; send the kernels' chatter (they inherit this process's stderr) to
    ``log_path`` instead of the terminal; import the heavy modules once."""
    if log_path:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    if kernel_dir:
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            p for p in (kernel_dir, os.environ.get("JUPYTER_PATH")) if p
        )
    import logging

    logging.getLogger("papermill").setLevel(logging.ERROR)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401


def _write_kernel_spec(folder: Path) -> None:
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    target = folder / "kernels" / "python3"
    target.mkdir(parents=True, exist_ok=True)
    (target / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")


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


def _client_title(stage: Path, client: str, period: str) -> str:
    try:
        k = json.loads((stage / "kpis.json").read_text(encoding="utf-8"))
        name = k.get("client_name") or client
    except (OSError, ValueError, AttributeError):
        name = client
    return f"{name} — monthly IMMEX report {period}"


def run_task(task: Task) -> TaskResult:
    """Run one client-month into a staging folder, then swap it into place."""
    import papermill as pm

    from immex_nb.outputs import write_text
    from immex_nb.report.render import notebook_to_html

    t0 = time.perf_counter()
    client_out = Path(task.out) / task.client
    final = client_out / task.period
    client_out.mkdir(parents=True, exist_ok=True)
    stage = client_out / f".{task.period}{_TMP_MARK}{uuid.uuid4().hex[:10]}"
    stage.mkdir()
    prev = str(Period.parse(task.period).previous)
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
            )
        except Exception as exc:  # a failing cell, a dead kernel …
            status, reason = "failed", _execution_reason(exc)
        timings["notebook_s"] = round(time.perf_counter() - t0, 3)
        if status == "ok":
            t1 = time.perf_counter()
            try:
                html = notebook_to_html(
                    stage / "report.ipynb", title=_client_title(stage, task.client, task.period)
                )
                write_text(stage / "report.html", html)
            except Exception as exc:
                status, reason = "failed", "HTML export failed: " + _execution_reason(exc)
            timings["html_s"] = round(time.perf_counter() - t1, 3)
        if status == "ok":
            missing = [f for f in REQUIRED_OUTPUTS if not (stage / f).is_file()]
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


def run_batch(
    data_root: str | os.PathLike,
    periods: Sequence[str],
    out: str | os.PathLike,
    clients: Sequence[str] | None = None,
    workers: int | None = None,
    *,
    template: str | os.PathLike | None = None,
    language: str = "en",
    progress: bool | None = None,
    echo: bool = True,
) -> BatchResult:
    """Run the report template for every client × period (CONTRACT §6).

    ``clients`` restricts the run to those folder names; ``workers`` is the
    number of worker processes (default ``min(2, cpu count)``); ``template``
    overrides the notebook (default :func:`default_template`); ``progress``
    shows a tqdm bar (default: when stderr is a terminal).  Raises
    :class:`ImmexError` (before running anything) for an unusable data root,
    period, client name or template; failures of single client-months are in
    the result, never raised.
    """
    t0 = time.perf_counter()
    root = Path(data_root)
    out_dir = Path(out)
    if language not in LANGUAGES:
        raise ImmexError(f"language {language!r} is not supported; use one of {list(LANGUAGES)}")
    periods = list(dict.fromkeys(str(p).strip() for p in periods))
    if not periods:
        raise ImmexError("no period given; use --period YYYY-MM (repeatable)")
    for p in periods:
        Period.parse(p)
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
    check_template_parameters(template_path)

    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        validate_client_name(name, out_dir)
    out_abs = out_dir.resolve()
    tasks = [
        Task(
            name,
            p,
            str((root / name).resolve()),
            str(out_abs),
            str(template_path.resolve()),
            language,
        )
        for name in names
        for p in sorted(periods)
    ]
    result = BatchResult(out=out_dir)
    for name, why in bad_found:
        for p in sorted(periods):
            result.results.append(TaskResult(name, p, "failed", f"folder name not allowed: {why}"))
    for name in names:
        _clean_stale(out_abs / name)

    n_workers = max(1, min(workers or min(2, os.cpu_count() or 1), len(tasks) or 1))
    if echo:
        print(
            f"immex-nb report: {len(names)} client(s) × {len(periods)} period(s) = {len(tasks)} report(s), "
            f"{n_workers} worker(s) → {out_dir}",
            file=sys.stderr,
        )
    with tempfile.TemporaryDirectory(prefix="immex-nb-kernel-") as kdir:
        _write_kernel_spec(Path(kdir))
        log_path = out_abs / LOG_NAME
        log_path.unlink(missing_ok=True)
        result.results.extend(_execute(tasks, n_workers, kdir, str(log_path), progress))
    result.results.sort(key=lambda r: (r.client, r.period))

    from immex_nb.report.index import write_index

    write_index(out_dir, result.results)
    result.seconds = round(time.perf_counter() - t0, 3)
    if echo:
        _print_summary(result)
    return result


def _execute(
    tasks: list[Task], n_workers: int, kernel_dir: str, log_path: str | None, progress: bool | None
) -> list[TaskResult]:
    import multiprocessing

    from tqdm import tqdm

    results: list[TaskResult] = []
    if not tasks:
        return results
    ctx = multiprocessing.get_context("spawn")
    disable = None if progress is None else not progress
    with (
        ProcessPoolExecutor(
            max_workers=n_workers,
            mp_context=ctx,
            initializer=_worker_init,
            initargs=(kernel_dir, log_path),
        ) as pool,
        tqdm(
            total=len(tasks), desc="reports", unit="report", disable=disable, file=sys.stderr
        ) as bar,
    ):
        futures = {pool.submit(run_task, t): t for t in tasks}
        for fut in as_completed(futures):
            t = futures[fut]
            try:
                r = fut.result()
            except Exception as exc:  # the worker died or raised outside the notebook
                r = TaskResult(
                    t.client, t.period, "failed", "worker error: " + _execution_reason(exc)
                )
                folder = Path(t.out) / t.client / t.period
                r.folder = str(folder) if folder.is_dir() else None
            results.append(r)
            bar.set_postfix_str(f"{r.client} {r.period} {r.status}", refresh=False)
            bar.update(1)
    return results


def _print_summary(result: BatchResult) -> None:
    n, bad = len(result.results), result.failed
    per = [r.seconds for r in result.results if r.seconds]
    avg = f", {sum(per) / len(per):.1f} s per report" if per else ""
    print(
        f"immex-nb report: {n - len(bad)} of {n} report(s) written in {result.seconds:.1f} s{avg}",
        file=sys.stderr,
    )
    for r in bad:
        print(f"  FAILED {r.client} {r.period}: {r.reason}", file=sys.stderr)
    print(f"index: {result.index.resolve()}", file=sys.stderr)
