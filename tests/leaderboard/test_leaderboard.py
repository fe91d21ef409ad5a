"""MTEB leaderboard submission from a real mteb run of the real all-MiniLM-L6-v2 on real STS-B pairs.

mteb itself evaluates the model (mteb's own ``STSBenchmark`` task class, reading the local STS-B copy)
and writes its per-task JSON in its ResultCache layout, as ``leaf-hub evaluate`` does. The run folder
around it (``release.json``, ``eval/results.json``) says what publish and evaluate would have recorded.
The full STS-B test split takes ~30 s on 2 cores, so the tests that need a full-corpus result are slow;
the refusals run on a 200-pair sub-sample in a few seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from leaf_hub.errors import LeaderboardError, ScoreMismatchError
from leaf_hub.leaderboard import (
    build_model_meta,
    build_submission,
    model_meta_source,
    validate_submission,
    write_submission,
)
from leaf_hub.recipe import load_recipe
from leaf_hub.records import ReleaseManifest
from leaf_hub.run_folder import RunFolder
from tests.support.records import eval_results, score_record

ROOT = Path(__file__).resolve().parents[2]
REPO_ID = "leaf-hub/leaf-ir-mini"
STSB_TEST_PAIRS = 1379


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _evaluate_stsb(model_path: Path, cache_dir: Path, data_root: Path, n_pairs: int | None) -> Path:
    """Run mteb's STSBenchmark on the local STS-B test split (first ``n_pairs`` pairs, or all)."""
    import mteb
    from datasets import Dataset
    from mteb.tasks.sts.eng.sts_benchmark_sts import STSBenchmarkSTS
    from sentence_transformers import SentenceTransformer

    class LocalSTSBenchmark(STSBenchmarkSTS):
        def load_data(self, **kwargs: object) -> None:
            rows = []
            with (data_root / "stsb" / "test.tsv").open(encoding="utf-8") as fh:
                assert next(fh).rstrip("\n").split("\t") == ["sentence1", "sentence2", "score"]
                for line in fh:
                    a, b, score = line.rstrip("\n").split("\t")
                    rows.append({"sentence1": a, "sentence2": b, "score": float(score)})
            self.dataset = {"test": Dataset.from_list(rows[:n_pairs] if n_pairs else rows)}
            self.data_loaded = True

    model = SentenceTransformer(str(model_path), device="cpu")
    mteb.evaluate(model, [LocalSTSBenchmark()], cache=mteb.ResultCache(cache_dir), show_progress_bar=False)
    return cache_dir


@pytest.fixture(scope="module")
def subsampled_mteb(module_tmp, student_path: Path, shared_data: Path) -> Path:
    return _evaluate_stsb(student_path, module_tmp("mteb-sub"), shared_data, 200)


@pytest.fixture(scope="module")
def full_mteb(module_tmp, student_path: Path, shared_data: Path) -> Path:
    return _evaluate_stsb(student_path, module_tmp("mteb-full"), shared_data, None)


def submit(run: Path, output: Path | None = None, scorer=None):
    """``build_submission`` of the run's (Recipe, RunFolder) pair with stock mteb, as ``leaf-hub leaderboard`` calls it.

    ``scorer``: the stock-mteb scorer (default the real one, :func:`leaf_hub.evaluation.stock.stock_scores`).
    """
    from leaf_hub.evaluation.stock import stock_scores

    folder = RunFolder(run)
    return build_submission(folder.load_recipe(), folder, output, stock_scorer=scorer or stock_scores)


