"""The README, as written, works: its ``sh`` blocks run on the demo data.

Every line of a fenced ``sh`` block of README.md is an ``immex-nb`` command a
new user would type after ``make install``; each runs here as written (in a
scratch folder that sees the repository's ``data/``) and must exit 0 or 1 —
1 being "rows rejected / differences found" — never 2, never a traceback.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def readme_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)
    lines = [ln.strip() for block in blocks for ln in block.splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def test_the_readme_shows_the_two_commands_first():
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"^```\w*\n(.*?)^```", text, flags=re.S | re.M).group(1)
    assert first_block.splitlines()[0].startswith("make demo")
    assert first_block.splitlines()[1].startswith("make test")


def test_the_readme_names_every_command():
    commands = readme_commands()
    named = {shlex.split(c)[1] for c in commands if c.startswith("immex-nb ")}
    assert {"validate", "discharge", "exposure", "anexo30", "compulsa", "report"} <= named


@pytest.mark.slow
def test_every_readme_command_runs_as_written(tmp_path):
    (tmp_path / "data").symlink_to(ROOT / "data")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    for line in readme_commands():
        argv = shlex.split(line)
        assert argv[0] == "immex-nb", f"README runs only immex-nb commands in sh blocks: {line}"
        proc = subprocess.run(
            [sys.executable, "-m", "immex_nb.cli", *argv[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert "Traceback" not in proc.stderr, (line, proc.stderr)
        assert proc.returncode in (0, 1), (line, proc.returncode, proc.stderr[-2000:])
    assert (tmp_path / "out" / "norte" / "exposure.csv").exists()
    assert (tmp_path / "out" / "norte" / "anexo30" / "saldos.csv").exists()
    assert (tmp_path / "out" / "reports" / "index.html").exists()
