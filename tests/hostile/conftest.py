"""Shared helpers for the hostile-input suite: each case builds a small client
folder on the fly, runs the real command line in a subprocess (as a user
would) and checks the exit code, that no Python traceback reached the user,
that every row read was loaded or rejected, and which files were written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

IMPORTS_HEADER = "pedimento,line,clave,date,part_number,description,quantity,value_usd,value_mxn"
EXPORTS_HEADER = "pedimento,line,clave,date,part_number,quantity"


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), path) if p)}


def run_cli(*args: str, prelude: str = "") -> subprocess.CompletedProcess:
    """``immex-nb ARGS`` in a fresh Python; ``prelude`` runs first (to simulate
    a crash by replacing a function)."""
    code = f"import sys\n{prelude}\nfrom immex_nb.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )


def no_traceback(p: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in p.stderr, p.stderr
    assert "Traceback" not in p.stdout, p.stdout


def write_client(folder: Path, imports: bytes | str, exports: bytes | str) -> Path:
    """A client folder holding ``imports.csv`` and ``exports.csv`` verbatim."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (("imports", imports), ("exports", exports)):
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / f"{name}.csv").write_bytes(data)
    return folder


def import_line(line: int, part: str, description: str = "Tubo", quantity: str = "100") -> str:
    return f"24 47 3420 4001234,{line},IN,2024-01-10,{part},{description},{quantity},1000,17000"


def export_line(line: int, part: str, quantity: str = "10") -> str:
    return f"24 47 3420 4009999,{line},RT,2024-03-01,{part},{quantity}"


def accounted(out: Path, table: str = "imports") -> dict[str, int]:
    """The validate manifest's counts for ``table``; asserts read = loaded + rejected."""
    counts = json.loads((out / "validate_manifest.json").read_text())["row_counts"]
    read, loaded = counts[f"{table}_read"], counts[f"{table}_loaded"]
    rejected = counts[f"{table}_rejected"]
    assert read == loaded + rejected, counts
    return {"read": read, "loaded": loaded, "rejected": rejected}


@pytest.fixture
def cli():
    return run_cli
