"""The package version follows the releases: never below a shipped recipe's version or a recorded release."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

import leaf_hub
from leaf_hub.version import __version__

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))
RELEASES = sorted((ROOT / "reports").glob("release_*.json"))


def _parts(version: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    assert match, f"{version!r} is not MAJOR.MINOR.PATCH"
    return int(match[1]), int(match[2]), int(match[3])


def test_the_version_is_one_plain_semantic_version() -> None:
    _parts(__version__)
    assert leaf_hub.__version__ == __version__


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_the_package_is_not_older_than_a_shipped_recipe(recipe: Path) -> None:
    version = str(yaml.safe_load(recipe.read_text(encoding="utf-8"))["version"])
    assert _parts(__version__) >= _parts(version), f"leaf_hub/version.py {__version__} < {recipe.name} {version}"


@pytest.mark.parametrize("report", RELEASES, ids=lambda p: p.stem)
def test_the_package_is_not_older_than_a_recorded_release(report: Path) -> None:
    version = json.loads(report.read_text(encoding="utf-8"))["version"]
    assert _parts(__version__) >= _parts(version), f"leaf_hub/version.py {__version__} < {report.name} {version}"


def test_the_rule_has_something_to_check() -> None:
    assert RECIPES and RELEASES


def test_pyproject_takes_the_version_from_version_py() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "leaf_hub/version.py"


def test_no_module_types_the_version_by_hand() -> None:
    """Everything that states leaf-hub's version imports it from leaf_hub/version.py."""
    pattern = re.compile(r"""(leaf[-_]hub[_ ]version|leaf-hub)["']?\s*[:=]?\s*["']?\d+\.\d+\.\d+""")
    hits = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "leaf_hub").rglob("*"))
        if path.is_file() and path.suffix in {".py", ".md", ".j2", ".jinja", ".txt"} and path.name != "version.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []
