"""Soft-label score distillation (LG-ANNA) on top of LEAF: match the teacher's in-batch similarity distribution."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import Tensor

from leaf_hub.citations import KALM_V2, KALM_V2_CITATION, LEAF, LEAF_CITATION, LG_ANNA, LG_ANNA_CITATION
from leaf_hub.losses.focal_distill import FocalDistillLoss, focal_weights
from leaf_hub.losses.leaf_distill import check_finite

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["LG_ANNA_CITATION", "ScoreDistillLoss", "in_batch_score_kl"]


def in_batch_score_kl(student: Tensor, teacher: Tensor, temperature: float) -> Tensor:
    """KL(teacher || student) between in-batch similarity distributions, averaged over anchors.

    For each text ``i`` of the batch, ``softmax_j(cos(x_i, x_j) / temperature)`` over the *other*
    texts ``j != i`` is computed once with the student's vectors and once with the teacher's; the
    loss is the mean over ``i`` of ``KL(p_teacher_i || p_student_i)``. The distillation texts have
    no query→document pairs, so every text serves as a query against the rest of the batch.

    Args:
        student: ``(batch, dim)`` student vectors (gradients flow through these).
        teacher: ``(batch, dim)`` teacher vectors (treated as constants).
        temperature: Softmax temperature (> 0); small values sharpen the distributions.

    Returns:
        Scalar KL; exactly 0 when the student's similarities equal the teacher's, and for a
        batch of fewer than 3 texts (one other text gives a distribution with a single outcome).
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    n = student.shape[0]
    if n < 3:
        return student.sum() * 0.0
    s = torch.nn.functional.normalize(student.float(), dim=-1)
    t = torch.nn.functional.normalize(teacher.detach().float().to(s.device), dim=-1)
    eye = torch.eye(n, dtype=torch.bool, device=s.device)
    log_p_s = torch.log_softmax((s @ s.T / temperature).masked_fill(eye, float("-inf")), dim=-1)
    log_p_t = torch.log_softmax((t @ t.T / temperature).masked_fill(eye, float("-inf")), dim=-1)
    terms = log_p_t.exp() * (log_p_t - log_p_s)
    terms = torch.where(eye, torch.zeros_like(terms), terms)  # the diagonal is 0 * (-inf - -inf)
    return terms.sum(dim=-1).mean()


class ScoreDistillLoss(FocalDistillLoss):
    """LEAF's vector loss plus soft-label score distillation over the batch (LG-ANNA).

    ``loss = vector_loss + weight * KL(p_teacher || p_student)`` where the vector loss is LEAF's
    per-sample distance (focal-weighted when ``gamma > 0``) and the KL term is
    :func:`in_batch_score_kl`: besides reproducing each teacher vector, the student must rank
    the other texts of the batch as the teacher does, with the teacher's continuous similarity
    scores as soft labels.

    LG-ANNA also filters in-batch false negatives with an adaptive margin relative to the
    labelled positive; the distillation text has no labelled positives, so that filter is not
    applied here (the soft labels already give near-duplicates a high teacher probability
    instead of treating them as negatives).

    Args:
        model: The student.
        teacher_vectors: ``(n, dim)`` float32 array; row ``i`` is the teacher vector of text ``i``.
        distance: ``mse`` or ``cosine`` for the vector term.
        weight: Weight of the KL term (> 0).
        temperature: Softmax temperature of both similarity distributions.
        gamma: Focal exponent of the vector term (``0``: plain LEAF).

    Inputs:
        +-------+-------------------------+
        | texts | labels                  |
        +=======+=========================+
        | text  | row index (int)         |
        +-------+-------------------------+

    Raises:
        DistillError: When the loss is not finite.

    Example:
        >>> loss = ScoreDistillLoss(student, targets, weight=1.0, temperature=0.05)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: SentenceTransformer,
        teacher_vectors: np.ndarray,
        distance: Literal["mse", "cosine"] = "mse",
        weight: float = 1.0,
        temperature: float = 0.05,
        gamma: float = 0.0,
    ) -> None:
        if not weight > 0:
            raise ValueError(f"weight must be > 0, got {weight}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        super().__init__(model, teacher_vectors, distance=distance, gamma=gamma)
        self.weight = float(weight)
        self.temperature = float(temperature)
        self.last_terms: dict[str, float] = {}

    def compute_loss_from_embeddings(self, student: Tensor, teacher: Tensor) -> Tensor:  # type: ignore[override]
        """Vector term plus ``weight`` times the in-batch KL.

        Args:
            student: ``(batch, dim)`` student vectors.
            teacher: ``(batch, dim)`` teacher vectors.

        Returns:
            Scalar loss (its two terms are kept in ``last_terms``).
        """
        vector = (focal_weights(student, teacher, self.gamma) * self.per_sample_distance(student, teacher)).mean()
        kl = in_batch_score_kl(student, teacher, self.temperature)
        loss = check_finite(vector + self.weight * kl, self.step)
        self.last_terms = {"vector": float(vector.detach()), "score_kl": float(kl.detach())}
        return loss

    def get_config_dict(self) -> dict[str, Any]:
        """Settings recorded in the model card."""
        return {
            "distance": self.distance,
            "focal_gamma": self.gamma,
            "score_distill_weight": self.weight,
            "score_distill_temperature": self.temperature,
        }

    @property
    def citations(self) -> dict[str, str]:
        """LEAF, LG-ANNA, and KaLM-Embedding-V2 only when focal weights are on (``gamma > 0``)."""
        out = {LEAF: LEAF_CITATION, LG_ANNA: LG_ANNA_CITATION}
        if self.gamma > 0:
            out[KALM_V2] = KALM_V2_CITATION
        return out
