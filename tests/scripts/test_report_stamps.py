"""Every committed report a script wrote is traceable: its stamp names the code that measured it, or it says why not.

A report written by ``scripts/bench/*.py`` or ``scripts/studies/*.py`` carries the stamp of
``scripts/bench/common.py``. Its ``script_sha256`` must equal the sha256 of that script as it is
now: a script changed since its report was written fails here until the report is rerun, or
marked ``"historical": true`` with a ``historical_reason`` (what changed since, and why the figures
are kept). Reports that the package itself writes (:data:`PACKAGE_WRITTEN`) are not script
reports; every other ``reports/*.json`` must be one of the two.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.scripts import ROOT, load_script

common = load_script("bench/common")
#: Every report but a local ``--quick`` run's (``reports/*_quick.*`` is git-ignored: never a figure of record).
REPORTS = sorted(p for p in (ROOT / "reports").glob("*.json") if not p.stem.endswith("_quick"))

#: Reports the package writes, not a script: out of this check (their writer, for the record).
PACKAGE_WRITTEN = {
    "release_*.json": "leaf-hub release --summary-json (leaf_hub.records.ReleaseSummary: recipe version, hub commit)",
    "leaderboard_submission.json": "leaf-hub leaderboard --report",
}
#: Where the scripts that write stamped reports live.
SCRIPT_FOLDERS = ("scripts/bench/", "scripts/studies/")
MACHINE_FIELDS = ("cores", "cpu_model", "cpu_flags", "torch_threads", "load_average_before", "load_average_after")
TARGET_FIELDS = ("name", "path", "op", "target", "value", "met")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stamp_problems(report: dict[str, Any], root: Path = ROOT) -> list[str]:
    """Why a script's report is not traceable to the code in ``root``; ``[]`` when it is.

    Args:
        report: The report's JSON.
        root: The checkout the stamp's ``script`` path is relative to.

    Returns:
        One line per problem: a historical report without its reason or writer, a missing stamp or
        stamp field, or a script whose sha256 differs from the stamp's.
    """
    if "historical" in report:
        problems = []
        if report["historical"] is not True:
            problems.append(f"historical is {report['historical']!r}: true, or leave it out and rerun")
        if not str(report.get("historical_reason") or "").strip():
            problems.append("historical without a historical_reason")
        writer = str(report.get("written_by") or (report.get("stamp") or {}).get("script") or "")
        if not writer.startswith(SCRIPT_FOLDERS):
            problems.append(f"historical report's written_by {writer!r} is not a script under {SCRIPT_FOLDERS}")
        return problems
    stamp = report.get("stamp")
    if not isinstance(stamp, dict):
        return ["no stamp, and not marked historical: rerun the script, or mark it historical with the reason"]
    missing = [name for name in common.STAMP_FIELDS if name not in stamp]
    if missing:
        return [f"stamp lacks {', '.join(missing)}"]
    problems = []
    if not re.fullmatch(r"[0-9a-f]{40}", str(stamp["git"].get("commit"))):
        problems.append(f"stamp's git commit {stamp['git'].get('commit')!r} is not a commit id")
    missing = [name for name in MACHINE_FIELDS if name not in stamp["machine"]]
    if missing:
        problems.append(f"stamp's machine block lacks {', '.join(missing)}")
    for target in stamp["targets"]:
        if any(name not in target for name in TARGET_FIELDS):
            problems.append(f"target {target} lacks one of {TARGET_FIELDS}")
    script = root / stamp["script"]
    if not str(stamp["script"]).startswith(SCRIPT_FOLDERS):
        problems.append(f"stamp's script {stamp['script']!r} is not under {SCRIPT_FOLDERS}")
    elif not script.is_file():
        problems.append(f"{stamp['script']} no longer exists; mark the report historical with the reason")
    elif _sha256(script) != stamp["script_sha256"]:
        problems.append(
            f"{stamp['script']} changed since this report was written (stamp {stamp['script_sha256'][:12]}, "
            f"now {_sha256(script)[:12]}, measured at commit {str(stamp['git']['commit'])[:12]}): rerun it, "
            "or mark the report historical: true with a historical_reason"
        )
    return problems


def _package_written(path: Path) -> bool:
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in PACKAGE_WRITTEN)


SCRIPT_REPORTS = [p for p in REPORTS if not _package_written(p)]


def test_every_report_is_a_script_report_or_written_by_the_package() -> None:
    assert SCRIPT_REPORTS and len(SCRIPT_REPORTS) < len(REPORTS)
    for path in SCRIPT_REPORTS:
        report = json.loads(path.read_text(encoding="utf-8"))
        assert "stamp" in report or "written_by" in report, f"{path.name}: which script wrote it?"


@pytest.mark.parametrize("path", SCRIPT_REPORTS, ids=lambda p: p.name)
def test_a_committed_report_matches_its_script_or_says_why_not(path: Path) -> None:
    assert stamp_problems(json.loads(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", SCRIPT_REPORTS, ids=lambda p: p.name)
def test_no_committed_report_is_a_quick_run(path: Path) -> None:
    stamp = json.loads(path.read_text(encoding="utf-8")).get("stamp") or {}
    assert stamp.get("quick") is not True, f"{path.name}: a --quick run's figures are not figures of record"


# ------------------------------------------------------------------- the checker itself


@pytest.fixture()
def stamped(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A checkout with one script, and a report that script's real stamp signs."""
    rel = Path("scripts/bench/bench_hub.py")
    (tmp_path / rel).parent.mkdir(parents=True)
    shutil.copyfile(ROOT / rel, tmp_path / rel)
    stamp = common.start_stamp(ROOT / rel, (common.Target("no error", "errors", "==", 0),))
    out = common.write_report(tmp_path / "reports" / "bench_hub.json", {"errors": 0}, stamp)
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["stamp"]["targets"][0]["met"] is True
    return tmp_path, report


