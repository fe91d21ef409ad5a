"""The options change real training runs as intended (distill_models, real student, real teacher vectors)."""

from __future__ import annotations

import math

import pytest

from leaf_hub.distill import distill_models, mean_alignment
from leaf_hub.recipe import TrainingSpec

from .conftest import make_student

pytestmark = pytest.mark.slow  # three real trainings: ~60 s on a busy 2-core machine

BASE = {"batch_size": 16, "max_steps": 2, "learning_rate": 5e-5, "seed": 3, "checkpoint_steps": 100, "device": "cpu"}


@pytest.fixture(scope="module")
def runs(student_path, option_texts, option_targets, module_tmp):
    """Two steps of plain LEAF, +focal and +score distillation from the same start on the same batches."""
    texts, targets = option_texts[:64], option_targets[:64]
    out = {}
    for name, extra in {
        "plain": {},
        "focal": {"focal_gamma": 2.0},
        "score": {"score_distill_weight": 1.0, "score_distill_temperature": 0.05},
    }.items():
        student = make_student(student_path, texts, targets)
        trained = distill_models(
            student, texts, targets, TrainingSpec(**BASE, **extra), module_tmp(name) / "checkpoints"
        )
        trained["alignment"] = mean_alignment(student, option_texts[64:], option_targets[64:])
        out[name] = trained
    return out


def test_every_option_trains(runs):
    for name, trained in runs.items():
        assert trained["steps"] == 2, name
        assert all(math.isfinite(loss) for _, loss in trained["loss_history"]), name
        assert -1 <= trained["alignment"] <= 1


def test_first_step_losses_differ_as_intended(runs):
    """Same model, same first batch: focal's weighted mean and score distillation's extra KL are both larger."""
    first = {name: trained["loss_history"][0] for name, trained in runs.items()}
    assert first["plain"][0] == first["focal"][0] == first["score"][0] == 1.0
    assert first["focal"][1] > first["plain"][1]
    assert first["score"][1] > first["plain"][1]
