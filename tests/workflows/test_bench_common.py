"""scripts/bench/common.py: every benchmark and study writes the same machine block (in its stamp), one helper."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tests.support.scripts import SCRIPTS, load_script

common = load_script("bench/common")
MEASURING = sorted(p for p in [*SCRIPTS.glob("bench/*.py"), *SCRIPTS.glob("studies/*.py")] if p.name != "common.py")


def test_the_machine_block_has_one_key_set() -> None:
    before = common.load_average()
    block = common.machine_facts(before)
    assert set(block) == {
        "cores",
        "cpu_model",
        "cpu_flags",
        "torch_threads",
        "gpu",
        "platform",
        "python",
        "versions",
        "load_average_before",
        "load_average_after",
    }
    assert block["load_average_before"] == before and len(block["load_average_after"]) == 3
    assert block["cores"] >= 1 and block["cpu_model"]
    assert set(block["versions"]) == set(common.VERSIONED) and block["versions"]["leaf-hub"]
    json.dumps(block)  # a report field: plain JSON
    assert common.machine_facts()["load_average_before"] is None


def test_reports_are_indented_json_with_a_final_newline(tmp_path: Path) -> None:
    out = common.write_report(tmp_path / "deep" / "bench.json", {"a": [1, 2]})
    assert out.read_text(encoding="utf-8") == json.dumps({"a": [1, 2]}, indent=2) + "\n"


def test_markdown_table() -> None:
    table = common.markdown_table(("model", "docs/s"), [("a|b", "1.0"), ("c", 2)])
    assert table.splitlines() == ["| model | docs/s |", "|:---|---:|", "| a\\|b | 1.0 |", "| c | 2 |"]


@pytest.mark.parametrize("path", MEASURING, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_benchmark_and_study_stamps_its_report_with_the_shared_machine_block(path: Path) -> None:
    calls = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Name):
            calls.add(func.id)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            calls.add(f"{func.value.id}.{func.attr}")
    assert "start_stamp" in calls  # finish_stamp (through write_report) adds machine_facts
    assert not {c for c in calls if c == "os.getloadavg" or c.startswith("platform.")}  # only common.py reads them
