"""Evaluation with a black-box teacher: a callable encodes the evaluation texts, a precomputed file cannot."""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

import pytest
import yaml

from leaf_hub.evaluation.run import evaluate_run
from tests.encoders import real_functions
from tests.publish._run import build_real_run

pytestmark = pytest.mark.slow  # needs the shared tiny real run (distil + evaluate, built once per session)


@pytest.fixture(scope="session")
def leaf_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_real_run(tmp_path_factory.getbasetemp() / "leaf-run")


def _with_teacher(leaf_run: Path, target: Path, teacher: dict) -> Path:
    shutil.copytree(leaf_run, target, ignore=shutil.ignore_patterns("checkpoints", "exports", "eval"))
    recipe = yaml.safe_load((target / "recipe.yaml").read_text())
    recipe["teacher"] = teacher
    (target / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    return target


def test_callable_teacher_is_evaluated_through_the_function(leaf_run, tmp_path):
    run = _with_teacher(
        leaf_run,
        tmp_path / "run",
        {
            "id": "example-org/mpnet-api",
            "kind": "callable",
            "function": "tests.encoders.real_functions:encode_mpnet",
            # a fresh fingerprint, so nothing is cached: tmp_path's name repeats across pytest sessions
            "function_version": f"test-{uuid.uuid4().hex}",
            "dim": 768,
        },
    )
    real_functions.CALLS.clear()
    results = evaluate_run(*_recorded(run), tasks=["STSBenchmark"], query_limit=12, sweep=False, progress=False)
    assert {s.mode for s in results.scores} == {"student", "teacher", "asymmetric"}
    assert sum(real_functions.CALLS) > 0  # the teacher's vectors came from the function
    assert 0 < results.score("STSBenchmark", "teacher") <= 1


def test_precomputed_teacher_modes_are_skipped_with_the_reason(leaf_run, tmp_path, caplog):
    run = _with_teacher(
        leaf_run,
        tmp_path / "run",
        {"id": "example-org/bought", "kind": "precomputed", "vectors": str(tmp_path / "v.parquet"), "dim": 768},
    )
    with caplog.at_level(logging.WARNING, logger="leaf_hub.evaluation.run"):
        results = evaluate_run(*_recorded(run), tasks=["STSBenchmark"], query_limit=12, sweep=False, progress=False)
    assert {s.mode for s in results.scores} == {"student"}
    assert "skipping the teacher and asymmetric modes: the teacher example-org/bought is a precomputed file" in (
        caplog.text
    )


def _recorded(run: Path) -> tuple:
    """The (recipe, run folder) pair ``leaf-hub evaluate`` hands over: the recipe the run recorded."""
    from leaf_hub.run_folder import RunFolder

    folder = RunFolder(run)
    return folder.load_recipe(), folder
