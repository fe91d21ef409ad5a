"""Learning-rate schedules and layer freezing of the leaf trainer."""

from __future__ import annotations

import pytest

from leaf_hub.training import SCHEDULES, freeze_lower_layers, lr_lambda


def test_linear_warms_up_then_decays_to_zero():
    f = lr_lambda("linear", 100, warmup_ratio=0.1)
    values = [f(s) for s in range(100)]
    assert values[0] < values[5] < values[9] <= 1.0
    assert max(values) == pytest.approx(values[10], abs=0.02)
    assert all(a >= b for a, b in zip(values[10:], values[11:], strict=False))
    assert values[-1] < 0.02


def test_cycles_restart_the_linear_schedule():
    f = lr_lambda("cycles", 300, warmup_ratio=0.05, cycles=3)
    assert f(99) < 0.05 and f(105) > 0.9 and f(199) < 0.05 and f(205) > 0.9 and f(299) < 0.05
    assert lr_lambda("cycles", 300, warmup_ratio=0.05, cycles=1)(150) == pytest.approx(
        lr_lambda("linear", 300, warmup_ratio=0.05)(150)
    )


def test_constant_with_cooldown_holds_the_peak_until_the_cooldown():
    f = lr_lambda("constant_cooldown", 100, warmup_ratio=0.05, cooldown_ratio=0.2)
    assert f(10) == 1.0 and f(79) == 1.0
    assert 0 < f(90) < 1 and f(99) < 0.06


def test_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="unknown schedule"):
        lr_lambda("cosine", 10, warmup_ratio=0.0)  # type: ignore[arg-type]
    assert set(SCHEDULES) == {"linear", "constant_cooldown", "cycles"}


def test_freezing_keeps_the_top_layers_and_the_projection_trainable(student_path):
    from leaf_hub.models.student import build_student

    student = build_student(str(student_path), projection_dim=768, device="cpu")
    everything = freeze_lower_layers(student, None)
    assert everything["frozen"] == 0
    counts = freeze_lower_layers(student, 2)
    backbone = student[0].model
    assert not any(p.requires_grad for p in backbone.embeddings.parameters())
    assert not any(p.requires_grad for layer in backbone.encoder.layer[:4] for p in layer.parameters())
    assert all(p.requires_grad for layer in backbone.encoder.layer[4:] for p in layer.parameters())
    assert all(p.requires_grad for p in student[2].parameters())  # the Dense projection
    assert counts["trainable"] + counts["frozen"] == everything["trainable"]
    assert counts["frozen"] > counts["trainable"]
