"""Shared real pieces of the static-leaf tests: the teacher's table (built once per machine) and cached vectors.

The table is model2vec's distillation of all-mpnet-base-v2 (the teacher), kept under
``$LEAF_HUB_HOME/static_tables`` like the release's, so it is built once per machine (minutes on a
CPU) and read in a second after that. The texts are leaf-ir-mini's (seed 42, a prefix of its
sample), whose teacher vectors the main job already cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@dataclass
class StaticData:
    train: list[str]
    train_targets: np.ndarray
    held: list[str]
    held_targets: np.ndarray
    held_kinds: list[str]


@pytest.fixture(scope="session")
def static_data(tmp_path_factory: pytest.TempPathFactory) -> StaticData:
    """leaf-ir-mini's texts (the first 1,600 queries and 400 documents of its sample) and teacher vectors."""
    from leaf_hub.distill.texts import load_texts, teacher_vectors
    from leaf_hub.encoders import build_teacher
    from leaf_hub.recipe import load_recipe

    recipe = load_recipe("leaf-ir-static-mini")
    sizes = (1600, 400)
    sources = [s.model_copy(update={"samples": n}) for s, n in zip(recipe.data.sources, sizes, strict=True)]
    data = recipe.data.model_copy(update={"sources": sources, "heldout": 200})
    texts = load_texts(data, recipe.training.seed)
    teacher = build_teacher(recipe.teacher, device="cpu")
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
def unfolded_student(teacher_path: Path, static_data: StaticData):
    """``StaticEmbedding → Dense → Normalize`` with the ridge-fitted Dense (not folded yet)."""
    from leaf_hub.models.static import build_static_student
    from leaf_hub.models.student import init_projection

    student = build_static_student(teacher_path, projection_dim=768, device="cpu")
    init_projection(student, static_data.train, static_data.train_targets, lam="auto")
    return student
