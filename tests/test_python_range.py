"""The declared Python range holds: pyproject's floor is what ruff targets, what CI runs and what the stack accepts.

``requires-python`` once said ``>=3.10`` while the code used ``typing.Self`` (3.11) and the installed
stack (transformers 5.x, mteb 2.x, numpy 2.4...) requires 3.11; these checks make such a drift fail.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REQUIRES_PYTHON = SpecifierSet(PYPROJECT["project"]["requires-python"])


def _floor() -> Version:
    (lower,) = [spec for spec in REQUIRES_PYTHON if spec.operator == ">="]
    return Version(lower.version)


def test_floor_is_ruffs_target_the_classifier_and_admits_this_interpreter() -> None:
    floor = _floor()
    assert PYPROJECT["tool"]["ruff"]["target-version"] == f"py{floor.major}{floor.minor}"
    classifiers = PYPROJECT["project"]["classifiers"]
    assert f"Programming Language :: Python :: {floor.major}.{floor.minor}" in classifiers
    listed = [c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert all(Version(v) >= floor for v in listed), listed
    running = Version(".".join(str(part) for part in sys.version_info[:3]))
    assert running in REQUIRES_PYTHON and running >= floor


def test_ci_runs_the_lowest_declared_python() -> None:
    found = []
    for workflow in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        found += re.findall(r"python-version:\s*[\"']?([0-9.]+)", workflow.read_text(encoding="utf-8"))
    assert found, "no setup-python step found"
    floor = _floor()
    assert min(Version(v) for v in found) == Version(f"{floor.major}.{floor.minor}"), found


def test_installed_dependencies_accept_the_floor() -> None:
    """Every direct dependency, as installed here, supports the lowest Python the project claims."""
    floor = str(_floor())
    refused = []
    for line in PYPROJECT["project"]["dependencies"]:
        name = Requirement(line).name
        declared = metadata.metadata(name).get("Requires-Python")
        if declared and not SpecifierSet(declared).contains(floor):
            refused.append(f"{name} {metadata.version(name)} requires Python {declared}")
    assert not refused, refused
