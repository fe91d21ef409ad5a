"""scripts/ci/check_required.py on the JUnit XML of a real pytest run of a tiny throwaway test folder.

The throwaway tests are real pytest tests (run in a subprocess with ``--junitxml``): required ones that
pass, skip (an ``importorskip`` of a package that is not installed) or are deselected, in a module, a
class and a parametrised function; the check must name exactly the skipped and the deselected ones.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.scripts import load_script, script_path

TINY = """
import pytest

pytestmark = pytest.mark.slow


@pytest.mark.required
def test_required_passes():
    assert sum([1, 2]) == 3


@pytest.mark.required
def test_required_skips():
    pytest.importorskip("a_package_that_is_not_installed_anywhere")


@pytest.mark.required
def test_required_deselected():
    assert True


def test_optional_skips():
    pytest.skip("not required: allowed to skip")


@pytest.mark.required(reason="parametrised")
@pytest.mark.parametrize("n", [1, 2])
def test_required_parametrised(n):
    assert n > 0


class TestGroup:
    pytestmark = [pytest.mark.required]

    def test_in_required_class(self):
        assert "a".upper() == "A"
"""

PASSING = """
import pytest


@pytest.mark.required
def test_required_passes_too():
    assert [3, 1, 2].index(2) == 2
"""


def _check(cwd: Path, junit: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script_path("ci/check_required")), str(junit), *paths],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_fails_on_skipped_and_unrun_required_tests_of_a_real_run(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    required: r\n    slow: s\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_tiny.py").write_text(textwrap.dedent(TINY), encoding="utf-8")
    (tmp_path / "tests" / "test_passing.py").write_text(textwrap.dedent(PASSING), encoding="utf-8")
    junit = tmp_path / "junit.xml"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests",
            "-q",
            "-p",
            "no:cacheprovider",
            "--strict-markers",
            "-k",
            "not deselected",
            f"--junitxml={junit}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:]  # pytest itself passes: skips and deselections are not failures
    assert "5 passed, 2 skipped, 1 deselected" in run.stdout

    found = _check(tmp_path, junit, "tests")
    lines = found.stderr.strip().splitlines()
    assert found.returncode == 1, found.stderr
    assert lines[:-1] == [
        "check_required: required test tests.test_tiny.test_required_skips skipped "
        "(could not import 'a_package_that_is_not_installed_anywhere': "
        "No module named 'a_package_that_is_not_installed_anywhere')",
        "check_required: required test tests.test_tiny.test_required_deselected did not run",
    ]
    assert lines[-1] == "check_required: FAILED, 2 of 6 required tests did not pass"

    passed = _check(tmp_path, junit, "tests/test_passing.py")
    assert passed.returncode == 0 and passed.stdout.strip() == "check_required: all 1 required tests ran and passed"

    empty = tmp_path / "empty.py"
    empty.write_text("def test_nothing_marked():\n    pass\n", encoding="utf-8")
    none = _check(tmp_path, junit, "empty.py")
    assert none.returncode == 1 and "no test under empty.py is marked required" in none.stderr


def test_the_suites_required_tests_are_found() -> None:
    """The real suite's marks are read (so a typo in the mark's name cannot empty the list)."""
    check = load_script("ci/check_required")
    root = script_path("ci/check_required").parents[2]
    found = {f"{classname}.{name}" for classname, name in check.required_tests([root / "tests"], root)}
    assert {
        "tests.reliability.test_server_fuzz.test_no_server_errors",
        "tests.reliability.test_server_fuzz.test_server_is_healthy_after_the_fuzzing",
        "tests.export.test_export.test_openvino_int8_matches_torch",
    } <= found
