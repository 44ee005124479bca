"""Writing results safely and reproducibly.

Everything immex-nb writes goes through here: to a temporary name in the same
folder, then ``os.replace`` — a crash never leaves half a file.  CSVs are
written in a stable way (sorted by the caller, fixed float format, ``\\n``
line ends) so two runs on the same inputs give byte-identical files, and each
run writes a ``manifest.json`` with what produced it (inputs' SHA-256,
parameters, package version, row counts, time).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd


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


def write_csv(df: pd.DataFrame, target: str | os.PathLike) -> Path:
    """Stable CSV: UTF-8, ``\\n``, dates as ISO, floats with 15 significant digits."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    with atomic_path(target) as tmp:
        out.to_csv(tmp, index=False, lineterminator="\n", float_format="%.15g")
    return Path(target)


def write_tables(tables: Mapping[str, pd.DataFrame], out_dir: str | os.PathLike) -> list[Path]:
    """Write ``<name>.csv`` for each table as a set: all are written into a
    staging folder inside ``out_dir`` first and only then renamed into place,
    so a failure while writing leaves the previous set untouched."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        staged = [write_csv(frame, stage / f"{name}.csv") for name, frame in tables.items()]
        targets = []
        for path in staged:
            os.replace(path, out_dir / path.name)
            targets.append(out_dir / path.name)
        return targets
    finally:
        for leftover in stage.iterdir():
            leftover.unlink()
        stage.rmdir()


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(
    out_dir: str | os.PathLike,
    command: str,
    inputs: list[str | os.PathLike],
    parameters: Mapping[str, object],
    row_counts: Mapping[str, int],
    name: str = "manifest.json",
) -> Path:
    """``manifest.json`` (or ``name``): what produced the files in ``out_dir``."""
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
    return write_text(Path(out_dir) / name, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
