"""Data-parallel batches: every step trains on the one-process run's batch, split across the ranks.

Under ``torchrun``/``accelerate launch`` accelerate wraps the batch sampler in ``BatchSamplerShard``,
which hands batch ``i`` to rank ``i % world``. Used directly on
:class:`~leaf_hub.training.batching.LengthGroupedBatchSampler` that would (a) give the ranks a
different number of batches whenever the batch count is not a multiple of ``world`` (the rank with
fewer steps leaves the others waiting forever at the gradient all-reduce), and (b) change the
recipe's meaning: ``world`` times more texts per step, ``world`` times fewer steps.

:class:`RankSlicedBatchSampler` keeps the recipe's meaning instead. It yields, for each batch of the
wrapped sampler (the *global* batch, exactly the batch a one-process run trains on), ``world``
consecutive slices ``batch[r::world]``; ``BatchSamplerShard`` then gives slice ``r`` to rank ``r``.
So with ``batch_size: B`` and ``W`` processes:

* global batch = ``B`` texts per optimizer step (per-device batch = ``B / W``);
* same batches, same number of steps, same learning rate at each step and same epochs as the
  one-process run (gradients are averaged over ranks by DDP; with ``B`` a multiple of ``W`` that is
  the global batch mean, the short last batch of an epoch excepted);
* interleaved slices of a length-sorted batch: every rank gets texts of the same lengths.

A global batch with fewer than ``W`` texts (possible only for the last, short one) is merged into
the batch before it, so no rank gets an empty slice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from torch.utils.data import BatchSampler

__all__ = ["RankSlicedBatchSampler"]


class RankSlicedBatchSampler(BatchSampler):
    """Yield ``world`` interleaved slices of each global batch of ``batches`` (see the module docstring).

    Args:
        batches: The one-process batch sampler; needs ``batches(epoch)``, ``set_epoch`` and ``epoch``
            (:class:`~leaf_hub.training.batching.LengthGroupedBatchSampler`).
        world: Number of ranks.

    Attributes:
        batch_size: ``None``: slices differ in size by one, so ``BatchSamplerShard`` must not check sizes.
        sampler: The wrapped sampler; accelerate's ``DataLoaderShard.set_epoch`` reaches it through here.
    """

    def __init__(self, batches: Any, world: int) -> None:
        if world < 1:
            raise ValueError(f"world must be >= 1, got {world}")
        if int(batches.batch_size) < world:
            raise ValueError(f"batch_size {batches.batch_size} is smaller than the {world} processes")
        self.batches = batches
        self.sampler = batches
        self.world = int(world)
        self.batch_size = None
        self.drop_last = False

    @property
    def epoch(self) -> int:
        """The wrapped sampler's epoch."""
        return int(self.batches.epoch)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch of the wrapped sampler (it draws each epoch's order from it)."""
        self.batches.set_epoch(epoch)

    def global_batches(self, epoch: int) -> list[np.ndarray]:
        """The global batches of one epoch (the wrapped sampler's, a too-small last one merged)."""
        batches = [np.asarray(b) for b in self.batches.batches(epoch)]
        small = [i for i, b in enumerate(batches) if len(b) < self.world]
        for i in reversed(small):
            if len(batches) > 1:
                tiny = batches.pop(i)
                j = i - 1 if i > 0 else 0
                batches[j] = np.concatenate([batches[j], tiny])
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.global_batches(self.epoch):
            for r in range(self.world):
                yield batch[r :: self.world].tolist()

    def __len__(self) -> int:
        return len(self.global_batches(self.epoch)) * self.world
