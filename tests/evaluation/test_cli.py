"""``leaf-hub evaluate`` through the real console entry point: bad input -> one line and an exit code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leaf_hub.cli", "evaluate", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("leaf-hub: error: ")
    return lines[0]


def test_unknown_task(student_path: Path) -> None:
    proc = run_cli(str(student_path), "--tasks", "SciFact,SciFakt")
    assert proc.returncode == 4
    assert one_line_error(proc).startswith(
        "leaf-hub: error: unknown task 'SciFakt': neither an mteb task nor an mteb benchmark (mteb "
    )


def test_unknown_mode(student_path: Path) -> None:
    proc = run_cli(str(student_path), "--modes", "asym")
    assert proc.returncode == 4
    assert "unknown mode 'asym'" in one_line_error(proc)


def test_not_a_model_folder(tmp_path: Path) -> None:
    (tmp_path / "weights.txt").write_text("not a model\n")
    proc = run_cli(str(tmp_path))
    assert proc.returncode == 2
    assert "not a run folder (no recipe.yaml) nor a sentence-transformers model folder (no modules.json)" in (
        one_line_error(proc)
    )


def test_broken_model_folder(tmp_path: Path, student_path: Path) -> None:
    shutil.copy(student_path / "modules.json", tmp_path / "modules.json")
    proc = run_cli(str(tmp_path), "--tasks", "STSBenchmark", "--query-limit", "5", "-o", str(tmp_path / "eval"))
    assert proc.returncode == 2
    assert "cannot load" in one_line_error(proc)


def test_missing_data_dir(student_path: Path, tmp_path: Path) -> None:
    proc = run_cli(str(student_path), "--data", str(tmp_path / "no-data"))
    assert proc.returncode == 2
    assert one_line_error(proc).startswith(f"leaf-hub: error: data folder not found: {tmp_path / 'no-data'}")


def test_teacher_mode_needs_a_teacher(student_path: Path) -> None:
    proc = run_cli(str(student_path), "--modes", "student,teacher")
    assert proc.returncode == 4
    assert one_line_error(proc) == "leaf-hub: error: mode teacher needs a teacher model; none was given"


def _run_folder(tmp_path: Path, student_path: Path) -> Path:
    """A run folder as ``leaf-hub distill`` lays it out, holding a real (undistilled) student."""
    run = tmp_path / "run"
    shutil.copytree(student_path, run / "model")
    recipe = {
        "name": "cli-eval",
        "teacher": {"id": "sentence-transformers/all-MiniLM-L6-v2", "path": str(student_path), "max_seq_length": 128},
        "student": {"id": "sentence-transformers/all-MiniLM-L6-v2", "projection_dim": 384},
        "data": {"sources": [{"path": "distill/queries_en.txt", "samples": 10}]},
        "evaluation": {"tasks": ["SciFact", "STSBenchmark"], "corpus_limit": 40, "query_limit": 20, "sweep_dims": [64]},
        "hub": {"repo_id": "test-org/cli-eval"},
        "output_dir": str(run),
    }
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    return run


def test_run_folder_end_to_end(tmp_path: Path, student_path: Path) -> None:
    run = _run_folder(tmp_path, student_path)
    env = {"LEAF_HUB_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    proc = run_cli(str(run), "--tasks", "STSBenchmark", "--tasks", "SciFact", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((run / "eval" / "results.json").read_text())
    assert {(s["task"], s["mode"]) for s in results["scores"]} == {
        (t, m) for t in ("SciFact", "STSBenchmark") for m in ("student", "teacher", "asymmetric")
    }
    assert results["corpus_limit"] == 40 and results["query_limit"] == 20
    assert {p["dim"] for p in results["sweep"]} == {384, 64}
    assert (run / "eval" / "sweep.png").is_file()
    assert sorted(p.name for p in (run / "eval" / "mteb" / "asymmetric").iterdir()) == [
        "STSBenchmark.json",
        "SciFact.json",
        "run_settings.jsonl",
    ]
    assert "SciFact" in proc.stdout and "asymmetric" in proc.stdout and "retention" in proc.stdout
    assert f"results: {run / 'eval' / 'results.json'}" in proc.stdout

    # --teacher is only for bare model folders
    bad = run_cli(str(run), "--teacher", "sentence-transformers/all-mpnet-base-v2", env=env)
    assert bad.returncode == 4 and "--teacher is for a bare model folder" in one_line_error(bad)


def test_bare_model_folder_is_student_only_without_teacher(tmp_path: Path, student_path: Path) -> None:
    env = {"LEAF_HUB_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    proc = run_cli(
        str(student_path), "--tasks", "STSBenchmark", "--query-limit", "30", "--no-sweep", env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "eval" / student_path.name / "results.json").read_text())
    assert [(s["task"], s["mode"], s["n_queries"]) for s in results["scores"]] == [("STSBenchmark", "student", 30)]
    assert results["sweep"] == [] and results["plot"] is None and results["teacher"] is None
