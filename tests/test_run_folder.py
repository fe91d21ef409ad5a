"""The run folder's records: one load and one save each, round trips, and one-line refusals (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leaf_hub.errors import RecipeError, RunFolderError
from leaf_hub.recipe import load_recipe
from leaf_hub.records import DistillReport, EvalResults, FileEntry, ReleaseManifest, StageRecord
from leaf_hub.run_folder import RunFolder
from tests.support.records import distill_report, eval_results, release_manifest, score_record


def _report() -> DistillReport:
    return distill_report(alignment_gain_se=0.0015, citations={"LEAF": "@article{leaf}"})


def _results() -> EvalResults:
    return eval_results([score_record("STSBenchmark", n_queries=10, n_docs=20)])


def _manifest(**extra: object) -> ReleaseManifest:
    files = {"model.safetensors": FileEntry(size=3, sha256="A" * 64)}
    return release_manifest(version="0.3.1", files=files, **extra)


def test_every_record_round_trips_through_its_one_load_and_save(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "runs" / "x")
    recipe = load_recipe("leaf-ir-mini")
    run.save_recipe(recipe)
    assert run.load_recipe() == recipe
    run.save_report(_report())
    assert run.load_report() == _report()
    run.save_results(_results())
    assert run.load_results() == _results()
    assert run.load_results().row("STSBenchmark", "student").n_docs == 20
    run.save_manifest(_manifest(commit="c" * 40, tag="v0.3.1"))
    loaded = run.load_manifest()
    assert loaded.commit == "c" * 40 and loaded.hashes() == {"model.safetensors": "a" * 64}
    stages = StageRecord()
    stages.complete("distill", "d" * 64)
    stages.complete("publish", "p" * 64, commit="c" * 40)
    stages.distill_started = "d" * 64
    run.save_stages(stages)
    again = run.load_stages()
    assert again == stages and again.fingerprint("publish") == "p" * 64 and again.fingerprint("evaluate") is None
    again.invalidate("distill", "publish")
    assert again.completed == {}
    # atomic writes leave no temporary file behind
    assert not [p.name for p in run.root.rglob("*") if p.name.endswith(".tmp")]


def test_the_manifest_is_deterministic_and_keeps_only_the_fields_that_were_set() -> None:
    staged = _manifest()
    text = staged.to_json()
    assert text == _manifest().to_json()
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert "commit" not in json.loads(text) and "asym_repo_id" not in json.loads(text)
    assert ReleaseManifest.from_json(text) == staged


def test_missing_records_are_one_line_errors_that_say_which_stage_to_run(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    cases = [
        (run.load_recipe, "is .* a run folder made by `leaf-hub distill`"),
        (run.load_report, "distil the run first"),
        (run.load_results, "run `leaf-hub evaluate"),
        (run.load_manifest, "publish the run first"),
        (run.load_summary, "the release did not finish"),
        (run.require_model, "has no model/"),
    ]
    for load, message in cases:
        with pytest.raises(RunFolderError, match=message) as info:
            load()
        assert "\n" not in str(info.value)
    assert run.load_stages() == StageRecord()  # no stages.json: nothing is up to date


def test_malformed_records_are_refused_naming_the_file(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    run.root.mkdir(exist_ok=True)
    run.metrics_file.write_text("{not json")
    with pytest.raises(RunFolderError, match="metrics.json: not a distillation report"):
        run.load_report()
    run.manifest_file.write_text(json.dumps({"repo_id": "org/x"}))
    with pytest.raises(RunFolderError, match=r"release.json: leaf_hub_version: Field required"):
        run.load_manifest()
    run.eval_dir.mkdir()
    run.results_file.write_text(json.dumps({"schema_version": 2}))
    with pytest.raises(RunFolderError, match="results.json"):
        run.load_results()
    run.recipe_file.write_text("name: [unclosed")
    with pytest.raises(RecipeError, match="recipe.yaml"):
        run.load_recipe()
    run.stages_file.write_text("[]")
    assert run.load_stages() == StageRecord()


def test_a_release_clears_the_previous_summary_before_it_runs(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    run.save_summary(json.dumps({"recipe": "x"}))
    assert run.summary_file.is_file()
    run.clear_summary()
    run.clear_summary()  # twice is fine
    assert not run.summary_file.exists()
