"""The leaf trainer's optimizer: the stock one, with the projection's own rate from ``learning_rate_mapping``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def _trainer(student_path: Path, tmp_path: Path, multiplier: float):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainingArguments

    from leaf_hub.losses import LeafDistillLoss
    from leaf_hub.models.student import build_student
    from leaf_hub.training import LeafTrainer

    student = build_student(str(student_path), projection_dim=768, device="cpu")
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path), learning_rate=1e-4, weight_decay=0.01, optim="adamw_torch_fused", use_cpu=True
    )
    loss = LeafDistillLoss(student, np.zeros((4, 768), dtype=np.float32))
    data = Dataset.from_dict({"text": ["a", "b", "c", "d"], "label": [0, 1, 2, 3]})
    trainer = LeafTrainer(
        model=student, args=args, train_dataset=data, loss=loss, lengths=np.ones(4), projection_lr_multiplier=multiplier
    )
    return student, trainer


@pytest.mark.parametrize("multiplier", [0.1, 1.0])
def test_projection_gets_its_own_rate_and_frozen_parameters_stay_out(student_path, tmp_path, multiplier):
    import torch
    from sentence_transformers import models

    student, trainer = _trainer(student_path, tmp_path, multiplier)
    for p in student[0].auto_model.embeddings.parameters():
        p.requires_grad_(False)
    optimizer = trainer.create_optimizer()
    dense = {id(p) for m in student if isinstance(m, models.Dense) for p in m.parameters()}
    rates = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    trainable = {id(p) for p in student.parameters() if p.requires_grad}
    assert set(rates) == trainable  # every trainable parameter once, no frozen one
    assert sorted({rates[i] for i in dense}) == pytest.approx([1e-4 * multiplier])
    assert sorted({rates[i] for i in trainable - dense}) == pytest.approx([1e-4])
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.defaults.get("fused")
