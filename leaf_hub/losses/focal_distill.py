"""Focal-style reweighting of the LEAF loss: spend more of each step on the texts the student gets wrong."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import Tensor

from leaf_hub.citations import KALM_V2, KALM_V2_CITATION
from leaf_hub.losses.leaf_distill import LeafDistillLoss, check_finite

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["KALM_V2_CITATION", "FocalDistillLoss", "focal_weights"]


def focal_weights(student: Tensor, teacher: Tensor, gamma: float) -> Tensor:
    """Per-sample weights ``w_i ∝ (1 - cos(s_i, t_i))^gamma``, normalised to mean 1 and detached.

    Args:
        student: ``(batch, dim)`` student vectors.
        teacher: ``(batch, dim)`` teacher vectors.
        gamma: Focusing exponent; ``0`` gives all ones (plain LEAF).

    Returns:
        ``(batch,)`` weights with mean 1 (all ones when every sample is already exact).
    """
    with torch.no_grad():
        error = (1 - torch.nn.functional.cosine_similarity(student.float(), teacher.float(), dim=-1)).clamp_min(0)
        if gamma == 0:
            return torch.ones_like(error)
        raw = error**gamma
        mean = raw.mean()
        if not torch.isfinite(mean) or mean <= 0:
            return torch.ones_like(error)
        return raw / mean


class FocalDistillLoss(LeafDistillLoss):
    """:class:`~leaf_hub.losses.LeafDistillLoss` with focal-style per-sample weights (KaLM-Embedding-V2).

    Each text's distance to its teacher vector is multiplied by ``w_i = (1 - cos(s_i, t_i))^gamma``
    normalised to mean 1 over the batch (see :func:`focal_weights`). The weights are detached, so
    they only redistribute the step over the batch: hard texts (far from the teacher) get more of
    it, well-aligned ones less; the scale of the loss stays that of plain LEAF.

    Args:
        model: The student.
        teacher_vectors: ``(n, dim)`` float32 array; row ``i`` is the teacher vector of text ``i``.
        distance: ``mse`` or ``cosine``, as in :class:`~leaf_hub.losses.LeafDistillLoss`.
        gamma: Focusing exponent (``0``: plain LEAF).

    Inputs:
        +-------+-------------------------+
        | texts | labels                  |
        +=======+=========================+
        | text  | row index (int)         |
        +-------+-------------------------+

    Raises:
        DistillError: When the loss is not finite.

    Example:
        >>> loss = FocalDistillLoss(student, targets, gamma=1.0)  # doctest: +SKIP
        >>> loss.compute_loss_from_embeddings(student_vectors, teacher_vectors)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: SentenceTransformer,
        teacher_vectors: np.ndarray,
        distance: Literal["mse", "cosine"] = "mse",
        gamma: float = 1.0,
    ) -> None:
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        super().__init__(model, teacher_vectors, distance=distance)
        self.gamma = float(gamma)

    def compute_loss_from_embeddings(self, student: Tensor, teacher: Tensor) -> Tensor:  # type: ignore[override]
        """Weighted mean of the per-sample distances.

        Args:
            student: ``(batch, dim)`` student vectors.
            teacher: ``(batch, dim)`` teacher vectors.

        Returns:
            Scalar loss.
        """
        weights = focal_weights(student, teacher, self.gamma)
        loss = (weights * self.per_sample_distance(student, teacher)).mean()
        return check_finite(loss, self.step)

    def get_config_dict(self) -> dict[str, Any]:
        """Settings recorded in the model card."""
        return {"distance": self.distance, "focal_gamma": self.gamma}

    @property
    def citations(self) -> dict[str, str]:
        """LEAF, then KaLM-Embedding-V2 (focal-style reweighting)."""
        return {**super().citations, KALM_V2: KALM_V2_CITATION}