def make_run(
    tmp_path: Path,
    model_path: Path,
    mteb_cache: Path,
    *,
    subsampled: bool,
    n_pairs: int,
    release_overrides: dict | None = None,
) -> Path:
    """A run folder as distill/evaluate/publish leave it, around a real model and a real mteb result."""
    import mteb

    run = tmp_path / "runs" / "leaf-ir-mini"
    # the evaluated weights: symlinks to the real files (no 90 MB copy per test)
    shutil.copytree(model_path, run / "model", copy_function=os.symlink)
    recipe = load_recipe(ROOT / "recipes" / "leaf-ir-mini.yaml")
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe.model_dump(mode="json")), encoding="utf-8")
    shutil.copytree(mteb_cache / "results", run / "eval" / "mteb" / "student" / "results")
    score = json.loads(next((run / "eval" / "mteb" / "student").rglob("STSBenchmark.json")).read_text())
    main = score["scores"]["test"][0]["main_score"]
    folder = RunFolder(run)
    folder.save_results(
        eval_results(
            [score_record("STSBenchmark", value=main, subsampled=subsampled, n_queries=n_pairs, n_docs=2 * n_pairs)],
            model_path=str(run / "model"),
            mteb_version=mteb.__version__,
        )
    )
    files = {
        p.relative_to(run / "model").as_posix(): {"size": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted((run / "model").rglob("*"))
        if p.is_file() and p.name != "PROVENANCE.txt"
    }
    release = {
        "leaf_hub_version": "0.1.0",
        "name": recipe.name,
        "version": recipe.version,
        "recipe_fingerprint": recipe.fingerprint(),
        "teacher": {"id": recipe.teacher.id},
        "student_init": {"id": recipe.student.id},
        "scores": [],
        "kind": "model",
        "repo_id": REPO_ID,
        "commit": hashlib.sha1(json.dumps(files, sort_keys=True).encode()).hexdigest(),
        "tag": f"v{recipe.version}",
        "published_at": "2026-11-25T12:00:00Z",
        "files": files,
        "mteb_version": mteb.__version__,
    }
    release.update(release_overrides or {})
    folder.save_manifest(ReleaseManifest(**release))
    return run


# --------------------------------------------------------------------------- refusals (fast)


def test_refuses_weights_that_differ_from_the_published_revision(
    tmp_path: Path, student_path: Path, teacher_path: Path, subsampled_mteb: Path
) -> None:
    run = make_run(tmp_path, student_path, subsampled_mteb, subsampled=True, n_pairs=200)
    release = json.loads((run / "release.json").read_text())
    # the manifest of another revision: a different real model's weights
    release["files"]["model.safetensors"]["sha256"] = _sha256(teacher_path / "model.safetensors")
    (run / "release.json").write_text(json.dumps(release))
    with pytest.raises(LeaderboardError, match="evaluated weights differ from revision") as info:
        submit(run)
    assert "\n" not in str(info.value)
    assert not (run / "leaderboard").exists()


def test_refuses_weights_missing_from_the_manifest(tmp_path: Path, student_path: Path, subsampled_mteb: Path) -> None:
    run = make_run(tmp_path, student_path, subsampled_mteb, subsampled=True, n_pairs=200)
    release = json.loads((run / "release.json").read_text())
    del release["files"]["model.safetensors"]
    (run / "release.json").write_text(json.dumps(release))
    with pytest.raises(LeaderboardError, match="no sha256 for model.safetensors"):
        submit(run)


def test_refuses_results_from_another_mteb_version(tmp_path: Path, student_path: Path, subsampled_mteb: Path) -> None:
    run = make_run(
        tmp_path,
        student_path,
        subsampled_mteb,
        subsampled=True,
        n_pairs=200,
        release_overrides={"mteb_version": "2.1.0"},
    )
    with pytest.raises(
        LeaderboardError, match=r"computed with mteb 2\.\d+\.\d+, but the release declares mteb 2\.1\.0"
    ):
        submit(run)


def test_refuses_when_every_result_is_subsampled(tmp_path: Path, student_path: Path, subsampled_mteb: Path) -> None:
    run = make_run(tmp_path, student_path, subsampled_mteb, subsampled=True, n_pairs=200)
    with pytest.raises(LeaderboardError, match="every result of .* is sub-sampled") as info:
        submit(run)
    assert "STSBenchmark: sub-sampled: 200 queries" in str(info.value)
    assert "corpus_limit: null" in str(info.value)


def test_refuses_an_unpublished_run(tmp_path: Path, student_path: Path, subsampled_mteb: Path) -> None:
    run = make_run(tmp_path, student_path, subsampled_mteb, subsampled=True, n_pairs=200)
    (run / "release.json").unlink()
    with pytest.raises(LeaderboardError, match="release.json not found: publish the run first"):
        submit(run)


def _edit_result(run: Path, change) -> Path:
    """Apply ``change`` to the run's STSBenchmark result JSON (a dict) and write it back."""
    (path,) = (run / "eval" / "mteb" / "student").rglob("STSBenchmark.json")
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def test_refuses_a_result_missing_a_split_naming_the_task(
    tmp_path: Path, student_path: Path, subsampled_mteb: Path
) -> None:
    run = make_run(tmp_path, student_path, subsampled_mteb, subsampled=False, n_pairs=200)
    _edit_result(run, lambda d: d.update(scores={"validation": d["scores"]["test"]}))
    with pytest.raises(
        LeaderboardError, match=r"STSBenchmark\.json: STSBenchmark has no score for test/default"
    ) as info:
        submit(run)
    assert "\n" not in str(info.value)
    assert not (run / "leaderboard").exists()


def test_refuses_a_result_from_mteb_before_2_naming_the_task(
    tmp_path: Path, student_path: Path, subsampled_mteb: Path
) -> None:
    run = make_run(
        tmp_path,
        student_path,
        subsampled_mteb,
        subsampled=False,
        n_pairs=200,
        release_overrides={"mteb_version": "1.38.0"},
    )
    _edit_result(run, lambda d: d.update(mteb_version="1.38.0"))
    with pytest.raises(
        LeaderboardError, match=r"STSBenchmark was computed with mteb 1\.38\.0; .* above 2\.0\.0 only"
    ) as info:
        submit(run)
    assert "\n" not in str(info.value)
    assert not (run / "leaderboard").exists()


def _scorer(answer: dict[str, float], calls: list):
    """A stock-mteb scorer that records its call and answers ``answer`` (the wiring, without a full-split run)."""

    def scorer(model_dir, tasks, *, prompts, data_root, local, split):
        calls.append({"model_dir": model_dir, "tasks": list(tasks), "prompts": prompts, "local": local, "split": split})
        return answer

    return scorer


def test_a_score_stock_mteb_disagrees_with_is_refused_before_anything_is_written(
    tmp_path: Path, student_path: Path, subsampled_mteb: Path
) -> None:
    # the 200-pair result claimed as full, so that it is submitted; stock mteb's answer is given here
    run = make_run(tmp_path, student_path, subsampled_mteb, subsampled=False, n_pairs=200)
    (path,) = (run / "eval" / "mteb" / "student").rglob("STSBenchmark.json")
    ours = json.loads(path.read_text())["scores"]["test"][0]["main_score"]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    calls: list = []
    with pytest.raises(ScoreMismatchError) as info:
        submit(run, scorer=_scorer({"STSBenchmark": ours - 2e-4}, calls))
    message = str(info.value)
    assert "\n" not in message and message.startswith("STSBenchmark: ")
    assert f"leaf-hub scores {ours:.6f} but stock mteb scores {ours - 2e-4:.6f}" in message
    assert (info.value.task, info.value.leaf_hub) == ("STSBenchmark", ours)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written, not even staging
    assert calls == [
        {"model_dir": run / "model", "tasks": ["STSBenchmark"], "prompts": None, "local": None, "split": "test"}
    ]
    # within 1e-4 it is submitted, and the comparison is recorded
    sub = submit(run, scorer=_scorer({"STSBenchmark": ours + 5e-5}, calls))
    assert [(r.task, r.agree) for r in sub.agreement] == [("STSBenchmark", True)]
    (row,) = json.loads((run / "leaderboard" / "submission.json").read_text())["mteb_agreement"]
    assert row["leaf_hub"] == ours and row["mteb"] == pytest.approx(ours + 5e-5) and row["agree"] is True


def test_cli_prints_one_line_error_and_exits_2(tmp_path: Path, student_path: Path, subsampled_mteb: Path) -> None:
    run = make_run(
        tmp_path, student_path, subsampled_mteb, subsampled=True, n_pairs=200, release_overrides={"commit": "abc"}
    )
    proc = subprocess.run(
        [sys.executable, "-c", "from leaf_hub.cli import main; main()", "leaderboard", str(run)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("leaf-hub: error: ")
    assert "commit 'abc' is not a 40-hex commit id" in proc.stderr


# --------------------------------------------------------------------------- model metadata (fast)


def test_model_meta_entry_round_trips_through_mteb(student_path: Path) -> None:
    from mteb.models.model_meta import ModelMeta

    meta = build_model_meta(
        student_path,
        repo_id=REPO_ID,
        revision="a" * 40,
        release_date="2026-11-25",
        languages=["en"],
        license="apache-2.0",
        adapted_from="sentence-transformers/all-MiniLM-L6-v2",
        related_models=["sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-mpnet-base-v2"],
    )
    # sizes read from the real folder: all-MiniLM-L6-v2 has 22.7M parameters, 384-d, 256 tokens (as in mteb's own entry)
    import mteb

    reference = mteb.get_model_meta("sentence-transformers/all-MiniLM-L6-v2")
    assert meta.n_parameters == reference.n_parameters
    assert meta.n_embedding_parameters == reference.n_embedding_parameters
    assert (meta.embed_dim, meta.max_tokens, meta.languages) == (384, 256, ["eng-Latn"])
    assert meta.training_datasets >= reference.training_datasets
    # started from mteb's own reading of the folder, leaf-hub's facts on top
    from sentence_transformers import SentenceTransformer

    stock = ModelMeta.from_sentence_transformer_model(SentenceTransformer(str(student_path), device="cpu"))
    assert (meta.loader, meta.similarity_fn_name, meta.max_tokens) == (
        stock.loader,
        stock.similarity_fn_name,
        stock.max_tokens,
    )
    assert set(stock.framework) <= set(meta.framework)
    assert (meta.name, meta.revision, meta.adapted_from) == (
        REPO_ID,
        "a" * 40,
        "sentence-transformers/all-MiniLM-L6-v2",
    )
    source = model_meta_source(meta)
    namespace: dict = {}
    exec(compile(source, "model_meta.py", "exec"), namespace)
    assert namespace["leaf_ir_mini"] == meta
    assert ModelMeta.model_validate_json_resolved(json.dumps(meta.to_dict(), default=str)).name == REPO_ID


def test_model_meta_carries_every_saved_prompt(student_path: Path, tmp_path: Path) -> None:
    """Per-task prompts go to mteb's loader, so the leaderboard run uses the prompts our scores used."""
    import shutil

    from mteb.models.abs_encoder import AbsEncoder

    folder = tmp_path / "prompted"
    shutil.copytree(student_path, folder)
    config = json.loads((folder / "config_sentence_transformers.json").read_text())
    prompts = {"query": "query: ", "document": "", "SciFact-query": "Find evidence: ", "STS": "Same? "}
    config["prompts"] = prompts
    (folder / "config_sentence_transformers.json").write_text(json.dumps(config))
    meta = _meta(folder)
    expected = {k: v for k, v in prompts.items() if v}
    assert meta.loader_kwargs == {"model_prompts": expected}
    assert meta.use_instructions
    assert AbsEncoder.validate_task_to_prompt_name(meta.loader_kwargs["model_prompts"]) == expected
    namespace: dict = {}
    exec(compile(model_meta_source(meta), "model_meta.py", "exec"), namespace)
    assert namespace["leaf_ir_mini"].loader_kwargs == {"model_prompts": expected}


def test_model_meta_rejects_an_unknown_licence(student_path: Path) -> None:
    with pytest.raises(LeaderboardError, match=r"ModelMeta\.license"):
        build_model_meta(
            student_path,
            repo_id=REPO_ID,
            revision="a" * 40,
            release_date="2026-11-25",
            languages=["en"],
            license="my-own-licence",
            adapted_from=None,
        )


def _meta(student_path: Path, revision: str = "b" * 40):
    return build_model_meta(
        student_path,
        repo_id=REPO_ID,
        revision=revision,
        release_date="2026-11-25",
        languages=["en"],
        license="apache-2.0",
        adapted_from="sentence-transformers/all-MiniLM-L6-v2",
    )


def test_written_tree_is_what_mteb_loads(tmp_path: Path, student_path: Path, subsampled_mteb: Path) -> None:
    # the writer alone (no honesty gate): lays out a real mteb result as the results repository expects
    import mteb

    (task_file,) = subsampled_mteb.rglob("STSBenchmark.json")
    meta = _meta(student_path)
    sub = write_submission(tmp_path / "out", meta, {"STSBenchmark": task_file}, tag="v0.1.0")
    revision_dir = tmp_path / "out" / "results" / "leaf-hub__leaf-ir-mini" / ("b" * 40)
    assert sub.results_dir == revision_dir
    assert (revision_dir / "STSBenchmark.json").read_bytes() == task_file.read_bytes()
    bench = mteb.ResultCache(tmp_path / "out").load_results(models=[meta], include_remote=False)
    (model_result,) = bench.model_results
    assert model_result.model_revision == "b" * 40
    assert [r.task_name for r in model_result.task_results] == ["STSBenchmark"]
    assert sub.tasks["STSBenchmark"] == pytest.approx(
        json.loads(task_file.read_text())["scores"]["test"][0]["main_score"]
    )


def test_validation_catches_a_tree_mteb_would_file_elsewhere(
    tmp_path: Path, student_path: Path, subsampled_mteb: Path
) -> None:
    (task_file,) = subsampled_mteb.rglob("STSBenchmark.json")
    write_submission(tmp_path / "out", _meta(student_path), {"STSBenchmark": task_file})
    meta_path = next((tmp_path / "out").rglob("model_meta.json"))
    data = json.loads(meta_path.read_text())
    data["embed_dim"] = 768  # model_meta.json no longer describes the model
    meta_path.write_text(json.dumps(data))
    with pytest.raises(LeaderboardError, match="does not round-trip"):
        validate_submission(tmp_path / "out", _meta(student_path), ["STSBenchmark"])
    # a folder that is not a submission is never overwritten
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(LeaderboardError, match="is not a leaf-hub submission folder"):
        write_submission(tmp_path / "other", _meta(student_path), {"STSBenchmark": task_file})
    assert (tmp_path / "other" / "keep.txt").read_text() == "mine"


# --------------------------------------------------------------------------- full submission (slow)


@pytest.mark.slow
def test_full_submission_is_loaded_back_by_mteb(tmp_path: Path, student_path: Path, full_mteb: Path) -> None:
    import mteb
    from mteb.results import TaskResult

    run = make_run(tmp_path, student_path, full_mteb, subsampled=False, n_pairs=STSB_TEST_PAIRS)
    release = json.loads((run / "release.json").read_text())
    sub = submit(run)
    revision_dir = run / "leaderboard" / "results" / "leaf-hub__leaf-ir-mini" / release["commit"]
    assert sub.results_dir == revision_dir
    assert sorted(p.name for p in revision_dir.iterdir()) == [
        "STSBenchmark.json",
        "model_meta.json",
        "run_settings.jsonl",
    ]
    result = TaskResult.from_disk(revision_dir / "STSBenchmark.json")
    # the reference score of all-MiniLM-L6-v2 on the STS-B test split (shared/data/README.md: 0.8203)
    assert result.get_score() == pytest.approx(0.8203, abs=5e-4)
    assert sub.tasks == {"STSBenchmark": result.get_score()}
    # stock mteb on the saved folder agrees (the same mteb, the same data, the same prompts)
    (row,) = sub.agreement
    assert row.task == "STSBenchmark" and row.agree and abs(row.diff) <= 1e-4
    bench = mteb.ResultCache(run / "leaderboard").load_results(
        models=[REPO_ID], require_model_meta=True, include_remote=False, validate_and_filter=True
    )
    (model_result,) = bench.model_results
    assert (model_result.model_name, model_result.model_revision) == (REPO_ID, release["commit"])
    assert model_result.model_meta.embed_dim == 384
    assert "results/leaf-hub__leaf-ir-mini/" in sub.instructions and "gh pr create" in sub.instructions
    assert (run / "leaderboard" / "SUBMISSION.md").read_text() == sub.instructions
    # rebuilding replaces the earlier submission
    again = submit(run)
    assert again.tasks == sub.tasks


@pytest.mark.slow
def test_a_changed_score_is_refused_by_stock_mteb_before_anything_is_written(
    tmp_path: Path, student_path: Path, full_mteb: Path
) -> None:
    """Stock mteb (mteb's SentenceTransformerEncoderWrapper on the saved folder, full STS-B test split) is the judge."""
    run = make_run(tmp_path, student_path, full_mteb, subsampled=False, n_pairs=STSB_TEST_PAIRS)
    path = _edit_result(
        run, lambda d: d["scores"]["test"][0].update(main_score=d["scores"]["test"][0]["main_score"] + 0.01)
    )
    changed = json.loads(path.read_text())["scores"]["test"][0]["main_score"]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    proc = subprocess.run(
        [sys.executable, "-c", "from leaf_hub.cli import main; main()", "leaderboard", str(run)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"leaf-hub: error: STSBenchmark: leaf-hub scores {changed:.6f} but stock mteb scores 0.8")
    assert "Traceback" not in proc.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.slow
def test_subsampled_results_are_left_out_and_named(
    tmp_path: Path, student_path: Path, full_mteb: Path, subsampled_mteb: Path
) -> None:
    run = make_run(tmp_path, student_path, full_mteb, subsampled=False, n_pairs=STSB_TEST_PAIRS)
    # a second task, evaluated on a sub-sample: SciFact as the CPU recipes run it
    results = json.loads((run / "eval" / "results.json").read_text())
    results["scores"].append(
        {
            "task": "SciFact",
            "mode": "student",
            "split": "test",
            "main_metric": "ndcg_at_10",
            "main_score": 0.6,
            "subsampled": True,
            "n_queries": 300,
            "n_docs": 600,
            "seconds": 1.0,
        }
    )
    (run / "eval" / "results.json").write_text(json.dumps(results))
    sub = submit(run, tmp_path / "out")
    assert sub.tasks.keys() == {"STSBenchmark"}
    assert sub.skipped == {}  # SciFact has no mteb result file here, only its results.json row
    # the same task file but flagged sub-sampled -> refused as a whole
    results["scores"][0]["subsampled"] = True
    (run / "eval" / "results.json").write_text(json.dumps(results))
    with pytest.raises(LeaderboardError, match="sub-sampled"):
        submit(run, tmp_path / "out")


@pytest.mark.slow
def test_cli_builds_the_tree_and_prints_the_pull_request_steps(
    tmp_path: Path, student_path: Path, full_mteb: Path
) -> None:
    run = make_run(tmp_path, student_path, full_mteb, subsampled=False, n_pairs=STSB_TEST_PAIRS)
    out = tmp_path / "submission"
    proc = subprocess.run(
        [sys.executable, "-c", "from leaf_hub.cli import main; main()", "leaderboard", str(run), "--output", str(out)]
        + ["--pull-request"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "gh pr create" in proc.stdout and "embeddings-benchmark/results" in proc.stdout
    assert (out / "model_meta.py").is_file() and (out / "submission.json").is_file()
    # --pull-request: the pull request's folder and patch too, validated with mteb's loaders
    assert (out / "pull_request.patch").is_file() and "validated with mteb" in proc.stdout
    assert "leaf-hub leaderboard --pull-request" in (out / "SUBMISSION.md").read_text()
    assert (
        json.loads((out / "submission.json").read_text())["revision"]
        == json.loads((run / "release.json").read_text())["commit"]
    )
