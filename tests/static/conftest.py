"""Shared real pieces of the static-leaf tests: a teacher's table (built once per machine) and its vectors.

The teacher here is the small real all-MiniLM-L6-v2 (6 layers, 384-d), not leaf-ir-static-mini's
all-mpnet-base-v2 (12 layers, 768-d): a CI machine starts with nothing cached, and model2vec's table of
MiniLM and its vectors of the texts here cost a fraction of mpnet's (the mpnet table alone took minutes
on the 2-core dev machine). The table is kept under ``$LEAF_HUB_HOME/static_tables`` like the release's
(its key covers the source model's files, so MiniLM's table has its own entry). The texts are
leaf-ir-static-mini's (seed 42, a prefix of its sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

#: The static tests' teacher (and the model their table is distilled from).
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
#: The Hub revision of the offline MiniLM copy (every file equals it; see shared/MODELS.md).
MINILM_REVISION = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"
#: MiniLM's output width: the static student's ``projection_dim``.
TEACHER_DIM = 384


@dataclass
class StaticData:
    train: list[str]
    train_targets: np.ndarray
    held: list[str]
    held_targets: np.ndarray
    held_kinds: list[str]


@pytest.fixture(scope="session")
def static_teacher_path(student_path: Path) -> Path:
    """The static tests' teacher folder: the real all-MiniLM-L6-v2."""
    return student_path


@pytest.fixture(scope="session")
def static_data(static_teacher_path: Path, tmp_path_factory: pytest.TempPathFactory) -> StaticData:
    """leaf-ir-static-mini's texts (its first 1,000 queries and 200 documents) and MiniLM's vectors of them."""
    from leaf_hub.distill.texts import load_texts, teacher_vectors
    from leaf_hub.encoders import build_teacher
    from leaf_hub.recipe import load_recipe

    recipe = load_recipe("leaf-ir-static-mini")
    sizes = (1000, 200)
    sources = [s.model_copy(update={"samples": n}) for s, n in zip(recipe.data.sources, sizes, strict=True)]
    data = recipe.data.model_copy(update={"sources": sources, "heldout": 200})
    texts = load_texts(data, recipe.training.seed)
    minilm = {"id": MINILM, "revision": MINILM_REVISION, "path": str(static_teacher_path)}
    teacher = build_teacher(recipe.teacher.model_copy(update=minilm), device="cpu")
    assert teacher.dim == TEACHER_DIM
    work = tmp_path_factory.mktemp("static-vectors")
    train_targets, _ = teacher_vectors(teacher, texts.train, work / "train.npy")
    held_targets, _ = teacher_vectors(teacher, texts.heldout, work / "held.npy")
    return StaticData(
        train=[t for t, _ in texts.train],
        train_targets=np.asarray(train_targets),
        held=[t for t, _ in texts.heldout],
        held_targets=np.asarray(held_targets),
        held_kinds=[k for _, k in texts.heldout],
    )


@pytest.fixture(scope="session")
def unfolded_student(static_teacher_path: Path, static_data: StaticData):
    """``StaticEmbedding → Dense → Normalize`` with the ridge-fitted Dense (not folded yet)."""
    from leaf_hub.models.static import build_static_student
    from leaf_hub.models.student import init_projection

    student = build_static_student(static_teacher_path, projection_dim=TEACHER_DIM, device="cpu")
    init_projection(student, static_data.train, static_data.train_targets, lam="auto")
    return student
