"""Held-out alignment per text kind, in the distill report, and the cosine LEAF loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from leaf_hub.distill.alignment import alignment_by_kind
from leaf_hub.records import DistillReport


def _report(**extra: object) -> DistillReport:
    base = {
        "recipe_name": "r",
        "recipe_fingerprint": "f",
        "teacher_id": "t",
        "teacher_fingerprint": "tf",
        "student_init_id": "s",
        "run_dir": "runs/r",
        "n_train_texts": 10,
        "n_heldout": 4,
        "alignment_before": 0.5,
        "alignment_after": 0.6,
        "steps": 1,
        "train_seconds": 1.0,
        "train_texts_per_s": 1.0,
        "teacher_seconds": 0.0,
        "teacher_texts_encoded": 0,
        "teacher_cache_hits": 14,
        "wall_seconds": 2.0,
    }
    return DistillReport(**{**base, **extra})


def test_alignment_by_kind_splits_the_held_out_texts():
    before = np.array([0.1, 0.2, 0.5, 0.7])
    after = np.array([0.3, 0.4, 0.5, 0.9])
    out = alignment_by_kind(before, after, ["query", "query", "document", "document"])
    assert list(out) == ["document", "query"]
    assert out["query"]["n"] == 2 and out["query"]["before"] == pytest.approx(0.15)
    assert out["query"]["after"] == pytest.approx(0.35) and out["query"]["gain_se"] == pytest.approx(0.0)
    assert out["document"]["after"] == pytest.approx(0.7) and out["document"]["gain_se"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="3 kinds for 4"):
        alignment_by_kind(before, after, ["query"] * 3)


def test_report_keeps_per_kind_alignment_and_shows_it():
    from rich.console import Console

    kinds = {"query": {"n": 2, "before": 0.15, "after": 0.35, "gain_se": 0.0}}
    report = DistillReport.from_json(_report(student_kind="static", alignment_by_kind=kinds).to_json())
    assert report.student_kind == "static" and report.query_alignment() == pytest.approx(0.35)
    console = Console(width=200, record=True)
    console.print(report.summary_table())
    assert "query (2) before → after" in console.export_text()
    # a report written before per-kind figures still reads, with none
    old = DistillReport.from_json(_report().to_json().replace('"alignment_by_kind": {}', '"x": 1'))
    assert old.alignment_by_kind == {} and old.query_alignment() is None and old.student_kind == "transformer"


def test_cosine_loss_is_one_minus_cosine(student_path):
    from sentence_transformers import SentenceTransformer

    from leaf_hub.losses import LeafDistillLoss

    model = SentenceTransformer(str(student_path), device="cpu")
    loss = LeafDistillLoss(model, np.zeros((1, 384), dtype=np.float32), distance="cosine")
    student = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    teacher = torch.tensor([[1.0, 1.0], [0.0, -1.0]])
    expected = ((1 - 1 / np.sqrt(2)) + 2.0) / 2
    assert loss.compute_loss_from_embeddings(student, teacher).item() == pytest.approx(expected, rel=1e-6)
    # scale-free: the cosine loss ignores norms, the MSE one does not
    assert loss.compute_loss_from_embeddings(3 * student, teacher).item() == pytest.approx(expected, rel=1e-6)
    mse = LeafDistillLoss(model, np.zeros((1, 384), dtype=np.float32), distance="mse")
    assert mse.compute_loss_from_embeddings(3 * student, teacher).item() != pytest.approx(
        mse.compute_loss_from_embeddings(student, teacher).item()
    )
