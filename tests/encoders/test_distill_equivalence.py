"""A precomputed teacher file made from the real teacher's vectors gives the same run as the teacher."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from leaf_hub.distill import load_texts
from leaf_hub.encoders import (
    EmbeddingCache,
    PrecomputedTeacher,
    SentenceTransformerTeacher,
    build_teacher,
    teacher_cache_root,
    text_key,
)
from leaf_hub.recipe import load_recipe
from tests.distill.conftest import run_cli, write_recipe
from tests.encoders.conftest import write_vectors

pytestmark = pytest.mark.slow  # two real tiny distillations with all-mpnet-base-v2: ~1-2 min on 2 cores

SMALL = {
    "data__sources": [
        {"path": "distill/queries_en.txt", "samples": 60, "kind": "query"},
        {"path": "distill/corpus_en.txt", "samples": 40},
    ],
    "data__heldout": 10,
    "training__max_steps": 2,
}


def test_precomputed_file_reproduces_the_sentence_transformers_run(tmp_path):
    st_dir, pre_dir = tmp_path / "st", tmp_path / "pre"
    st_dir.mkdir(), pre_dir.mkdir()
    st_recipe_path = write_recipe(st_dir, **SMALL)
    proc = run_cli("distill", str(st_recipe_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    st_recipe = load_recipe(st_recipe_path)
    texts = load_texts(st_recipe.data, st_recipe.training.seed)
    pairs = list(texts.train) + list(texts.heldout)
    assert len(pairs) == 100

    # The file a user would have bought: the teacher's vectors of every text, with their kind.
    st_teacher = SentenceTransformerTeacher.from_spec(st_recipe.teacher)
    st_cache = EmbeddingCache(st_teacher, teacher_cache_root(st_teacher.fingerprint))
    vectors = np.zeros((len(pairs), st_teacher.dim), dtype=np.float32)
    for kind in ("query", "document"):
        rows = [i for i, (_, k) in enumerate(pairs) if k == kind]
        vectors[rows] = st_cache.embed([pairs[i][0] for i in rows], kind=kind, progress=False)
    assert st_cache.stats.encoded == 0  # the distillation left every text in the cache
    file = write_vectors(tmp_path / "bought.parquet", [t for t, _ in pairs], [k for _, k in pairs], vectors)

    pre_recipe_path = write_recipe(pre_dir, **SMALL)
    data = yaml.safe_load(pre_recipe_path.read_text())
    data["teacher"] = {"id": data["teacher"]["id"], "kind": "precomputed", "vectors": str(file), "dim": 768}
    pre_recipe_path.write_text(yaml.safe_dump(data))
    proc = run_cli("distill", str(pre_recipe_path))
    assert proc.returncode == 0, proc.stderr[-3000:]

    # Same cache keys, same vectors.
    pre_teacher = build_teacher(load_recipe(pre_recipe_path).teacher)
    assert isinstance(pre_teacher, PrecomputedTeacher)
    pre_cache = EmbeddingCache(pre_teacher, teacher_cache_root(pre_teacher.fingerprint))
    keys = {text_key(t, k) for t, k in pairs}
    assert set(pre_cache._index) == keys
    assert keys <= set(st_cache._index)
    for kind in ("query", "document"):
        group = [t for t, k in pairs if k == kind]
        np.testing.assert_allclose(
            np.asarray(pre_cache.embed(group, kind=kind, progress=False)),
            np.asarray(st_cache.embed(group, kind=kind, progress=False)),
            atol=1e-6,
        )
    assert pre_cache.stats.encoded == 0

    # Same run.
    st = json.loads((st_dir / "run" / "metrics.json").read_text())
    pre = json.loads((pre_dir / "run" / "metrics.json").read_text())
    assert pre["teacher_fingerprint"] == pre_teacher.fingerprint != st["teacher_fingerprint"]
    assert (pre["n_train_texts"], pre["n_heldout"], pre["steps"]) == (st["n_train_texts"], st["n_heldout"], st["steps"])
    assert pre["alignment_before"] == pytest.approx(st["alignment_before"], abs=1e-5)
    assert pre["alignment_after"] == pytest.approx(st["alignment_after"], abs=1e-4)
    np.testing.assert_allclose(np.asarray(pre["loss_history"]), np.asarray(st["loss_history"]), rtol=1e-4, atol=1e-6)
