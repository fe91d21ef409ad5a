"""A teacher in bf16: weights cast, its own cache fingerprint, checked against fp32 on real texts."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from leaf_hub.encoders import (
    BF16_MIN_MEAN_COSINE,
    EmbeddingCache,
    SentenceTransformerTeacher,
    apply_teacher_precision,
    bf16_passes,
    cosine_distribution,
)
from leaf_hub.precision import resolve_precision


@pytest.fixture(scope="module")
def pairs(real_queries, real_sentences) -> list[tuple[str, str]]:
    """A handful of real held-out-like texts of both kinds (bf16 is emulated, slowly, on most CPUs)."""
    return [(q, "query") for q in real_queries[:4]] + [(s, "document") for s in real_sentences[:4]]


@pytest.fixture(scope="module")
def fp32_and_bf16(student_path, pairs) -> tuple[np.ndarray, np.ndarray]:
    """Real all-MiniLM-L6-v2 vectors of ``pairs`` in fp32 and with its weights cast to bf16."""
    teacher = SentenceTransformerTeacher(student_path, max_seq_length=128)
    texts = [t for t, _ in pairs]
    fp32 = teacher.encode(texts)
    teacher.to_precision("bf16")
    return fp32, teacher.encode(texts)


def test_fp32_fingerprint_is_unchanged_and_bf16_differs(student_path):
    from leaf_hub.assets import model_fingerprint
    from leaf_hub.hashing import digest

    teacher = SentenceTransformerTeacher(student_path, query_prompt="q: ", max_seq_length=128)
    # the formula every teacher cache was filed under before the precision policy
    before = digest("st", model_fingerprint(str(student_path)), "q: ", "", True, 128)
    assert teacher.fingerprint == before
    teacher.to_precision("bf16")
    assert teacher.fingerprint != before
    assert str(next(teacher.model.parameters()).dtype) == "torch.bfloat16"
    assert teacher.with_prompts(query_prompt="other: ").fingerprint not in {before, teacher.fingerprint}
    teacher.to_precision("fp32")  # reloads the weights: fp32 again, same fingerprint as before
    assert teacher.fingerprint == before
    assert str(next(teacher.model.parameters()).dtype) == "torch.float32"


def test_bf16_vectors_are_float32_renormalised_and_close_to_fp32(fp32_and_bf16):
    fp32, bf16 = fp32_and_bf16
    assert bf16.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-5)
    cosines = cosine_distribution(fp32, bf16)
    assert cosines["n"] == len(fp32)
    assert cosines["min"] <= cosines["p1"] <= cosines["mean"] < 1.0  # bf16 is not fp32
    assert bf16_passes(cosines)  # MiniLM's bf16 vectors keep the threshold


def test_fallback_rule_triggers_below_the_threshold(fp32_and_bf16):
    fp32, bf16 = fp32_and_bf16
    # the same real vectors, paired with the wrong texts: far below 0.999
    shifted = cosine_distribution(fp32, np.roll(bf16, 1, axis=0))
    assert shifted["mean"] < BF16_MIN_MEAN_COSINE
    assert not bf16_passes(shifted)
    measured = cosine_distribution(fp32, bf16)
    assert not bf16_passes(measured, min_mean=1.0)


def test_check_keeps_bf16_and_caches_apart(student_path, pairs, tmp_path):
    teacher = SentenceTransformerTeacher(student_path, max_seq_length=128)
    fp32_print = teacher.fingerprint
    record = apply_teacher_precision(
        teacher, resolve_precision("auto", "cpu", native=True), pairs, cache_root=lambda f: tmp_path / f[:16]
    )
    assert record["dtype"] == "bf16" and teacher.precision == "bf16"
    check = record["check"]
    assert check["kept_bf16"] and check["mean"] >= BF16_MIN_MEAN_COSINE and check["n"] == len(pairs)
    assert set(check) >= {"mean", "min", "p1", "n", "min_mean"}
    # both precisions' vectors are cached, each under its own fingerprint: they never mix
    assert {p.name for p in tmp_path.iterdir()} == {fp32_print[:16], teacher.fingerprint[:16]}
    assert len(EmbeddingCache(teacher, tmp_path / teacher.fingerprint[:16])) == len(pairs)


def test_check_falls_back_to_fp32_in_one_line(student_path, pairs, tmp_path, caplog):
    teacher = SentenceTransformerTeacher(student_path, max_seq_length=128)
    fp32_print = teacher.fingerprint
    with caplog.at_level(logging.WARNING, logger="leaf_hub.encoders.precision_check"):
        record = apply_teacher_precision(
            teacher,
            resolve_precision("bf16", "cpu", native=True),
            pairs,
            cache_root=lambda f: tmp_path / f[:16],
            min_mean=1.0,  # real bf16 vectors never reach 1.0: the rule must fall back
        )
    assert record["dtype"] == "fp32" and not record["check"]["kept_bf16"]
    assert teacher.precision == "fp32" and teacher.fingerprint == fp32_print
    assert str(next(teacher.model.parameters()).dtype) == "torch.float32"
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "using fp32" in lines[0] and "\n" not in lines[0]


def test_fp32_policy_does_not_touch_the_teacher(student_path, pairs, tmp_path):
    teacher = SentenceTransformerTeacher(student_path, max_seq_length=128)
    record = apply_teacher_precision(
        teacher, resolve_precision("auto", "cpu", native=False), pairs, cache_root=lambda f: Path(tmp_path / f)
    )
    assert record["dtype"] == "fp32" and record["check"] is None
    assert list(tmp_path.iterdir()) == []  # no check, nothing encoded
