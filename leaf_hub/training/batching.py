"""Batches of pre-tokenised texts grouped by length: little padding, no tokenising in the step.

:class:`LengthGroupedBatchSampler` subclasses sentence-transformers' ``DefaultBatchSampler``: each
epoch it shuffles the texts, cuts the order into *mega-batches* of ``group`` batches, sorts each
mega-batch by token count and splits it into batches, then shuffles the batches. A batch thus holds
texts of similar length (padding falls from ~2x on mixed queries and sentences to a few percent)
while every epoch still visits the texts in a new random order.

:class:`PretokenizedCollator` subclasses the stock ``SentenceTransformerDataCollator``: the dataset's
``label`` column holds each text's row, and the collator pads that row's cached ids
(:class:`~leaf_hub.training.tokens.TokenIds`) instead of calling the tokenizer.
:class:`BagCollator` does the same for a static student (``StaticEmbedding``): no padding, the
batch's ids back to back with the offset of each text, as ``StaticEmbedding.preprocess`` builds them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sentence_transformers.base.sampler import DefaultBatchSampler
from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator

from leaf_hub.training.tokens import TokenIds

__all__ = ["BagCollator", "LengthGroupedBatchSampler", "PretokenizedCollator", "padding_share"]


class LengthGroupedBatchSampler(DefaultBatchSampler):
    """Random batches of ``batch_size`` texts of similar length (see the module docstring).

    Args:
        dataset: The training dataset (only its length is used).
        batch_size: Texts per batch.
        drop_last: Drop the last, smaller batch of each epoch.
        valid_label_columns: Passed through to ``DefaultBatchSampler``.
        generator: Unused; the order is drawn from ``seed`` and the epoch.
        seed: Seed of the order.
        lengths: Token count of each text, row ``i`` for dataset row ``i``.
        group: Batches per mega-batch (1: no grouping, the stock random batches).
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
        *,
        lengths: np.ndarray,
        group: int = 64,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)
        self.lengths = np.asarray(lengths)
        self.group = max(1, int(group))
        if len(self.lengths) != len(dataset):
            raise ValueError(f"{len(self.lengths)} lengths for {len(dataset)} rows")

    def batches(self, epoch: int) -> list[np.ndarray]:
        """The batches of one epoch, in the order they are trained on."""
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.lengths))
        span = self.batch_size * self.group
        batches: list[np.ndarray] = []
        for begin in range(0, len(order), span):
            mega = order[begin : begin + span]
            if self.group > 1:
                mega = mega[np.argsort(-self.lengths[mega], kind="stable")]
            batches.extend(mega[i : i + self.batch_size] for i in range(0, len(mega), self.batch_size))
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            small = min(range(len(batches)), key=lambda i: len(batches[i]))
            batches.pop(small)
        if self.group > 1:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches(self.epoch):
            yield batch.tolist()

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def padding_share(lengths: np.ndarray, batches: list[np.ndarray]) -> float:
    """Share of padded positions among all positions the model computes for ``batches``."""
    real = sum(int(lengths[b].sum()) for b in batches)
    total = sum(int(lengths[b].max()) * len(b) for b in batches if len(b))
    return 1.0 - real / max(total, 1)


@dataclass
class PretokenizedCollator(SentenceTransformerDataCollator):
    """Pads cached token ids into model inputs; the ``label`` column is the text's row.

    Produces the keys the stock collator would (``text_input_ids``, ``text_attention_mask``,
    ``text_token_type_ids`` and ``label``), so ``SentenceTransformerTrainer.collect_features`` and
    every loss work unchanged.

    Attributes:
        tokens: Cached ids of the training texts, row ``i`` for dataset row ``i``.
        pad_to_multiple_of: Round the padded length up (8 suits tensor cores on GPU; 1 on CPU).
        token_type_ids: Whether the encoder takes ``token_type_ids`` (BERT-like tokenizers list it).
    """

    tokens: TokenIds | None = field(default=None, repr=False)
    pad_to_multiple_of: int = 1
    token_type_ids: bool = True

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        """Pad the cached ids of the rows named by each feature's ``label``."""
        if self.tokens is None:
            raise ValueError("PretokenizedCollator needs the cached token ids")
        rows = np.asarray([int(f["label"]) for f in features], dtype=np.int64)
        starts, ends = self.tokens.offsets[rows], self.tokens.offsets[rows + 1]
        lengths = ends - starts
        width = int(lengths.max())
        if self.pad_to_multiple_of > 1:
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
        ids = np.full((len(rows), width), self.tokens.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
            ids[i, : end - start] = self.tokens.flat[start:end]
            mask[i, : end - start] = 1
        input_ids = torch.from_numpy(ids)
        batch = {
            "label": torch.from_numpy(rows),
            "text_input_ids": input_ids,
            "text_attention_mask": torch.from_numpy(mask),
        }
        if self.token_type_ids:
            batch["text_token_type_ids"] = torch.zeros_like(input_ids)
        return batch


@dataclass
class BagCollator(SentenceTransformerDataCollator):
    """Cached ids of the rows named by ``label``, back to back, for ``StaticEmbedding`` (an ``EmbeddingBag``).

    Produces ``text_input_ids`` (flat) and ``text_offsets`` (start of each text), the keys
    ``StaticEmbedding.preprocess`` returns, plus ``label``.

    Attributes:
        tokens: Cached ids of the training texts, row ``i`` for dataset row ``i``.
    """

    tokens: TokenIds | None = field(default=None, repr=False)

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        """Concatenate the cached ids of the rows named by each feature's ``label``."""
        if self.tokens is None:
            raise ValueError("BagCollator needs the cached token ids")
        rows = np.asarray([int(f["label"]) for f in features], dtype=np.int64)
        starts, ends = self.tokens.offsets[rows], self.tokens.offsets[rows + 1]
        lengths = ends - starts
        ids = np.concatenate([self.tokens.flat[a:b] for a, b in zip(starts, ends, strict=True)]).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths[:-1])]).astype(np.int64)
        return {
            "label": torch.from_numpy(rows),
            "text_input_ids": torch.from_numpy(ids),
            "text_offsets": torch.from_numpy(offsets),
        }
