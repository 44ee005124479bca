"""An installed wheel carries everything the commands need: the report
template, the Jinja templates, every rate, text and claves table (docs/architecture.md)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_ships_the_templates_and_tables(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            str(ROOT),
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("immex_nb-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "immex_nb"
    wanted = [
        p.relative_to(ROOT).as_posix()
        for pattern in ("data/*.csv", "data/text/*.csv", "templates/*", "notebooks/*.ipynb")
        for p in package.glob(pattern)
    ]
    assert "immex_nb/notebooks/monthly_report.ipynb" in wanted
    assert "immex_nb/data/claves.csv" in wanted
    missing = [w for w in wanted if w not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert not any(n.startswith(("tests/", "notebooks/", "data/demo")) for n in names)