def test_a_fresh_stamp_passes(stamped: tuple[Path, dict[str, Any]]) -> None:
    root, report = stamped
    assert stamp_problems(report, root) == []


def test_a_report_whose_script_changed_since_fails(stamped: tuple[Path, dict[str, Any]]) -> None:
    root, report = stamped
    script = root / "scripts" / "bench" / "bench_hub.py"
    script.write_text(script.read_text(encoding="utf-8").replace("concurrent", "parallel"), encoding="utf-8")
    (problem,) = stamp_problems(report, root)
    assert problem.startswith("scripts/bench/bench_hub.py changed since this report was written")


def test_a_hand_edited_hash_fails(stamped: tuple[Path, dict[str, Any]]) -> None:
    root, report = stamped
    report["stamp"]["script_sha256"] = "0" * 64
    assert "changed since this report was written" in stamp_problems(report, root)[0]


def test_a_stale_report_marked_historical_with_its_reason_passes(stamped: tuple[Path, dict[str, Any]]) -> None:
    root, report = stamped
    (root / "scripts" / "bench" / "bench_hub.py").write_text("# rewritten\n", encoding="utf-8")
    assert stamp_problems(report, root)
    assert stamp_problems({"historical": True, "historical_reason": "server API changed", **report}, root) == []
    assert stamp_problems({"historical": True, **report}, root) == ["historical without a historical_reason"]
    assert stamp_problems({"historical": True, "historical_reason": " ", **report}, root)
    assert stamp_problems({"historical": "yes", "historical_reason": "r", **report}, root)


def test_an_unstamped_report_of_a_known_script_needs_historical(tmp_path: Path) -> None:
    assert stamp_problems({"figures": 1}, tmp_path)[0].startswith("no stamp, and not marked historical")
    old = {"historical": True, "historical_reason": "predates stamps", "written_by": "scripts/bench/bench_hub.py"}
    assert stamp_problems(old, tmp_path) == []
    assert stamp_problems(old | {"written_by": "somewhere/else.py"}, tmp_path)


@pytest.mark.parametrize("field", ["script_sha256", "git", "command", "machine", "targets", "leaf_hub_version"])
def test_a_stamp_missing_a_field_fails(stamped: tuple[Path, dict[str, Any]], field: str) -> None:
    root, report = stamped
    broken = copy.deepcopy(report)
    del broken["stamp"][field]
    assert stamp_problems(broken, root) == [f"stamp lacks {field}"]


def test_a_stamp_without_load_after_or_a_commit_fails(stamped: tuple[Path, dict[str, Any]]) -> None:
    root, report = stamped
    broken = copy.deepcopy(report)
    del broken["stamp"]["machine"]["load_average_after"]
    broken["stamp"]["git"]["commit"] = None
    assert len(stamp_problems(broken, root)) == 2
