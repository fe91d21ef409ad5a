"""Data-parallel pieces in one process: the rank-sliced batches under accelerate's shard, the teacher-cache shards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from accelerate.data_loader import BatchSamplerShard

from leaf_hub.training import LengthGroupedBatchSampler
from leaf_hub.training.sharding import RankSlicedBatchSampler


@pytest.fixture(scope="module")
def real_lengths(student_path: Path, real_queries: list[str], real_sentences: list[str]) -> np.ndarray:
    """Token counts of 600 real queries and sentences under the student's tokenizer."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(student_path))
    texts = [t for pair in zip(real_queries, real_sentences, strict=True) for t in pair]
    return np.asarray([len(ids) for ids in tokenizer(texts, truncation=True, max_length=128)["input_ids"]])


def _rank_batches(inner: LengthGroupedBatchSampler, world: int, epoch: int) -> list[list[list[int]]]:
    """What each rank trains on: accelerate's BatchSamplerShard (as the trainer prepares it) over our sampler."""
    sliced = RankSlicedBatchSampler(inner, world)
    sliced.set_epoch(epoch)
    out = []
    for rank in range(world):
        shard = BatchSamplerShard(
            sliced, num_processes=world, process_index=rank, split_batches=False, even_batches=False
        )
        batches = list(shard)
        assert len(batches) == len(shard)
        out.append(batches)
    return out


@pytest.mark.parametrize(("n_texts", "batch_size", "world"), [(600, 16, 2), (593, 16, 2), (577, 32, 3), (161, 16, 4)])
def test_every_rank_gets_disjoint_slices_of_the_one_process_batches(real_lengths, n_texts, batch_size, world):
    lengths = real_lengths[:n_texts]
    dataset = list(range(n_texts))
    inner = LengthGroupedBatchSampler(dataset, batch_size, False, seed=3, lengths=lengths, group=4)
    for epoch in (0, 1):
        per_rank = _rank_batches(inner, world, epoch)
        steps = {len(b) for b in per_rank}
        assert len(steps) == 1, f"ranks take different numbers of steps: {[len(b) for b in per_rank]}"
        one_process = [b.tolist() for b in inner.batches(epoch)]
        tiny = [i for i, b in enumerate(one_process) if len(b) < world]
        for i in tiny:  # documented: a batch too small to give every rank a text joins the batch before it
            small = one_process.pop(i)
            one_process[max(i - 1, 0)] = one_process[max(i - 1, 0)] + small
        assert steps.pop() == len(one_process)
        assert bool(tiny) == (0 < n_texts % batch_size < world)
        seen: list[int] = []
        for step, slices in enumerate(zip(*per_rank, strict=True)):
            assert all(slices), f"an empty slice at step {step}"
            union = sorted(i for s in slices for i in s)
            assert len(union) == len({i for s in slices for i in s})  # disjoint within the step
            assert union == sorted(one_process[step])  # the step trains on the one-process batch
            seen.extend(union)
        assert sorted(seen) == dataset  # every text once per epoch: the same texts as one process
    assert _rank_batches(inner, world, 0) != _rank_batches(inner, world, 1)  # a new order each epoch


def test_sliced_batches_keep_the_length_grouping(real_lengths):
    inner = LengthGroupedBatchSampler(list(range(600)), 32, False, seed=1, lengths=real_lengths, group=8)
    rank0, rank1 = _rank_batches(inner, 2, 0)
    spread = [abs(int(real_lengths[a].max()) - int(real_lengths[b].max())) for a, b in zip(rank0, rank1, strict=True)]
    assert np.median(spread) <= 2  # both ranks pad to about the same width at each step


def test_too_small_a_batch_for_the_world_is_refused(real_lengths):
    inner = LengthGroupedBatchSampler(list(range(10)), 2, False, lengths=real_lengths[:10])
    with pytest.raises(ValueError, match="smaller than the 4 processes"):
        RankSlicedBatchSampler(inner, 4)


def test_teacher_cache_shards_are_disjoint_and_complete(student_path, real_queries, tmp_path):
    """Two ranks sharing one cache folder: each encodes its shard once, both then read all vectors."""
    from leaf_hub.encoders import EmbeddingCache, SentenceTransformerTeacher

    teacher = SentenceTransformerTeacher(student_path, device="cpu", batch_size=8)
    texts = real_queries[:15] + real_queries[:5]  # duplicates are encoded once, by one rank
    ranks = [EmbeddingCache(teacher, tmp_path, chunk_size=4) for _ in range(2)]  # both index the empty folder
    encoded = [cache.encode_shard(texts, "query", rank=r, world=2, progress=False) for r, cache in enumerate(ranks)]
    assert encoded[0] > 0 and encoded[1] > 0 and sum(encoded) == len(set(texts))
    mine = [{k for k, (chunk, _) in cache._index.items()} for cache in ranks]
    assert not mine[0] & mine[1]  # no text encoded by both ranks
    for cache in ranks:
        assert cache.reload() == len(mine[1 - ranks.index(cache)])
    vectors = [cache.embed(texts, "query", progress=False) for cache in ranks]
    single = EmbeddingCache(teacher, tmp_path / "one-process").embed(texts, "query", progress=False)
    for v in vectors:
        np.testing.assert_allclose(v, single, atol=1e-5)
    assert [c.stats.encoded for c in ranks] == encoded  # the gather after reload encodes nothing
    with pytest.raises(ValueError, match="outside a world"):
        ranks[0].encode_shard(texts, "query", rank=2, world=2)


def test_a_resumed_epoch_gets_its_own_order(real_lengths):
    """On --resume the trainer's set_epoch does not reach the sharded sampler; the callback sets it from the step."""
    from types import SimpleNamespace

    from leaf_hub.training.trainer import _SamplerEpoch

    inner = LengthGroupedBatchSampler(list(range(100)), 8, False, seed=5, lengths=real_lengths[:100], group=2)
    sliced = RankSlicedBatchSampler(inner, 2)  # 13 global batches per epoch
    callback = _SamplerEpoch(sliced)
    for step, epoch in [(0, 0), (12, 0), (13, 1), (30, 2)]:
        callback.on_epoch_begin(None, SimpleNamespace(global_step=step), None)
        assert sliced.epoch == epoch
    assert list(sliced) == [b[r::2].tolist() for b in sliced.global_batches(2) for r in range(2)]
