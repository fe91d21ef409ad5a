"""Routing of the mteb encoder and the truncation/quantisation of the sweep (real model, real texts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from leaf_hub.errors import EvalError


@pytest.fixture(scope="module")
def task(shared_data: Path):
    from leaf_hub.evaluation.tasks import get_tasks

    (t,) = get_tasks(["SciFact"], data_root=shared_data, corpus_limit=60, query_limit=12)
    t.load_data()
    return t


@pytest.fixture(scope="module")
def sources(student_path: Path, module_tmp):
    from leaf_hub.encoders import EmbeddingCache, SentenceTransformerTeacher
    from leaf_hub.evaluation.encoders import EmbeddingSource

    root = module_tmp("enc-cache")
    plain = SentenceTransformerTeacher(student_path)
    prompted = SentenceTransformerTeacher(student_path, document_prompt="passage: ")
    assert plain.fingerprint != prompted.fingerprint
    return (
        EmbeddingSource("a", EmbeddingCache(plain, root / "a"), progress=False),
        EmbeddingSource("b", EmbeddingCache(prompted, root / "b"), progress=False),
    )


def _loader(task, prompt_type):
    from mteb._create_dataloaders import create_dataloader

    split = task.dataset["default"]["test"]
    data = split["corpus"] if prompt_type is not None and prompt_type.value == "document" else split["queries"]
    return create_dataloader(data, task_metadata=task.metadata, prompt_type=prompt_type, batch_size=16)


def test_routed_encoder_sends_queries_and_documents_to_their_sources(task, sources) -> None:
    from mteb.types import PromptType

    from leaf_hub.evaluation.data import document_text
    from leaf_hub.evaluation.encoders import RoutedEncoder

    a, b = sources
    enc = RoutedEncoder(a, b, name="leaf-hub/test")
    split = task.dataset["default"]["test"]
    q = enc.encode(
        _loader(task, PromptType.query),
        task_metadata=task.metadata,
        hf_split="test",
        hf_subset="default",
        prompt_type=PromptType.query,
    )
    d = enc.encode(
        _loader(task, PromptType.document),
        task_metadata=task.metadata,
        hf_split="test",
        hf_subset="default",
        prompt_type=PromptType.document,
    )
    docs = [document_text(t, x) for t, x in zip(split["corpus"]["title"], split["corpus"]["text"], strict=True)]
    np.testing.assert_array_equal(q, a.embed(split["queries"]["text"], "query"))
    np.testing.assert_array_equal(d, b.embed(docs, "document"))
    # the document prompt of source b changes the vectors, so routing to a would be visible
    assert not np.allclose(d, a.embed(docs, "document"), atol=1e-4)
    assert q.shape == (12, 384) and d.shape == (60, 384)


def test_second_request_is_served_from_memory_then_disk(sources, student_path: Path, tmp_path: Path) -> None:
    from leaf_hub.encoders import EmbeddingCache, SentenceTransformerTeacher
    from leaf_hub.evaluation.encoders import EmbeddingSource

    a, _ = sources
    texts = ["Cholesterol crystals are found in atherosclerotic plaques.", "Vitamin D deficiency and bone health."]
    first = a.embed(texts, "query")
    assert a.embed(texts, "query") is first  # memory
    fresh_cache = EmbeddingCache(SentenceTransformerTeacher(student_path), a.cache.root)
    fresh = EmbeddingSource("a2", fresh_cache, progress=False)
    np.testing.assert_array_equal(fresh.embed(texts, "query"), first)
    assert fresh.disk_hits["query"] == 2 and fresh.cache.stats.encoded == 0


def test_dimension_mismatch_is_refused(sources) -> None:
    from leaf_hub.encoders import CallableTeacher, EmbeddingCache
    from leaf_hub.evaluation.encoders import EmbeddingSource, RoutedEncoder

    a, _ = sources
    wide_cache = EmbeddingCache(CallableTeacher(a.embed, dim=768, name="wide"), a.cache.root / "w")
    wide = EmbeddingSource("teacher", wide_cache)
    with pytest.raises(EvalError, match="equal dimensions: a gives 384, teacher gives 768"):
        RoutedEncoder(a, wide, name="leaf-hub/x")


@pytest.fixture(scope="module")
def doc_vectors(task, sources) -> np.ndarray:
    from leaf_hub.evaluation.data import document_text

    corpus = task.dataset["default"]["test"]["corpus"]
    return sources[0].embed(
        [document_text(t, x) for t, x in zip(corpus["title"], corpus["text"], strict=True)], "document"
    )


def test_compress_float32_is_truncation(doc_vectors: np.ndarray) -> None:
    from leaf_hub.evaluation.encoders import compress

    out = compress(doc_vectors, 128, "float32")
    np.testing.assert_array_equal(out, doc_vectors[:, :128])


def test_compress_int8_uses_corpus_calibration(doc_vectors: np.ndarray) -> None:
    from sentence_transformers.quantization import quantize_embeddings

    from leaf_hub.evaluation.encoders import compress

    queries, corpus = doc_vectors[:10], doc_vectors
    out = compress(queries, 64, "int8", calibration=corpus)
    expected = quantize_embeddings(queries[:, :64], precision="int8", calibration_embeddings=corpus[:, :64])
    np.testing.assert_array_equal(out, expected.astype(np.float32))
    assert out.dtype == np.float32 and out.min() >= -128 and out.max() <= 127
    assert np.array_equal(out, np.round(out))
    # calibration matters: ranges from the queries alone give other codes
    assert not np.array_equal(out, compress(queries, 64, "int8"))


def test_compress_binary_is_sign_and_ranks_like_hamming(doc_vectors: np.ndarray) -> None:
    from sentence_transformers.quantization import quantize_embeddings

    from leaf_hub.evaluation.encoders import compress

    dim = 256
    out = compress(doc_vectors, dim, "binary")
    assert set(np.unique(out)) <= {-1.0, 1.0}
    np.testing.assert_array_equal(out > 0, doc_vectors[:, :dim] > 0)
    packed = quantize_embeddings(doc_vectors[:, :dim], precision="ubinary")
    hamming = np.unpackbits(packed[:1] ^ packed, axis=1).sum(axis=1)
    cosine = (out @ out[0]) / dim
    np.testing.assert_allclose(cosine, 1 - 2 * hamming / dim)


def test_compress_rejects_bad_arguments(doc_vectors: np.ndarray) -> None:
    from leaf_hub.evaluation.encoders import compress

    with pytest.raises(EvalError, match="cannot truncate 384-d vectors to 512"):
        compress(doc_vectors, 512, "float32")
    with pytest.raises(EvalError, match="unknown precision 'int4'"):
        compress(doc_vectors, 64, "int4")  # type: ignore[arg-type]
