"""LEAF distillation: from a recipe to a student aligned with its teacher.

Reads top to bottom like the method:

1. sample the training and held-out texts (:func:`load_texts`);
2. get the teacher's vectors of all of them once, through :class:`~leaf_hub.encoders.EmbeddingCache`;
3. build the student (init encoder + ``Dense`` projection + ``Normalize``) and ridge-initialise
   the projection;
4. measure held-out alignment (mean cosine student↔teacher), train with
   :class:`~leaf_hub.losses.LeafDistillLoss` on ``SentenceTransformerTrainer``, measure again;
5. save a portable model folder and ``metrics.json``.

:func:`~leaf_hub.distill.run.distill` works from a recipe and its run folder;
:func:`~leaf_hub.distill.train.distill_models` from already-loaded objects. Modules: ``texts`` (what is
trained on, the teacher's vectors), ``alignment``, ``checkpoints``, ``train``, ``run``, and ``soup``
(averaging finished runs).

Data-parallel (``torchrun --nproc_per_node N -m leaf_hub.cli distill RECIPE`` or ``accelerate
launch``, see :mod:`leaf_hub.parallel`): every rank encodes a disjoint shard of the missing teacher
vectors into the shared cache, rank 0 fills the token cache and ridge-fits the projection (broadcast
to all), the trainer splits each global batch of ``training.batch_size`` texts across the ranks
(:mod:`leaf_hub.training.sharding`: same steps and learning rates as one process), and rank 0 alone
measures alignment and writes the run folder; every rank returns the report rank 0 wrote.
"""

from __future__ import annotations

from leaf_hub.distill.alignment import alignment_by_kind, alignment_cosines, gain_standard_error, mean_alignment
from leaf_hub.distill.checkpoints import (
    CHECKPOINT_CHECKSUMS,
    checkpoint_problem,
    has_intact_checkpoint,
    write_checkpoint_checksums,
)
from leaf_hub.distill.run import distill
from leaf_hub.distill.texts import TrainingTexts, load_texts, teacher_vectors
from leaf_hub.distill.train import distill_models

__all__ = [
    "CHECKPOINT_CHECKSUMS",
    "TrainingTexts",
    "alignment_by_kind",
    "alignment_cosines",
    "checkpoint_problem",
    "distill",
    "distill_models",
    "gain_standard_error",
    "has_intact_checkpoint",
    "load_texts",
    "mean_alignment",
    "teacher_vectors",
    "write_checkpoint_checksums",
]
