"""A static leaf loads with stock sentence-transformers: alone on every supported line, and as the query
route of the ``-asym`` Router (5.0 and later) with ``encode_query`` / ``encode_document``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.static.conftest import StaticData

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def static_folder(unfolded_student, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from leaf_hub.models.portable import save_portable
    from leaf_hub.models.static import fold_projection

    return save_portable(fold_projection(unfolded_student), tmp_path_factory.mktemp("static") / "model")


@pytest.mark.parametrize("target", ["st-3.4", "st-4.1", "st-5.1"])
def test_static_leaf_loads_on_older_releases(static_folder: Path, static_data: StaticData, target: str):
    from sentence_transformers import SentenceTransformer

    from tests.support.compat.harness import DEFAULT_TARGETS, ensure_venv, probe

    venv, _ = ensure_venv(next(t for t in DEFAULT_TARGETS if t.name == target))
    texts = static_data.held[:20]
    result, vectors = probe(venv, static_folder, texts, [])
    assert result["ok"], result.get("error")
    assert result["modules"] == ["StaticEmbedding", "Normalize"]
    here = SentenceTransformer(str(static_folder), device="cpu").encode(texts, convert_to_numpy=True)
    np.testing.assert_allclose(vectors["plain"], here, atol=1e-6)


def test_asym_router_routes_queries_to_the_leaf_and_documents_to_the_teacher(
    static_folder: Path, static_teacher_path: Path, static_data: StaticData, tmp_path: Path
):
    from sentence_transformers import SentenceTransformer

    from leaf_hub.publish.asym import build_asym_folder

    folder = build_asym_folder(static_folder, static_teacher_path, tmp_path / "asym", teacher_max_seq_length=256)
    config = json.loads((folder / "router_config.json").read_text())
    assert set(config["types"].values()) <= {
        f"sentence_transformers.models.{name}" for name in ("StaticEmbedding", "Normalize", "Transformer", "Pooling")
    }
    assert config["parameters"] == {"default_route": "document", "allow_empty_key": True}
    router = SentenceTransformer(str(folder), device="cpu")  # stock load, no leaf-hub code
    assert type(router[0]).__name__ == "Router" and set(router[0].sub_modules) == {"query", "document"}
    leaf = SentenceTransformer(str(static_folder), device="cpu")
    teacher = SentenceTransformer(str(static_teacher_path), device="cpu")
    teacher.max_seq_length = 256
    queries, documents = static_data.held[:8], static_data.held[-4:]
    np.testing.assert_allclose(router.encode_query(queries), leaf.encode(queries), atol=1e-6)
    np.testing.assert_allclose(router.encode_document(documents), teacher.encode(documents), atol=1e-5)


def test_asym_router_with_a_static_leaf_loads_on_5_1(
    static_folder: Path, static_teacher_path: Path, static_data: StaticData, tmp_path: Path
):
    import subprocess

    from sentence_transformers import SentenceTransformer

    from leaf_hub.publish.asym import build_asym_folder
    from tests.support.compat.harness import DEFAULT_TARGETS, ensure_venv

    folder = build_asym_folder(static_folder, static_teacher_path, tmp_path / "asym", teacher_max_seq_length=256)
    venv, _ = ensure_venv(next(t for t in DEFAULT_TARGETS if t.name == "st-5.1"))
    queries, documents = static_data.held[:4], static_data.held[-2:]
    (tmp_path / "texts.json").write_text(json.dumps([queries, documents]))
    script = (
        "import json, sys, numpy as np\n"
        "from sentence_transformers import SentenceTransformer\n"
        "q, d = json.load(open(sys.argv[2]))\n"
        "m = SentenceTransformer(sys.argv[1], device='cpu')\n"
        "np.savez(sys.argv[3], q=m.encode_query(q), d=m.encode_document(d))\n"
    )
    out = tmp_path / "vectors.npz"
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", script, str(folder), str(tmp_path / "texts.json"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    teacher = SentenceTransformer(str(static_teacher_path), device="cpu")
    teacher.max_seq_length = 256
    with np.load(out) as vectors:
        leaf = SentenceTransformer(str(static_folder), device="cpu")
        np.testing.assert_allclose(vectors["q"], leaf.encode(queries), atol=1e-6)
        np.testing.assert_allclose(vectors["d"], teacher.encode(documents), atol=1e-4)
