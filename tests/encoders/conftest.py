from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.distill.conftest import TINY

#: The tiny real-data recipe with a precomputed 384-d teacher (vectors of all-MiniLM-L6-v2).
PRECOMPUTED = {
    **TINY,
    "teacher": {"id": "example-org/bought-vectors", "kind": "precomputed", "dim": 384, "vectors": "PLACEHOLDER"},
    "student": {**TINY["student"], "projection_dim": 384},
    "data": {
        "sources": [
            {"path": "distill/queries_en.txt", "samples": 40, "kind": "query"},
            {"path": "distill/corpus_en.txt", "samples": 20},
        ],
        "heldout": 10,
    },
    "training": {**TINY["training"], "max_steps": 1},
}


def write_vectors(path: Path, texts: list[str], kinds: list[str | None], vectors: np.ndarray) -> Path:
    """Write a teacher-vectors file in the format its suffix names (.parquet, .jsonl, .npy + .txt)."""
    import json

    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"text": texts, "kind": kinds, "vector": [list(map(float, v)) for v in vectors]})
        pq.write_table(table, path)
    elif path.suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for text, kind, vector in zip(texts, kinds, vectors, strict=True):
                fh.write(json.dumps({"text": text, "kind": kind, "vector": [float(x) for x in vector]}) + "\n")
    else:
        np.save(path, np.asarray(vectors, dtype=np.float32))
        path.with_suffix(".txt").write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_pairs() -> list[tuple[str, str]]:
    """Every (text, kind) the PRECOMPUTED recipe trains and holds out on."""
    from leaf_hub.distill import load_texts
    from leaf_hub.recipe import DataSpec

    texts = load_texts(DataSpec.model_validate(PRECOMPUTED["data"]), PRECOMPUTED["training"]["seed"])
    return list(texts.train) + list(texts.heldout)


@pytest.fixture(scope="session")
def tiny_vectors(tiny_pairs, student_path) -> np.ndarray:
    """Real all-MiniLM-L6-v2 vectors of those texts (normalised)."""
    from leaf_hub.encoders import SentenceTransformerTeacher

    return SentenceTransformerTeacher(student_path, batch_size=64).encode([t for t, _ in tiny_pairs])


def write_precomputed_recipe(folder: Path, vectors: Path, **teacher: object) -> Path:
    data = yaml.safe_load(yaml.safe_dump(PRECOMPUTED))
    data["teacher"].update(vectors=str(vectors), **teacher)
    if vectors.suffix == ".npy":
        data["teacher"]["texts"] = str(vectors.with_suffix(".txt"))
    data["output_dir"] = str(folder / "run")
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
