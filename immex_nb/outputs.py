"""Writing results safely and reproducibly.

Everything immex-nb writes goes through here: to a temporary name in the same
folder, then ``os.replace`` — a crash never leaves half a file.  CSVs are
written in a stable way (sorted by the caller, fixed float format, ``\\n``
line ends) so two runs on the same inputs give byte-identical files, and each
run writes a ``manifest.json`` with what produced it (inputs' SHA-256,
parameters, package version, row counts, time).

Two safety rules hold for every file written here (docs/rules/validation.md):

* **CSV cells never start a formula** (OWASP "CSV injection"): a text cell
  that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
  written with a leading ``'`` (``=cmd|' /C calc'!A0`` → ``'=cmd|' /C
  calc'!A0``), so Excel shows it as text and never runs it; numbers — a
  negative number, or text that is a plain number such as ``-5`` — are
  written as they are (:func:`write_csv`, the one CSV writer).
* **A set of tables is published at once** (:func:`write_tables`): the files
  are written into a staging folder beside ``OUT`` (``.staging-<OUT>-<pid>-…``
  in OUT's parent), the other files ``OUT`` already holds are linked into it,
  and one atomic exchange of the two folders (Linux ``renameat2
  RENAME_EXCHANGE``, macOS ``renamex_np RENAME_SWAP``) puts the new set in
  place; the old folder is then removed.  A reader of ``OUT/allocations.csv``
  sees the old set or the new one, never a mix, and a run killed at any point
  leaves the old set whole.  Staging folders of runs that died are removed by
  the next run.  Where the system cannot exchange folders (Windows, a file
  system without the call, ``OUT`` being a mount point or the current folder,
  or OUT's parent not writable) the files are staged inside ``OUT`` and
  renamed into place one by one, manifest last — still never half a file.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from immex_nb.errors import ImmexError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on
    success, delete it on error."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(target: str | os.PathLike, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return Path(target)


#: first characters that make a spreadsheet read a cell as a formula (OWASP)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: text that is a plain number (``-5``, ``+1.5``, ``-2e3``) is a number, not a formula
_PLAIN_NUMBER = r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"


def _is_text(column: pd.Series) -> bool:
    return (
        pd.api.types.is_object_dtype(column.dtype)
        or pd.api.types.is_string_dtype(column.dtype)
        or isinstance(column.dtype, pd.CategoricalDtype)
    )


#: a cell that may need care: it starts like a formula, or holds a carriage return
_CARE = "^[=+@\t\r-]|\r"


def _safe_text(column: pd.Series) -> pd.Series:
    """A text column as written: formulas neutralised, carriage returns as line
    breaks; one pass over the column finds the few cells that need either."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    care = column.str.contains(_CARE, regex=True).fillna(False).to_numpy(dtype=bool)
    if not care.any():
        return column
    column = column.copy()
    fixed = _line_breaks(neutralise_formulas(column[care].reset_index(drop=True)))
    column.iloc[np.flatnonzero(care)] = fixed.to_numpy()  # by position: labels may repeat
    return column


def neutralise_formulas(column: pd.Series) -> pd.Series:
    """``column`` with every text cell that a spreadsheet would take for a
    formula prefixed with ``'``; numbers, dates and plain-number text unchanged."""
    if not (
        pd.api.types.is_object_dtype(column.dtype)
        or pd.api.types.is_string_dtype(column.dtype)
        or isinstance(column.dtype, pd.CategoricalDtype)
    ):
        return column
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    risky = column.str.startswith(FORMULA_START)
    risky = risky.fillna(False).to_numpy(dtype=bool)  # non-text cells give NA
    if not risky.any():
        return column
    texts = column[risky]
    number = texts.str.fullmatch(_PLAIN_NUMBER).fillna(False).to_numpy(dtype=bool)
    fix = texts.index[~number]
    if not len(fix):
        return column
    column = column.copy()
    column.loc[fix] = "'" + column.loc[fix].astype(str)
    return column


def _line_breaks(column: pd.Series) -> pd.Series:
    """Carriage returns inside text cells as ``\\n``: the CSV writer quotes a
    cell holding ``\\n`` but not one holding only ``\\r``, which a reader
    would take for the end of the row."""
    if not (
        pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column.dtype)
    ):
        return column
    has_cr = column.str.contains("\r", regex=False).fillna(False).to_numpy(dtype=bool)
    if not has_cr.any():
        return column
    column = column.copy()
    fixed = (
        column[has_cr].str.replace("\r\n", "\n", regex=False).str.replace("\r", "\n", regex=False)
    )
    column.loc[fixed.index] = fixed
    return column


