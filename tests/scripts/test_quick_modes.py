"""Every benchmark and study runs end to end in its ``--quick`` mode and writes its report with its stamp.

One slow test per script: the script runs as a user runs it (``python scripts/<folder>/<name>.py
--quick``, a subprocess) with tiny sizes on the real models and data, and writes its report to a
temporary path (never over ``reports/``). The test checks that the report is there, stamped by
this script as it is now, marked quick, with its declared targets; it does not check the figures
(tiny sizes measure nothing). A refactor that breaks a script fails here instead of at its next
run of record.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.scripts import ROOT, SCRIPTS, load_script

common = load_script("bench/common")


def _student() -> str:
    """A sentence-transformers folder to stand in for the leaf student (the real MiniLM init, offline)."""
    from leaf_hub.assets import resolve_model

    return resolve_model("sentence-transformers/all-MiniLM-L6-v2")


#: script -> (its report option, extra arguments, how many targets it declares)
QUICK = {
    "bench/bench_distill": ("--out", [], 1),
    "bench/bench_eval": ("--output", ["--student", "{student}"], 3),
    "bench/bench_exports": ("--output", ["--student", "{student}"], 2),
    "bench/bench_hub": ("--out", [], 0),
    "bench/bench_precision": ("--out", [], 3),
    "bench/bench_soak": ("--out", [], 2),
    "bench/bench_test_disk": ("--out", [], 0),
    "bench/bench_train": ("--output", [], 2),
    "bench/compat_backends": ("--out", [], 2),
    "bench/compat_matrix": ("--out", [], 1),
    "bench/leaf_asym": ("--out", [], 2),
    "bench/mteb_equivalence": ("--out", [], 3),
    "studies/ablation": ("--output", [], 0),
    "studies/leaf_study": ("--output", [], 0),
    "studies/parallel_study": ("--output", [], 0),
    "studies/schedule_study": ("--output", [], 0),
}


def test_every_bench_and_study_script_has_a_quick_test() -> None:
    scripts = {
        f"{p.parent.name}/{p.stem}" for p in [*SCRIPTS.glob("bench/*.py"), *SCRIPTS.glob("studies/*.py")]
    } - {"bench/common"}
    assert scripts == set(QUICK)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(QUICK))
def test_quick_mode_writes_a_stamped_report(name: str, tmp_path: Path) -> None:
    option, extra, n_targets = QUICK[name]
    script = SCRIPTS / f"{name}.py"
    out = tmp_path / "report.json"
    args = [a.replace("{student}", _student()) if "{student}" in a else a for a in extra]
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", option, str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    stamp = report["stamp"]
    assert set(common.STAMP_FIELDS) <= set(stamp)
    assert stamp["script"] == f"scripts/{name}.py"
    assert stamp["script_sha256"] == hashlib.sha256(script.read_bytes()).hexdigest()
    assert stamp["quick"] is True and "--quick" in stamp["command"]
    assert stamp["leaf_hub_version"] == common.leaf_hub_version()
    assert stamp["leaf_hub_path"] in (None, "leaf_hub")  # this checkout's package, when the script imported it
    assert stamp["machine"]["load_average_before"] and stamp["machine"]["load_average_after"]
    assert len(stamp["targets"]) == n_targets
    assert all(set(t) >= {"name", "value", "target", "met"} for t in stamp["targets"])
    assert set(report) - {"stamp"}  # the figures are there (not checked: tiny sizes measure nothing)
