"""Typed run-folder records for tests that render or read them without a distillation run."""

from __future__ import annotations

from typing import Any

from leaf_hub.records import DistillReport, EvalResults, ReleaseManifest, ScoreRecord

#: mteb's main score of the tasks the tests use
_METRICS = {"SciFact": "ndcg_at_10", "NFCorpus": "ndcg_at_10", "STSBenchmark": "cosine_spearman"}


def score_record(task: str, mode: str = "student", value: float = 0.8, **changes: Any) -> ScoreRecord:
    """One score row of ``task`` (its mteb main metric), 12 queries over 60 documents unless changed."""
    fields: dict[str, Any] = {
        "task": task,
        "mode": mode,
        "split": "test",
        "main_metric": _METRICS.get(task, "main_score"),
        "main_score": value,
        "subsampled": False,
        "n_queries": 12,
        "n_docs": 60,
        "seconds": 1.0,
    }
    return ScoreRecord(**(fields | changes))


def eval_results(scores: list[ScoreRecord], **changes: Any) -> EvalResults:
    """Results holding ``scores`` (mteb 2.26.24, test split)."""
    fields: dict[str, Any] = {
        "model_path": "model",
        "mteb_version": "2.26.24",
        "split": "test",
        "scores": scores,
        "wall_seconds": 1.0,
    }
    return EvalResults(**(fields | changes))


def distill_report(**changes: Any) -> DistillReport:
    """The report of a tiny leaf-ir run (3 steps over 96 texts, alignment 0.5 -> 0.8) unless changed."""
    fields: dict[str, Any] = {
        "recipe_name": "leaf-ir-tiny",
        "recipe_fingerprint": "f" * 64,
        "teacher_id": "sentence-transformers/all-mpnet-base-v2",
        "teacher_fingerprint": "t" * 64,
        "student_init_id": "sentence-transformers/all-MiniLM-L6-v2",
        "run_dir": "runs/leaf-ir-tiny",
        "n_train_texts": 96,
        "n_heldout": 16,
        "alignment_before": 0.5,
        "alignment_after": 0.8,
        "steps": 3,
        "train_seconds": 1.0,
        "train_texts_per_s": 96.0,
        "teacher_seconds": 1.0,
        "teacher_texts_encoded": 112,
        "teacher_cache_hits": 0,
        "wall_seconds": 2.0,
    }
    return DistillReport(**(fields | changes))


def release_manifest(**changes: Any) -> ReleaseManifest:
    """A staged model manifest of org/leaf-ir-mini v0.1.0 (no files, not yet published) unless changed."""
    fields: dict[str, Any] = {
        "leaf_hub_version": "0.1.0",
        "name": "leaf-ir-mini",
        "version": "0.1.0",
        "recipe_fingerprint": "f" * 64,
        "teacher": {"id": "sentence-transformers/all-mpnet-base-v2"},
        "student_init": {"id": "sentence-transformers/all-MiniLM-L6-v2"},
        "scores": [],
        "repo_id": "org/leaf-ir-mini",
        "kind": "model",
    }
    return ReleaseManifest(**(fields | changes))