def neutralise_text(text: str) -> str:
    """One text (a header cell) as :func:`neutralise_formulas` writes it."""
    return neutralise_formulas(pd.Series([text], dtype=object)).iloc[0]


def write_csv(df: pd.DataFrame, target: str | os.PathLike) -> Path:
    """Stable CSV: UTF-8, ``\\n``, dates as ISO, floats with 15 significant
    digits, no cell (header included) that a spreadsheet would run as a formula."""
    out = df.copy()
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if pd.api.types.is_datetime64_any_dtype(column):
            out.isetitem(i, column.dt.strftime("%Y-%m-%d"))
        elif _is_text(column):
            out.isetitem(i, _safe_text(column))
    if any(isinstance(c, str) and c.startswith(FORMULA_START) for c in out.columns):
        out.columns = [neutralise_text(c) if isinstance(c, str) else c for c in out.columns]
    with atomic_path(target) as tmp:
        out.to_csv(tmp, index=False, lineterminator="\n", float_format="%.15g")
    return Path(target)


# ---------------------------------------------------------------------------
# a set of tables, published at once

STAGING = ".staging-"
#: a staging folder whose run cannot be checked (no process id in its name, or
#: a system where the check is not available) is stale after this many seconds
STALE_AFTER_S = 3600


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    out_dir: str | os.PathLike,
    extra: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write ``<name>.csv`` for each table, and each ``extra`` file (name →
    text, e.g. ``{"manifest.json": manifest_json(...)}``), into ``out_dir`` as
    one set: a reader sees the previous set or this one, never a mix (see the
    module's docstring), and a failure or a kill while writing leaves the
    previous set untouched.  Staging folders left by runs that died are
    removed first."""
    out_dir = Path(out_dir)
    extra = dict(extra or {})
    names = [f"{name}.csv" for name in tables] + list(extra)
    real = Path(os.path.realpath(out_dir))  # OUT may be a link to a folder
    real.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(real)
    stage, beside = _make_stage(real)
    try:
        for name, frame in tables.items():
            write_csv(frame, stage / f"{name}.csv")
        for name, text in extra.items():
            write_text(stage / name, text)
        _publish(stage, real, names, beside)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return [out_dir / name for name in names]


def _make_stage(real: Path) -> tuple[Path, bool]:
    """A fresh staging folder: beside OUT when the set can be published by
    exchanging folders (``True``), else inside OUT (``False``)."""
    if _can_exchange(real):
        with contextlib.suppress(OSError):
            prefix = f"{STAGING}{real.name}-{os.getpid()}-"
            return Path(tempfile.mkdtemp(prefix=prefix, dir=real.parent)), True
    real.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{STAGING}{os.getpid()}-", dir=real)), False


def _can_exchange(real: Path) -> bool:
    if _exchange_call() is None:
        return False
    if not real.exists():
        return True  # a plain rename creates it
    if not real.is_dir() or real.stat().st_dev != real.parent.stat().st_dev:
        return False  # not a folder (the write fails later with a clear error), or a mount point
    cwd = Path(os.path.realpath(os.getcwd()))
    return not (cwd == real or real in cwd.parents)  # never swap the folder we stand in


def _publish(stage: Path, real: Path, names: list[str], beside: bool) -> None:
    if beside and not real.exists():
        try:
            os.chmod(stage, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual mode
            os.rename(stage, real)  # the first set: one rename creates OUT
            return
        except OSError:
            if not real.exists():
                raise
    if beside:
        _carry_over(real, stage, set(names))
        os.chmod(stage, stat.S_IMODE(real.stat().st_mode))
        if exchange_folders(stage, real):
            return  # ``stage`` now holds the previous OUT, removed by the caller
        for entry in stage.iterdir():  # the call is refused here: drop what was carried over
            if entry.name not in names:
                _remove(entry)
    real.mkdir(parents=True, exist_ok=True)
    for name in names:  # one by one, the manifest (extra files) last
        os.replace(stage / name, real / name)


def _carry_over(real: Path, stage: Path, names: set[str]) -> None:
    """Link (or copy) into ``stage`` everything OUT holds besides the new set."""
    for entry in real.iterdir():
        if entry.name in names or entry.name.startswith(STAGING) or _temporary(entry.name):
            continue
        target = stage / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry), target)
        elif entry.is_dir():
            shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, target)


def _temporary(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")  # atomic_path's file in progress


def _link_or_copy(src, dst) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_stale_staging(out_dir: str | os.PathLike) -> list[Path]:
    """Remove the staging folders of runs that died (killed mid-write) — beside
    ``out_dir`` (``.staging-<OUT>-<pid>-…``) and inside it (``.staging-…``) —
    and return them.  A folder whose process still runs is left alone."""
    real = Path(os.path.realpath(out_dir))
    candidates = []
    beside = f"{STAGING}{real.name}-"
    if real.parent.is_dir():
        for entry in real.parent.iterdir():
            rest = entry.name[len(beside) :]
            # ".staging-out-<pid>-<token>" (a sibling OUT "out-2" has its own prefix)
            if entry.name.startswith(beside) and _OWNED.fullmatch(rest):
                candidates.append((entry, rest.split("-")[0]))
    if real.is_dir():
        for entry in real.iterdir():
            if entry.name.startswith(STAGING):
                rest = entry.name[len(STAGING) :]
                candidates.append((entry, rest.split("-")[0] if _OWNED.fullmatch(rest) else ""))
    removed = []
    for entry, pid in candidates:
        if entry.is_dir() and not entry.is_symlink() and _stale(entry, pid):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


#: what follows the prefix of a staging folder this module makes: "<pid>-<token>"
_OWNED = re.compile(r"[0-9]+-[a-z0-9_]+")


def _stale(entry: Path, pid_text: str) -> bool:
    """Whether the run that made ``entry`` is gone: its process has ended; a
    folder without a process id (an older layout) is nobody's; where processes
    cannot be checked, an hour without change."""
    if os.name == "posix":
        if not pid_text:
            return True
        pid = int(pid_text)
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except OSError:
            return False  # it exists (another user's process)
        return False
    try:
        return time.time() - entry.stat().st_mtime > STALE_AFTER_S
    except OSError:
        return False


def _exchange_call():
    """The system call that swaps two paths atomically, or ``None``."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    if sys.platform.startswith("linux"):
        fn = getattr(libc, "renameat2", None)
        if fn is not None:
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
            fn.argtypes += [ctypes.c_uint]
            fn.restype = ctypes.c_int
        return fn
    if sys.platform == "darwin":
        fn = getattr(libc, "renamex_np", None)
        if fn is not None:
            fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
            fn.restype = ctypes.c_int
        return fn
    return None


#: errors that mean "this file system or kernel cannot exchange": fall back
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.EBUSY, errno.EPERM}
_NO_EXCHANGE |= {
    getattr(errno, "ENOTSUP", errno.EINVAL),
    getattr(errno, "EOPNOTSUPP", errno.EINVAL),
}


