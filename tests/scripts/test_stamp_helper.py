"""scripts/bench/common.py's stamp: which code, command and machine made a report, and its targets met or missed."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.support.scripts import ROOT, load_script

common = load_script("bench/common")
TARGETS = (
    common.Target("speed-up", "summary.speedup", ">=", 1.5),
    common.Target("errors", "errors", "==", 0),
    common.Target("never measured", "summary.absent", "<=", 3),
)


def test_a_finished_stamp_names_the_code_the_command_and_the_machine(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "bench" / "bench_eval.py"
    stamp = common.start_stamp(script, TARGETS, quick=True)
    out = common.write_report(tmp_path / "r.json", {"summary": {"speedup": 1.49}, "errors": 0}, stamp)
    report = json.loads(out.read_text())
    assert list(report) == ["stamp", "summary", "errors"]  # the stamp first, the figures unchanged
    got = report["stamp"]
    assert set(got) == set(common.STAMP_FIELDS)
    assert got["script"] == "scripts/bench/bench_eval.py"
    assert got["script_sha256"] == hashlib.sha256(script.read_bytes()).hexdigest()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert got["git"]["commit"] == head.strip() and isinstance(got["git"]["dirty"], bool)
    assert got["leaf_hub_version"] == load_script("bench/common").leaf_hub_version()
    assert got["quick"] is True and got["started_at"] <= got["finished_at"]
    machine = got["machine"]
    assert machine["load_average_before"] and machine["load_average_after"]
    assert set(machine["cpu_flags"]) == set(common.SPEED_FLAGS)
    assert [(t["name"], t["value"], t["met"]) for t in got["targets"]] == [
        ("speed-up", 1.49, False),
        ("errors", 0, True),
        ("never measured", None, None),
    ]


def test_a_script_without_targets_records_an_empty_list(tmp_path: Path) -> None:
    stamp = common.start_stamp(ROOT / "scripts" / "studies" / "ablation.py")
    assert common.finish_stamp(stamp, {})["targets"] == []
    assert common.finish_stamp(stamp, {})["quick"] is False


def test_rewriting_a_stamped_report_replaces_its_stamp(tmp_path: Path) -> None:
    stamp = common.start_stamp(ROOT / "scripts" / "bench" / "bench_hub.py", TARGETS[1:2])
    report = {"errors": 1}
    common.write_report(tmp_path / "r.json", report, stamp)
    again = json.loads(common.write_report(tmp_path / "r.json", report | {"errors": 0}, stamp).read_text())
    assert report == {"errors": 1}  # not mutated
    assert again["stamp"]["targets"][0]["met"] is True


def test_a_target_with_an_unknown_comparison_is_refused() -> None:
    with pytest.raises(ValueError, match="op '=>'"):
        common.Target("x", "a", "=>", 1)


def test_the_version_is_read_from_this_checkouts_version_file(tmp_path: Path) -> None:
    (tmp_path / "leaf_hub").mkdir()
    (tmp_path / "leaf_hub" / "version.py").write_text('"""v."""\n\n__version__ = "9.8.7"\n')
    assert common.leaf_hub_version(tmp_path) == "9.8.7"
    assert common.leaf_hub_version(tmp_path / "nowhere") is None


def test_the_sources_digest_changes_with_any_package_file(tmp_path: Path) -> None:
    (tmp_path / "leaf_hub" / "sub").mkdir(parents=True)
    (tmp_path / "leaf_hub" / "a.py").write_text("x = 1\n")
    (tmp_path / "leaf_hub" / "sub" / "b.py").write_text("y = 2\n")
    before = common.sources_sha256(tmp_path)
    (tmp_path / "leaf_hub" / "sub" / "b.py").write_text("y = 3\n")
    assert common.sources_sha256(tmp_path) != before
