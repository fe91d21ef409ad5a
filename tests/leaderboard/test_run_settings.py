"""run_settings.jsonl, the teacher's training data in the ModelMeta, and the results pull request (folder + patch).

``run_settings.jsonl`` is written by evaluation (:mod:`leaf_hub.evaluation.run_settings`) and checked
through its record (:mod:`leaf_hub.records.run_settings`); the submission and its pull request keep it.

The results come from ``leaf-hub``'s own evaluation (``evaluate_models``: mteb's STSBenchmark class on the
local STS-B copy) of the real all-MiniLM-L6-v2: 30 pairs for the layout checks, the full test split for
the submission, which must not be sub-sampled (slow: ~30 s on 2 cores).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from leaf_hub.errors import LeaderboardError
from leaf_hub.evaluation.run_settings import write_run_settings
from leaf_hub.leaderboard import build_model_meta, validate_pull_request, write_pull_request, write_submission
from leaf_hub.recipe import load_recipe
from leaf_hub.records.run_settings import check_run_settings

ROOT = Path(__file__).resolve().parents[2]


def _evaluate(student_path: Path, out: Path, pairs: int | None) -> Path:
    from leaf_hub.evaluation import eval_settings, evaluate_models

    settings = eval_settings(None, tasks=["STSBenchmark"], modes=["student"], query_limit=pairs)
    evaluate_models(student_path, output_dir=out, settings=settings, sweep=False, progress=False)
    return out / "mteb" / "student"


@pytest.fixture(scope="module")
def small_eval(module_tmp, student_path: Path) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEAF_HUB_HOME", str(module_tmp("home")))
        return _evaluate(student_path, module_tmp("eval"), 30)


def test_run_settings_are_what_mteb_cache_writes(small_eval: Path, tmp_path: Path) -> None:
    import mteb
    from mteb.results import TaskResult

    result = TaskResult.from_disk(small_eval / "STSBenchmark.json")
    ours = [json.loads(x) for x in (small_eval / "run_settings.jsonl").read_text().splitlines()]
    cache = mteb.ResultCache(tmp_path / "cache")
    cache.save_to_cache(result, "leaf-hub/x", "0" * 40, encode_kwargs={"batch_size": 32})
    theirs_path = next((tmp_path / "cache").rglob("run_settings.jsonl"))
    theirs = [json.loads(x) for x in theirs_path.read_text().splitlines()]
    assert ours == theirs
    assert ours[0]["task"] == "STSBenchmark" and ours[0]["version"]["mteb"] == mteb.__version__
    # a second write for the same task/split/subset replaces the entry (mteb's merge)
    write_run_settings(result, small_eval, {"batch_size": 32})
    assert [json.loads(x) for x in (small_eval / "run_settings.jsonl").read_text().splitlines()] == ours


def test_run_settings_check_refuses_old_mteb_and_gaps(small_eval: Path, tmp_path: Path) -> None:
    folder = tmp_path / "rev"
    folder.mkdir()
    (folder / "STSBenchmark.json").write_bytes((small_eval / "STSBenchmark.json").read_bytes())
    with pytest.raises(LeaderboardError, match="run_settings.jsonl is missing"):
        check_run_settings(folder, ["STSBenchmark"])
    entry = json.loads((small_eval / "run_settings.jsonl").read_text().splitlines()[0])
    (folder / "run_settings.jsonl").write_text(json.dumps({**entry, "version": {"mteb": "2.0.0"}}) + "\n")
    with pytest.raises(LeaderboardError, match="STSBenchmark/test/default was run with mteb 2.0.0; .* above 2.0.0"):
        check_run_settings(folder, ["STSBenchmark"])
    (folder / "run_settings.jsonl").write_text(json.dumps({**entry, "splits": ["validation"]}) + "\n")
    with pytest.raises(LeaderboardError, match="has no entry for STSBenchmark/test/default"):
        check_run_settings(folder, ["STSBenchmark"])


def test_pull_request_folder_and_patch_apply_to_a_results_repository(
    small_eval: Path, student_path: Path, tmp_path: Path
) -> None:
    meta = build_model_meta(
        student_path,
        repo_id="leaf-hub/leaf-ir-mini",
        revision="c" * 40,
        release_date="2026-11-25",
        languages=["en"],
        license="apache-2.0",
        adapted_from="sentence-transformers/all-MiniLM-L6-v2",
    )
    sub = write_submission(tmp_path / "sub", meta, {"STSBenchmark": small_eval / "STSBenchmark.json"})
    pr = write_pull_request(sub)
    prefix = f"results/leaf-hub__leaf-ir-mini/{'c' * 40}"
    assert sorted(pr.files) == [f"{prefix}/{n}" for n in ("STSBenchmark.json", "model_meta.json", "run_settings.jsonl")]
    assert all(size == (pr.folder / path).stat().st_size > 0 for path, size in pr.files.items())
    checked = validate_pull_request(pr)
    assert checked["passed"] and checked["result_cache_tasks"] == ["STSBenchmark"]
    assert checked["run_settings"] == [f"STSBenchmark/test/default (mteb {__import__('mteb').__version__})"]
    # the patch applies with git am on a results-repository clone (here: a fresh repository)
    repo = tmp_path / "results-clone"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "README.md").write_text("results\n")
    subprocess.run([*git, "add", "README.md"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], cwd=repo, check=True)
    subprocess.run([*git, "am", "-q", str(pr.patch)], cwd=repo, check=True)
    for path in pr.files:
        assert (repo / path).read_bytes() == (pr.folder / path).read_bytes()
    # and mteb loads the applied tree
    from mteb.cache import ResultCache

    bench = ResultCache(repo).load_results(models=[meta], tasks=["STSBenchmark"], include_remote=False)
    assert [r.task_name for r in bench.model_results[0].task_results] == ["STSBenchmark"]


def test_opening_the_pull_request_without_gh_is_one_line(
    small_eval: Path, student_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = build_model_meta(
        student_path,
        repo_id="leaf-hub/leaf-ir-mini",
        revision="d" * 40,
        release_date="2026-11-25",
        languages=["en"],
        license="apache-2.0",
        adapted_from=None,
    )
    sub = write_submission(tmp_path / "sub", meta, {"STSBenchmark": small_eval / "STSBenchmark.json"})
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin") + ":/usr/bin:/bin")
    with pytest.raises(LeaderboardError, match=r"needs the GitHub CLI \(gh\); without it apply .*pull_request.patch"):
        write_pull_request(sub, open_pr=True)
    assert (tmp_path / "sub" / "pull_request.patch").is_file()


@pytest.mark.slow
def test_full_split_submission_lists_the_teachers_training_data(
    tmp_path: Path, student_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.leaderboard.test_leaderboard import make_run, submit

    monkeypatch.setenv("LEAF_HUB_HOME", str(tmp_path / "home"))
    full = _evaluate(student_path, tmp_path / "eval", None)
    # make_run wants mteb's ResultCache layout under results/
    cache = tmp_path / "cache"
    (cache / "results" / "x" / "y").mkdir(parents=True)
    for name in ("STSBenchmark.json", "run_settings.jsonl"):
        (cache / "results" / "x" / "y" / name).write_bytes((full / name).read_bytes())
    run = make_run(tmp_path, student_path, cache, subsampled=False, n_pairs=1379)
    recipe = load_recipe(ROOT / "recipes" / "leaf-ir-mini.yaml").model_dump(mode="json")
    declared = load_recipe(ROOT / "recipes" / "leaf-ir-beir.yaml").teacher.training_datasets
    assert declared, "leaf-ir-beir.yaml declares no teacher training_datasets: nothing to check"
    import mteb

    registry = {
        name
        for model in ("sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-mpnet-base-v2")
        for name in mteb.get_model_meta(model).training_datasets or ()
    }
    assert set(declared) - registry  # some come only from the recipe, so the check below reads the recipe
    recipe["teacher"]["training_datasets"] = declared
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")

    sub = submit(run)
    meta = json.loads((sub.results_dir / "model_meta.json").read_text())
    assert set(declared) <= set(meta["training_datasets"])
    entries = [json.loads(x) for x in (sub.results_dir / "run_settings.jsonl").read_text().splitlines()]
    assert [(e["task"], e["splits"], e["subsets"]) for e in entries] == [("STSBenchmark", ["test"], ["default"])]
    pr = write_pull_request(sub)
    assert len(pr.files) == 3 and pr.patch.stat().st_size > sum(pr.files.values())

    # the command: same tree, the patch, and a report of what mteb's loaders accepted
    report = tmp_path / "leaderboard_submission.json"
    cli = [sys.executable, "-c", "from leaf_hub.cli import main; main()", "leaderboard"]
    out = tmp_path / "by-cli"
    proc = subprocess.run(
        [*cli, str(run), "-o", str(out), "--report", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(report.read_text())
    assert record["validation"]["passed"] and record["validation"]["result_cache_tasks"] == ["STSBenchmark"]
    assert record["files"] == pr.files and record["patch"]["bytes"] == (out / "pull_request.patch").stat().st_size
    assert record["command"].startswith("leaf-hub leaderboard ") and record["command"].endswith(f"--report {report}")
    # offline, --open-pr is refused in one line (no gh here, or no network), after the patch is written
    (out / "pull_request.patch").unlink()
    proc = subprocess.run(
        [*cli, str(run), "-o", str(out), "--open-pr"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
    )
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("leaf-hub: error: ")]
    assert proc.returncode == 2 and errors == lines[-1:] and "Traceback" not in proc.stderr, proc.stderr
    assert "gh" in errors[0] or "github.com" in errors[0]
    assert (out / "pull_request.patch").is_file()
