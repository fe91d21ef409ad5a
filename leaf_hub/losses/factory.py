"""Pick the distillation loss a recipe's ``training`` section asks for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from leaf_hub.losses.leaf_distill import LeafDistillLoss
    from leaf_hub.recipe import TrainingSpec

__all__ = ["build_loss", "loss_citations"]


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


def loss_citations(loss: Any) -> dict[str, str]:
    """Label -> BibTeX of every method in a built loss, in order, a wrapped loss's parts included.

    A leaf-hub loss gives its ``citations`` (a label per method); any other loss (a
    sentence-transformers one) is named by its class and cites its ``citation``. A loss that wraps
    another one (``loss.loss``, as ``MatryoshkaLoss`` does) lists the wrapped loss's methods first,
    then its own. Distillation records the result in ``metrics.json`` and the model card cites it.

    Args:
        loss: The loss module that training uses.

    Returns:
        The citations, duplicates (the same label) listed once.
    """
    out: dict[str, str] = {}
    inner = getattr(loss, "loss", None)
    if inner is not None and inner is not loss and (hasattr(inner, "citations") or hasattr(inner, "citation")):
        out.update(loss_citations(inner))
    own = getattr(loss, "citations", None)
    if isinstance(own, Mapping):
        out.update({str(k): str(v) for k, v in own.items() if v})
    else:
        text = getattr(loss, "citation", None)
        if isinstance(text, str) and text.strip():
            out.setdefault(type(loss).__name__, text.strip())
    return out
