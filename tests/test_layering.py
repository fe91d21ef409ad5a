"""The package's layering, read from the source with ``ast`` (no import runs).

Floors, bottom up:

* ground: ``errors``, ``hashing``, ``version``, ``citations``, ``parallel``;
* records and facts: ``records/`` (imports only ``errors``), ``task_meta``, ``assets``, ``hub``, ``recipe``,
  ``precision``;
* support: ``models/``, ``losses/``, ``training/``, ``encoders/``, ``run_folder``, ``licenses``;
* stages: ``distill``, ``evaluation``, ``export``, ``model_card``, ``publish``, ``leaderboard``: none
  imports another;
* the orchestrator ``release`` (imported only by ``cli``), then ``cli`` (imported by nothing).

``hub_server/`` stands apart: of leaf_hub it imports only ``errors`` and ``version``.
Imports under ``if TYPE_CHECKING:`` count like any other: a type is a dependency too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "leaf_hub"

GROUND = {"errors", "hashing", "version", "citations", "parallel"}
FACTS = {"records", "task_meta", "assets", "hub", "recipe", "precision"}
SUPPORT = {"models", "losses", "training", "encoders", "run_folder", "licenses"}
STAGES = {"distill", "evaluation", "export", "model_card", "publish", "leaderboard"}
ORCHESTRATOR = {"release"}
TOP = {"cli"}
SERVER = {"hub_server"}
FLOOR = {**dict.fromkeys(GROUND, 0), **dict.fromkeys(FACTS, 1), **dict.fromkeys(SUPPORT, 2)}
FLOOR |= {**dict.fromkeys(STAGES, 3), **dict.fromkeys(ORCHESTRATOR, 4), **dict.fromkeys(TOP, 5)}
FLOOR[""] = 0  # the package root, leaf_hub/__init__.py: it may import only the ground floor (version)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> Iterator[tuple[str, int]]:
    """``(leaf_hub module imported, line)`` for every import in the file, relative ones resolved."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "leaf_hub":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "leaf_hub":
                continue
            for alias in node.names:  # ``from leaf_hub.x import y`` may import the module x.y
                sub = f"{target}.{alias.name}"
                yield (sub if sub in modules else target), node.lineno


def _graph() -> dict[str, list[tuple[str, int]]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: [(t, line) for t, line in _imports(path, modules) if t != name] for name, path in files.items()}


def _room(module: str) -> str:
    """The top-level room of a module: ``leaf_hub.evaluation.run`` -> ``evaluation``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


GRAPH = _graph()
EDGES = [(source, target, line) for source, targets in GRAPH.items() for target, line in targets]


def _upward(src: str, dst: str) -> bool:
    """Whether room ``src`` importing room ``dst`` breaks the floors (same room is always fine)."""
    if src == dst or dst == "" or src in SERVER:
        return False
    if dst in SERVER:
        return src not in TOP | ORCHESTRATOR
    return FLOOR[dst] > FLOOR[src] or (FLOOR[dst] == FLOOR[src] and FLOOR[src] >= FLOOR["distill"])


def _where(source: str, target: str, line: int) -> str:
    return f"{source} (line {line}) imports {target}"


def test_every_room_has_a_floor() -> None:
    rooms = {_room(m) for m in GRAPH} - {""}
    assert rooms - set(FLOOR) - SERVER == set(), "a new top-level module needs a floor in tests/test_layering.py"


def test_no_import_cycles() -> None:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target, _ in GRAPH.get(node, []):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target) :] + [target])
            elif target in GRAPH and not state.get(target):
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(GRAPH):
        if not state.get(node):
            visit(node)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_imports_point_down() -> None:
    """A module imports only its own room and rooms on lower floors (stages never import each other)."""
    bad = [_where(s, t, line) for s, t, line in EDGES if _upward(_room(s), _room(t))]
    assert bad == []


def test_records_import_only_errors() -> None:
    bad = [
        _where(s, t, line) for s, t, line in EDGES if _room(s) == "records" and _room(t) not in {"records", "errors"}
    ]
    assert bad == []


def test_hub_server_imports_only_errors_and_version() -> None:
    bad = [
        _where(s, t, line)
        for s, t, line in EDGES
        if _room(s) == "hub_server" and _room(t) not in {"hub_server", "errors", "version"}
    ]
    assert bad == []


def test_only_cli_imports_release_and_nothing_imports_cli() -> None:
    bad = [_where(s, t, line) for s, t, line in EDGES if _room(t) == "release" and _room(s) not in {"cli", "release"}]
    bad += [_where(s, t, line) for s, t, line in EDGES if _room(t) == "cli" and _room(s) != "cli"]
    assert bad == []


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("leaf_hub.model_card.render", "leaf_hub.evaluation.run", True),  # stage -> stage
        ("leaf_hub.task_meta", "leaf_hub.run_folder", True),  # facts -> support
        ("leaf_hub.models.folder", "leaf_hub.hub_server.app", True),  # anything but the top -> server
        ("leaf_hub.recipe", "leaf_hub.distill", True),  # facts -> stage
        ("leaf_hub.publish", "leaf_hub.release", True),  # stage -> orchestrator
        ("leaf_hub.distill", "leaf_hub.records", False),
        ("leaf_hub.release", "leaf_hub.publish", False),
    ],
)
def test_the_rule_itself(source: str, target: str, expected: bool) -> None:
    """The floor rule flags what it should (so an empty list above means something)."""
    assert _upward(_room(source), _room(target)) is expected
