"""EmbeddingCache: computed once, resumable, checksummed, memory-mapped."""

from __future__ import annotations

import numpy as np
import pytest

from leaf_hub.encoders import CallableTeacher, EmbeddingCache, SentenceTransformerTeacher
from leaf_hub.errors import TeacherError


class CountingTeacher:
    """A real model behind a counter of forward passes."""

    def __init__(self, inner: SentenceTransformerTeacher) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.fingerprint = inner.fingerprint
        self.normalize = inner.normalize
        self.calls: list[int] = []

    def encode(self, texts, kind="document"):
        self.calls.append(len(texts))
        return self.inner.encode(texts, kind)


@pytest.fixture(scope="module")
def minilm_teacher(student_path):
    # The small real model stands in as a fast teacher; the cache does not care which model it is.
    return SentenceTransformerTeacher(student_path, batch_size=64)


def test_second_embed_does_no_forward_pass(tmp_path, minilm_teacher, real_queries):
    texts = real_queries[:120]
    first = CountingTeacher(minilm_teacher)
    cache = EmbeddingCache(first, tmp_path, chunk_size=50)
    vectors = np.array(cache.embed(texts, kind="query", progress=False))
    assert vectors.shape == (120, 384)
    assert sum(first.calls) == len(set(texts))
    direct = minilm_teacher.encode(texts[:5], kind="query")
    np.testing.assert_allclose(vectors[:5], direct, atol=1e-5)

    again = CountingTeacher(minilm_teacher)
    reloaded = EmbeddingCache(again, tmp_path, chunk_size=50)
    np.testing.assert_array_equal(np.asarray(reloaded.embed(texts, kind="query", progress=False)), vectors)
    assert again.calls == []
    assert reloaded.stats.hits == 120 and reloaded.stats.encoded == 0


def test_kind_is_part_of_the_key(tmp_path, minilm_teacher, real_queries):
    teacher = CountingTeacher(minilm_teacher)
    cache = EmbeddingCache(teacher, tmp_path)
    cache.embed(real_queries[:10], kind="query", progress=False)
    cache.embed(real_queries[:10], kind="document", progress=False)
    assert sum(teacher.calls) == 20


def test_interrupted_run_keeps_finished_chunks(tmp_path, minilm_teacher, real_sentences):
    texts = real_sentences[:100]

    class Dies(CountingTeacher):
        def encode(self, texts, kind="document"):
            if len(self.calls) == 2:
                raise KeyboardInterrupt
            return super().encode(texts, kind)

    dying = Dies(minilm_teacher)
    with pytest.raises(KeyboardInterrupt):
        EmbeddingCache(dying, tmp_path, chunk_size=30).embed(texts, progress=False)
    resumed = CountingTeacher(minilm_teacher)
    out = EmbeddingCache(resumed, tmp_path, chunk_size=30).embed(texts, progress=False)
    assert out.shape == (100, 384)
    assert sum(resumed.calls) == 100 - 60  # two chunks of 30 survived the interruption


def test_corrupt_chunk_is_recomputed_not_used(tmp_path, minilm_teacher, real_sentences):
    texts = real_sentences[:40]
    good = np.array(EmbeddingCache(minilm_teacher, tmp_path, chunk_size=20).embed(texts, progress=False))
    chunk = sorted((tmp_path / "chunks").glob("*.npy"))[0]
    raw = bytearray(chunk.read_bytes())
    raw[-7] ^= 0xFF  # flip bits inside the float data
    chunk.write_bytes(bytes(raw))
    teacher = CountingTeacher(minilm_teacher)
    cache = EmbeddingCache(teacher, tmp_path, chunk_size=20)
    again = np.array(cache.embed(texts, progress=False))
    assert cache.stats.recomputed_chunks == 1 and sum(teacher.calls) == 20
    np.testing.assert_allclose(again, good, atol=1e-5)


def test_callable_teacher_shape_is_checked(tmp_path, real_queries):
    bad = CallableTeacher(lambda texts: np.ones((len(texts), 3)), dim=4, name="bad")
    with pytest.raises(TeacherError, match="shape"):
        EmbeddingCache(bad, tmp_path).embed(real_queries[:4], progress=False)
    nan = CallableTeacher(lambda texts: np.full((len(texts), 4), np.nan), dim=4, name="nan")
    with pytest.raises(TeacherError, match="non-finite"):
        EmbeddingCache(nan, tmp_path / "n").embed(real_queries[:4], progress=False)
