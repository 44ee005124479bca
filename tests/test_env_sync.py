"""pyproject.toml and environment.yml list the same packages with the same
lower bounds, so a conda user and a pip user get the same environment.

pyproject: ``dependencies`` + the ``dev`` extra; environment.yml: the conda
``dependencies`` (conda-forge names) and any ``pip:`` entries.  ``python`` and
``pip`` themselves, and pip options such as ``-e .``, are not packages.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]

#: PyPI name → conda-forge name, where they differ (none so far)
CONDA_NAMES: dict[str, str] = {}
NOT_PACKAGES = {"python", "pip"}

_SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*?)\s*(?:;.*)?$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def split_spec(spec: str) -> tuple[str, str]:
    """``"pandas>=2.2"`` → ``("pandas", ">=2.2")``; conda's ``"python=3.11"`` too."""
    m = _SPEC.match(spec)
    assert m, f"cannot read requirement {spec!r}"
    return normalise(m.group(1)), m.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = [*project["dependencies"], *project.get("optional-dependencies", {}).get("dev", [])]
    reqs = dict(split_spec(s) for s in specs)
    return {CONDA_NAMES.get(name, name): bound for name, bound in reqs.items()}


def environment_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    specs: list[str] = []
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            specs += [s for s in entry.get("pip", []) if not s.lstrip().startswith(("-", "."))]
        else:
            specs.append(entry)
    reqs = dict(split_spec(s) for s in specs)
    return {name: bound for name, bound in reqs.items() if name not in NOT_PACKAGES}


def test_split_spec():
    assert split_spec("pandas>=2.2") == ("pandas", ">=2.2")
    assert split_spec("Pandera[io] >= 0.20") == ("pandera", ">=0.20")
    assert split_spec("pytest_xdist>=3.5; python_version>'3'") == ("pytest-xdist", ">=3.5")
    assert split_spec("python=3.11") == ("python", "=3.11")


def test_environment_yml_uses_conda_forge_and_python_311():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env["channels"][0] == "conda-forge"
    assert "python=3.11" in env["dependencies"]


def test_same_packages():
    pip_side, conda_side = pyproject_requirements(), environment_requirements()
    assert set(conda_side) - set(pip_side) == set(), "in environment.yml only"
    assert set(pip_side) - set(conda_side) == set(), "in pyproject.toml only"


def test_same_lower_bounds():
    pip_side, conda_side = pyproject_requirements(), environment_requirements()
    differ = {
        name: (pip_side[name], conda_side[name])
        for name in set(pip_side) & set(conda_side)
        if pip_side[name] != conda_side[name]
    }
    assert differ == {}
