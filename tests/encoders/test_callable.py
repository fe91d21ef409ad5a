"""Callable teachers: a real model behind ``module:function``, batched, retried, cached."""

from __future__ import annotations

import numpy as np
import pytest

from leaf_hub.encoders import CallableTeacher, EmbeddingCache, SentenceTransformerTeacher, build_teacher
from leaf_hub.errors import TeacherError
from leaf_hub.recipe import TeacherSpec
from tests.encoders import real_functions


def _spec(function: str = "tests.encoders.real_functions:encode", **changes: object) -> TeacherSpec:
    fields = {
        "id": "example-org/minilm-api",
        "kind": "callable",
        "function": function,
        "function_version": "2024-01",
        "dim": 384,
        "batch_size": 16,
        "retry_backoff": 0.0,
    }
    return TeacherSpec(**{**fields, **changes})


@pytest.fixture(autouse=True)
def _reset_calls():
    real_functions.CALLS.clear()
    real_functions.FAILURES_LEFT[0] = 0


def test_callable_teacher_is_batched_and_cached(tmp_path, real_queries, student_path):
    texts = real_queries[:40]
    teacher = build_teacher(_spec())
    assert isinstance(teacher, CallableTeacher)
    first = np.array(EmbeddingCache(teacher, tmp_path).embed(texts, kind="query", progress=False))
    assert real_functions.CALLS == [16, 16, 8]  # batch_size texts per call
    # the black box is the real model: same vectors as loading it directly
    direct = SentenceTransformerTeacher(student_path).encode(texts[:4], kind="query")
    np.testing.assert_allclose(first[:4], direct, atol=1e-5)

    real_functions.CALLS.clear()
    again = EmbeddingCache(build_teacher(_spec()), tmp_path)
    np.testing.assert_array_equal(np.asarray(again.embed(texts, kind="query", progress=False)), first)
    assert real_functions.CALLS == []
    assert again.stats.hits == len(texts) and again.stats.encoded == 0


def test_fingerprint_is_name_version_and_function():
    base = build_teacher(_spec()).fingerprint
    assert build_teacher(_spec()).fingerprint == base
    assert build_teacher(_spec(function_version="2024-02")).fingerprint != base
    assert build_teacher(_spec(id="example-org/other-api")).fingerprint != base
    assert build_teacher(_spec("tests.encoders.real_functions:flaky_encode")).fingerprint != base


def test_kind_reaches_a_function_that_takes_it(real_queries):
    teacher = build_teacher(_spec("tests.encoders.real_functions:encode_with_kind"))
    query = teacher.encode(real_queries[:3], kind="query")
    document = teacher.encode(real_queries[:3], kind="document")
    assert query.shape == document.shape == (3, 384)
    assert not np.allclose(query, document)


def test_failed_batches_are_retried_then_reported(real_queries):
    real_functions.FAILURES_LEFT[0] = 2
    teacher = build_teacher(_spec("tests.encoders.real_functions:flaky_encode", max_retries=2))
    assert teacher.encode(real_queries[:5]).shape == (5, 384)
    assert real_functions.CALLS == [0, 0, 5]

    real_functions.CALLS.clear()
    real_functions.FAILURES_LEFT[0] = 10
    teacher = build_teacher(_spec("tests.encoders.real_functions:flaky_encode", max_retries=1))
    with pytest.raises(TeacherError) as info:
        teacher.encode(real_queries[:5])
    assert real_functions.CALLS == [0, 0]
    message = str(info.value)
    assert "\n" not in message and "failed 2 times" in message and "503 Service Unavailable" in message


def test_unimportable_function_is_one_line():
    with pytest.raises(TeacherError, match=r"cannot import module tests\.encoders\.no_such_module"):
        build_teacher(_spec("tests.encoders.no_such_module:encode"))
    with pytest.raises(TeacherError, match="has no attribute nope"):
        build_teacher(_spec("tests.encoders.real_functions:nope"))
