"""The LEAF distillation loss: match the teacher's vector of each text, read from the cache.

Built on sentence-transformers' :class:`~sentence_transformers.losses.EmbedDistillLoss` (embedding
matching against pre-computed teacher vectors); :func:`check_finite` is the one finite-loss check
every leaf-hub loss calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from sentence_transformers.losses import EmbedDistillLoss
from torch import Tensor

from leaf_hub.citations import LEAF, LEAF_CITATION
from leaf_hub.errors import DistillError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["LEAF_CITATION", "LeafDistillLoss", "check_finite"]


def check_finite(loss: Tensor, step: int) -> Tensor:
    """Return ``loss`` if it is finite.

    Raises:
        DistillError: Naming the value and the training step, e.g.
            ``loss is nan at step 12; lower the learning rate or check the teacher vectors``.
    """
    if not torch.isfinite(loss):
        raise DistillError(
            f"loss is {loss.item()} at step {step}; lower the learning rate or check the teacher vectors"
        )
    return loss


class LeafDistillLoss(EmbedDistillLoss):
    """Per-sample squared L2 (or cosine) distance between student and cached teacher vectors.

    Sentence-transformers' :class:`~sentence_transformers.losses.EmbedDistillLoss` with two
    differences: the dataset's ``label`` column holds the *row index* of each text in
    ``teacher_vectors`` (a memory-mapped array from :class:`leaf_hub.encoders.EmbeddingCache`), so
    the training set stays small and the teacher's vectors are never copied into the dataset; and
    ``mse`` is LEAF's per-text squared distance (summed over dimensions, averaged over the batch),
    which is ``EmbedDistillLoss``'s element-wise mean times the dimension.

    Args:
        model: The student.
        teacher_vectors: ``(n, dim)`` float32 array; row ``i`` is the teacher vector of text ``i``.
        distance: ``mse``: ``sum((s - t)^2)`` averaged over the batch (the LEAF objective);
            ``cosine``: ``1 - cos(s, t)``.

    Inputs:
        +-------+-------------------------+
        | texts | labels                  |
        +=======+=========================+
        | text  | row index (int)         |
        +-------+-------------------------+

    Raises:
        DistillError: When the loss is not finite; the message names the training step.
    """

    def __init__(
        self,
        model: SentenceTransformer,
        teacher_vectors: np.ndarray,
        distance: Literal["mse", "cosine"] = "mse",
    ) -> None:
        super().__init__(model, distance_metric=distance)
        self.teacher_vectors = teacher_vectors
        self.distance = distance
        self.step = 0

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None) -> Tensor:
        """Encode the batch and compare it with the teacher rows named by ``labels``."""
        if labels is None:
            raise DistillError("LeafDistillLoss needs a 'label' column of teacher row indices")
        features = list(sentence_features)[0]
        student = self.model(features)["sentence_embedding"]
        rows = labels.detach().long().cpu().numpy()
        target = torch.from_numpy(np.asarray(self.teacher_vectors[rows], dtype=np.float32)).to(student.device)
        return self.compute_loss_from_embeddings(student, target)

    def per_sample_distance(self, student: Tensor, teacher: Tensor) -> Tensor:
        """The distance of each sample to its teacher vector, ``(batch,)``."""
        student = student.float()
        if self.distance == "cosine":
            return 1 - torch.nn.functional.cosine_similarity(student, teacher, dim=-1)
        return ((student - teacher) ** 2).sum(dim=-1)

    def compute_loss_from_embeddings(self, student: Tensor, teacher: Tensor) -> Tensor:  # type: ignore[override]
        """The loss on plain tensors (testable without a model).

        Args:
            student: ``(batch, dim)`` student vectors.
            teacher: ``(batch, dim)`` teacher vectors.

        Returns:
            Scalar loss.
        """
        loss = super().compute_loss_from_embeddings([student.float()], [teacher])
        if self.distance == "mse":  # EmbedDistillLoss averages over dimensions too; LEAF sums them
            loss = loss * student.shape[-1]
        return check_finite(loss, self.step)

    def get_config_dict(self) -> dict[str, Any]:
        """Settings recorded in the model card."""
        return {"distance": self.distance}

    @property
    def citations(self) -> dict[str, str]:
        """Label -> BibTeX of each method this loss implements, in the order a card lists them: LEAF."""
        return {LEAF: LEAF_CITATION}

    @property
    def citation(self) -> str:
        """BibTeX of the methods this loss implements (:attr:`citations`, one after the other)."""
        return "\n\n".join(self.citations.values())
