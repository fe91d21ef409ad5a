"""The static leaf end to end on real pieces: build, ridge-fold, save, stock reload, train.

Every test here reads the teacher's (all-MiniLM-L6-v2's) model2vec table from the per-machine cache
(built once, under a minute on a CPU: see ``conftest.py``), so they are marked slow.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.static.conftest import TEACHER_DIM, StaticData

pytestmark = pytest.mark.slow


def _encode(model, texts: list[str]) -> np.ndarray:
    return model.encode(texts, batch_size=64, convert_to_numpy=True, show_progress_bar=False)


def test_folded_table_gives_the_table_plus_dense(unfolded_student, static_data: StaticData):
    from sentence_transformers import models

    from leaf_hub.models.static import fold_projection, is_static

    folded = fold_projection(unfolded_student)
    assert is_static(folded) and [type(m).__name__ for m in folded] == ["StaticEmbedding", "Normalize"]
    assert not any(isinstance(m, models.Dense) for m in folded)
    texts = static_data.held[:100]
    np.testing.assert_allclose(_encode(folded, texts), _encode(unfolded_student, texts), atol=2e-5)
    # the map moved the table into the teacher's space: far closer than the raw model2vec table
    raw = unfolded_student[0]
    assert raw.embedding.weight.shape[1] == TEACHER_DIM


def test_ridge_map_beats_the_raw_table(unfolded_student, static_data: StaticData):
    from sentence_transformers import SentenceTransformer, models

    from leaf_hub.distill.alignment import mean_alignment
    from leaf_hub.models.static import fold_projection

    raw = SentenceTransformer(modules=[unfolded_student[0], models.Normalize()], device="cpu")
    mapped = fold_projection(unfolded_student)
    before = mean_alignment(raw, static_data.held, static_data.held_targets)
    after = mean_alignment(mapped, static_data.held, static_data.held_targets)
    assert after > before + 0.1, (before, after)


def test_saved_folder_is_stock_and_reloads_to_the_same_vectors(unfolded_student, static_data, tmp_path: Path):
    from sentence_transformers import SentenceTransformer

    from leaf_hub.models.folder import read_model_facts
    from leaf_hub.models.portable import check_portable, save_portable
    from leaf_hub.models.static import fold_projection

    folded = fold_projection(unfolded_student)
    folder = save_portable(folded, tmp_path / "model")
    check_portable(folder)
    modules = json.loads((folder / "modules.json").read_text())
    assert [m["type"] for m in modules] == [
        "sentence_transformers.models.StaticEmbedding",
        "sentence_transformers.models.Normalize",
    ]
    table_dir = folder / modules[0]["path"]  # its own folder: 3.x builds a root module like a Transformer
    assert modules[0]["path"] == "0_StaticEmbedding"
    assert sorted(p.name for p in table_dir.iterdir()) == ["model.safetensors", "tokenizer.json"]
    assert not [p for p in folder.rglob("*") if p.suffix in (".bin", ".pt", ".pkl")]
    assert read_model_facts(folder).embedding_dim == TEACHER_DIM  # from the table's safetensors header
    reloaded = SentenceTransformer(str(folder), device="cpu")
    texts = static_data.held[:100]
    np.testing.assert_allclose(_encode(reloaded, texts), _encode(folded, texts), atol=1e-6)


def test_short_training_raises_held_out_query_alignment(unfolded_student, static_data: StaticData, tmp_path: Path):
    from leaf_hub.distill.alignment import alignment_by_kind, alignment_cosines
    from leaf_hub.distill.train import distill_models
    from leaf_hub.models.static import fold_projection
    from leaf_hub.recipe import TrainingSpec

    student = fold_projection(unfolded_student)
    before = alignment_cosines(student, static_data.held, static_data.held_targets)
    training = TrainingSpec(
        batch_size=64, learning_rate=1e-3, epochs=2, weight_decay=0.0, loss="cosine", optimizer="sparse_adam"
    )
    out = distill_models(student, static_data.train, static_data.train_targets, training, tmp_path / "ckpt")
    after = alignment_cosines(student, static_data.held, static_data.held_targets)
    assert out["steps"] == 2 * -(-len(static_data.train) // 64)
    assert student[0].embedding.sparse is False  # saved and used as the stock module
    by_kind = alignment_by_kind(before, after, static_data.held_kinds)
    query = by_kind["query"]
    assert query["n"] > 100
    assert query["after"] - query["before"] > 3 * query["gain_se"] > 0, query


def test_sparse_adam_moves_only_the_batch_rows(unfolded_student, static_data: StaticData, tmp_path: Path):
    from leaf_hub.distill.train import distill_models
    from leaf_hub.models.static import fold_projection
    from leaf_hub.recipe import TrainingSpec
    from leaf_hub.training import static_token_ids

    student = fold_projection(unfolded_student)
    texts = static_data.train[:64]
    start = student[0].embedding.weight.detach().clone()
    training = TrainingSpec(batch_size=64, learning_rate=1e-3, max_steps=1, loss="cosine", optimizer="sparse_adam")
    distill_models(student, texts, static_data.train_targets[:64], training, tmp_path / "ckpt")
    moved = (student[0].embedding.weight.detach() != start).any(dim=1)
    seen = torch.zeros_like(moved)
    seen[torch.from_numpy(static_token_ids(student, texts).flat.astype(np.int64))] = True
    assert moved.any() and not (moved & ~seen).any()
