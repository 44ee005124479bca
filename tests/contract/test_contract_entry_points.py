"""The contract, §7 entry points: one sentence per test, numbers worked by hand.

Each test writes a small client folder the way a client would send it and goes
only through the public entry points (docs/contract.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from immex_nb.cli import main


@pytest.mark.parametrize("command", ["validate", "discharge", "exposure", "report", "demo"])
def test_every_subcommand_has_help(command, capsys):
    """§7: "`immex-nb` command line: `validate`, `discharge`, `exposure`,
    `report`, `demo` — each with `--help`"."""
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage" in capsys.readouterr().out.lower()


def test_console_script_help():
    """§7: the ``immex-nb`` console script itself answers ``--help``."""
    exe = Path(sys.executable).with_name("immex-nb")
    p = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    for command in ("validate", "discharge", "exposure", "report", "demo"):
        assert command in p.stdout