def exchange_folders(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Swap folders ``a`` and ``b`` in one atomic step; ``False`` when the
    system cannot (nothing changed then)."""
    fn = _exchange_call()
    if fn is None:
        return False
    a, b = os.fsencode(a), os.fsencode(b)
    if sys.platform == "darwin":
        result = fn(a, b, 0x2)  # RENAME_SWAP
    else:
        result = fn(-100, a, -100, b, 2)  # AT_FDCWD, RENAME_EXCHANGE
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in _NO_EXCHANGE:
        return False
    raise OSError(err, os.strerror(err), os.fsdecode(b))


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_json(
    command: str,
    inputs: list[str | os.PathLike],
    parameters: Mapping[str, object],
    row_counts: Mapping[str, int],
) -> str:
    """The text of a run manifest: what produced a set of files."""
    from immex_nb import __version__

    manifest = {
        "command": command,
        "package": "immex-nb",
        "version": __version__,
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "parameters": {k: (str(v) if v is not None else None) for k, v in parameters.items()},
        "inputs": {str(p): sha256_file(p) for p in sorted(map(str, inputs))},
        "row_counts": dict(row_counts),
    }
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def write_manifest(
    out_dir: str | os.PathLike,
    command: str,
    inputs: list[str | os.PathLike],
    parameters: Mapping[str, object],
    row_counts: Mapping[str, int],
    name: str = "manifest.json",
) -> Path:
    """``manifest.json`` (or ``name``): what produced the files in ``out_dir``.
    A set of tables carries its manifest inside the set instead
    (``write_tables(…, extra={"manifest.json": manifest_json(…)})``)."""
    text = manifest_json(command, inputs, parameters, row_counts)
    return write_text(Path(out_dir) / name, text)


def check_out(out: str | os.PathLike) -> Path:
    """Create ``out`` if needed and make sure files can be written in it;
    else raise a one-line :class:`ImmexError` (every command that writes into
    an ``OUT`` calls this before doing any work)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ImmexError(
            f"output folder {out} is a file, not a folder; give a folder to write into"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = _mkstemp(out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ImmexError(
            f"output folder {out} cannot be written ({why}); give a folder you can write to"
        ) from None
    return out


def _mkstemp(folder: Path) -> tuple[int, str]:
    return tempfile.mkstemp(prefix=".immex-nb-probe-", dir=folder)
