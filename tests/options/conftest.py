"""Real texts, the real teacher's vectors of them and a real ridge-initialised student, shared by the options tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def option_texts(real_queries: list[str], real_sentences: list[str]) -> list[str]:
    """96 real distillation texts: queries and sentences interleaved."""
    texts = [t for pair in zip(real_queries[:48], real_sentences[:48], strict=True) for t in pair]
    assert len(set(texts)) == len(texts)
    return texts


@pytest.fixture(scope="session")
def option_targets(option_texts: list[str], teacher_path: Path, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """all-mpnet-base-v2's vectors of ``option_texts`` (through the teacher cache)."""
    from leaf_hub.encoders import EmbeddingCache, SentenceTransformerTeacher, teacher_cache_root

    teacher = SentenceTransformerTeacher(teacher_path, max_seq_length=128)
    cache = EmbeddingCache(teacher, teacher_cache_root(teacher.fingerprint))
    return np.asarray(cache.embed(option_texts, kind="document", progress=False))


def make_student(student_path: Path, texts: list[str], targets: np.ndarray, *, init: str = "ridge", lam="auto"):
    """A real leaf student (all-MiniLM-L6-v2 + Dense 768 + Normalize) with its projection initialised."""
    from leaf_hub.models.student import build_student, init_projection

    student = build_student(str(student_path), projection_dim=targets.shape[1], max_seq_length=128, device="cpu")
    init_projection(student, texts, targets, method=init, lam=lam)
    return student


@pytest.fixture(scope="session")
def ridge_student(student_path: Path, option_texts: list[str], option_targets: np.ndarray):
    """A ridge-initialised student (close to, but not equal to, the teacher): shared, do not train it."""
    return make_student(student_path, option_texts[:64], option_targets[:64])


@pytest.fixture(scope="session")
def student_vectors(ridge_student, option_texts: list[str]):
    """The ridge student's vectors of ``option_texts`` as a float tensor."""
    import torch

    return torch.from_numpy(ridge_student.encode(option_texts, convert_to_numpy=True, show_progress_bar=False))
