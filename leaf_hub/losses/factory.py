"""Pick the distillation loss a recipe's ``training`` section asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from leaf_hub.losses.leaf_distill import LeafDistillLoss
    from leaf_hub.recipe import TrainingSpec

__all__ = ["build_loss"]


def build_loss(model: SentenceTransformer, teacher_vectors: np.ndarray, training: TrainingSpec) -> LeafDistillLoss:
    """Return the loss for ``training``: plain LEAF unless an option beyond it is switched on.

    * ``score_distill_weight > 0``: :class:`~leaf_hub.losses.ScoreDistillLoss` (focal-weighted
      vector term too when ``focal_gamma > 0``);
    * ``focal_gamma > 0``: :class:`~leaf_hub.losses.FocalDistillLoss`;
    * otherwise :class:`~leaf_hub.losses.LeafDistillLoss`.

    Args:
        model: The student.
        teacher_vectors: ``(n, dim)`` teacher vectors, row ``i`` for text ``i``.
        training: The recipe's training settings.

    Returns:
        The loss module, ready for ``SentenceTransformerTrainer``.
    """
    from leaf_hub.losses.focal_distill import FocalDistillLoss
    from leaf_hub.losses.leaf_distill import LeafDistillLoss
    from leaf_hub.losses.score_distill import ScoreDistillLoss

    if training.score_distill_weight > 0:
        return ScoreDistillLoss(
            model,
            teacher_vectors,
            distance=training.loss,
            weight=training.score_distill_weight,
            temperature=training.score_distill_temperature,
            gamma=training.focal_gamma,
        )
    if training.focal_gamma > 0:
        return FocalDistillLoss(model, teacher_vectors, distance=training.loss, gamma=training.focal_gamma)
    return LeafDistillLoss(model, teacher_vectors, distance=training.loss)
