"""Fail CI when a test marked ``@pytest.mark.required`` was skipped, failed or did not run at all.

A required test is the only check of its feature (the schemathesis fuzzing of the hub server, the
OpenVINO export, ...); a missing optional package makes it skip, and a skip passes pytest. This
script reads the required tests from the test sources (``@pytest.mark.required`` on a function or
class, or ``pytestmark`` of a module or class), so a test that was never collected (a module that
failed to import, a ``-k``/``-m`` that deselected it) is caught too, and checks each one in pytest's
JUnit XML (``--junitxml``): every one of its cases must have run and passed.

Usage: ``python scripts/ci/check_required.py JUNIT_XML [TEST_PATH ...]`` (default ``tests``).
Exit 0: every required test passed; 1: one line per one that did not; 2: unreadable input.
"""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path

MARK = "required"


def _is_required_mark(node: ast.expr) -> bool:
    """``pytest.mark.required``, called or not, alone or in a list/tuple."""
    if isinstance(node, ast.List | ast.Tuple):
        return any(_is_required_mark(element) for element in node.elts)
    if isinstance(node, ast.Call):
        node = node.func
    return (
        isinstance(node, ast.Attribute)
        and node.attr == MARK
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "mark"
    )


def _pytestmark_is_required(body: list[ast.stmt]) -> bool:
    for statement in body:
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            named = any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets)
            if named and statement.value is not None and _is_required_mark(statement.value):
                return True
    return False


def _tests_in(body: list[ast.stmt], prefix: str, required: bool) -> Iterator[str]:
    """Dotted ``Class.test`` names of the required tests in a module or class body."""
    for node in body:
        marked = required or any(_is_required_mark(d) for d in getattr(node, "decorator_list", []))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            if marked:
                yield f"{prefix}{node.name}"
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            yield from _tests_in(node.body, f"{prefix}{node.name}.", marked or _pytestmark_is_required(node.body))


def required_tests(paths: Iterable[Path], root: Path) -> list[tuple[str, str]]:
    """``(classname, test name)`` as pytest's JUnit XML names them, for every required test under ``paths``."""
    found: list[tuple[str, str]] = []
    for path in paths:
        files = sorted(path.rglob("test_*.py")) if path.is_dir() else [path]
        for file in files:
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
            module = ".".join(file.resolve().relative_to(root).with_suffix("").parts)
            for dotted in _tests_in(tree.body, "", _pytestmark_is_required(tree.body)):
                *classes, name = dotted.split(".")
                found.append((".".join([module, *classes]), name))
    return found


def case_outcomes(junit: Path) -> dict[tuple[str, str], list[str]]:
    """``(classname, name without parameters)`` -> the outcome of each of its cases in the JUnit XML."""
    outcomes: dict[tuple[str, str], list[str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("skipped", "failure", "error"):
                outcome = {"skipped": "skipped", "failure": "failed", "error": "error"}[child.tag]
                message = child.get("message") or ""
                if message:
                    outcome += f" ({message.strip().splitlines()[0][:200]})"
                break
        key = (case.get("classname", ""), case.get("name", "").split("[", 1)[0])
        outcomes.setdefault(key, []).append(outcome)
    return outcomes


def problems(junit: Path, paths: Iterable[Path], root: Path) -> list[str]:
    """One line per required test that did not run and pass; empty when all did."""
    outcomes = case_outcomes(junit)
    lines = []
    for classname, name in required_tests(paths, root):
        seen = outcomes.get((classname, name))
        test_id = f"{classname}.{name}"
        if not seen:
            lines.append(f"required test {test_id} did not run")
        else:
            lines.extend(f"required test {test_id} {o}" for o in seen if o != "passed")
    return lines


def main(argv: list[str]) -> int:
    """Check the JUnit XML ``argv[0]`` against the required tests under ``argv[1:]`` (default ``tests``)."""
    if not argv:
        print("usage: check_required.py JUNIT_XML [TEST_PATH ...]", file=sys.stderr)
        return 2
    root = Path.cwd().resolve()
    junit, paths = Path(argv[0]), [Path(p) for p in argv[1:] or ["tests"]]
    try:
        found = problems(junit, paths, root)
        count = len(required_tests(paths, root))
    except (OSError, ET.ParseError, SyntaxError, ValueError) as error:
        print(f"check_required: cannot check {junit}: {error}", file=sys.stderr)
        return 2
    if count == 0:
        print(f"check_required: no test under {' '.join(map(str, paths))} is marked required", file=sys.stderr)
        return 1
    for line in found:
        print(f"check_required: {line}", file=sys.stderr)
    if found:
        print(f"check_required: FAILED, {len(found)} of {count} required tests did not pass", file=sys.stderr)
        return 1
    print(f"check_required: all {count} required tests ran and passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
