"""Token cache, length-grouped batches and the pre-tokenised collator, on the real student tokenizer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from leaf_hub.training import LengthGroupedBatchSampler, PretokenizedCollator, TokenCache, padding_share


@pytest.fixture(scope="module")
def student(student_path: Path):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(student_path), device="cpu")
    model.max_seq_length = 64
    return model


@pytest.fixture(scope="module")
def mixed_texts(real_queries: list[str], real_sentences: list[str]) -> list[str]:
    texts = [t for pair in zip(real_queries[:150], real_sentences[:150], strict=True) for t in pair]
    return texts


def test_token_cache_matches_the_tokenizer_and_hits_on_rerun(student, mixed_texts, tmp_path):
    cache = TokenCache(student, tmp_path)
    ids = cache.tokenize(mixed_texts)
    expected = student.tokenizer(mixed_texts, truncation=True, max_length=64)["input_ids"]
    assert len(ids) == len(mixed_texts)
    assert all(ids.ids(i).tolist() == expected[i] for i in range(len(expected)))
    assert ids.lengths.max() <= 64  # the student's token limit, special tokens included
    assert cache.tokenized == len(set(mixed_texts)) and cache.hits == 0

    again = TokenCache(student, tmp_path)  # a new process would see the same files
    ids2 = again.tokenize(list(reversed(mixed_texts)))
    assert again.tokenized == 0 and again.hits == len(mixed_texts)
    assert ids2.ids(0).tolist() == expected[-1]


def test_token_cache_recomputes_a_corrupted_chunk(student, mixed_texts, tmp_path):
    TokenCache(student, tmp_path).tokenize(mixed_texts[:40])
    chunk = next((tmp_path / "chunks").glob("*.npy"))
    raw = bytearray(chunk.read_bytes())
    raw[-3] ^= 0xFF
    chunk.write_bytes(bytes(raw))
    cache = TokenCache(student, tmp_path)
    ids = cache.tokenize(mixed_texts[:40])
    expected = student.tokenizer(mixed_texts[:40], truncation=True, max_length=64)["input_ids"]
    assert [ids.ids(i).tolist() for i in range(40)] == expected
    assert cache.tokenized == len(set(mixed_texts[:40]))


def test_another_token_limit_is_another_cache(student, tmp_path):
    from leaf_hub.training import tokenizer_fingerprint

    before = tokenizer_fingerprint(student)
    student.max_seq_length = 32
    try:
        assert tokenizer_fingerprint(student) != before
    finally:
        student.max_seq_length = 64


def test_length_grouping_visits_every_text_once_and_cuts_padding(student, mixed_texts, tmp_path):
    lengths = TokenCache(student, tmp_path).tokenize(mixed_texts).lengths
    grouped = LengthGroupedBatchSampler(mixed_texts, 16, False, seed=3, lengths=lengths, group=8)
    stock = LengthGroupedBatchSampler(mixed_texts, 16, False, seed=3, lengths=lengths, group=1)
    for sampler in (grouped, stock):
        batches = sampler.batches(0)
        assert len(batches) == len(sampler) == -(-len(mixed_texts) // 16)
        assert sorted(np.concatenate(batches).tolist()) == list(range(len(mixed_texts)))
    assert padding_share(lengths, grouped.batches(0)) < 0.5 * padding_share(lengths, stock.batches(0))
    # a new order every epoch, the same order for the same seed and epoch
    assert [b.tolist() for b in grouped.batches(0)] == [b.tolist() for b in grouped.batches(0)]
    assert [b.tolist() for b in grouped.batches(0)] != [b.tolist() for b in grouped.batches(1)]
    grouped.set_epoch(1)
    assert [list(b) for b in grouped] == [b.tolist() for b in grouped.batches(1)]


def test_drop_last_drops_only_the_short_batch(student, mixed_texts, tmp_path):
    lengths = TokenCache(student, tmp_path).tokenize(mixed_texts).lengths
    sampler = LengthGroupedBatchSampler(mixed_texts, 16, True, seed=0, lengths=lengths, group=4)
    batches = sampler.batches(0)
    assert len(batches) == len(sampler) == len(mixed_texts) // 16
    assert all(len(b) == 16 for b in batches)


def test_collator_gives_the_model_what_the_stock_collator_gives(student, mixed_texts, tmp_path):
    from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator

    tokens = TokenCache(student, tmp_path).tokenize(mixed_texts)
    rows = [5, 0, 17, 3]
    ours = PretokenizedCollator(preprocess_fn=student.preprocess, tokens=tokens)([{"label": r} for r in rows])
    stock = SentenceTransformerDataCollator(preprocess_fn=student.preprocess)(
        [{"text": mixed_texts[r], "label": r} for r in rows]
    )
    assert ours["label"].tolist() == rows
    for key in ("text_input_ids", "text_attention_mask", "text_token_type_ids"):
        assert torch.equal(ours[key], stock[key]), key
    with torch.no_grad():
        a = student({"input_ids": ours["text_input_ids"], "attention_mask": ours["text_attention_mask"]})
        b = student.encode([mixed_texts[r] for r in rows], convert_to_tensor=True)
    assert torch.allclose(a["sentence_embedding"], b, atol=1e-5)
