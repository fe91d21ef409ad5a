"""The one parameter counter (leaf_hub.models.weights) agrees with the parameters sentence-transformers loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leaf_hub.errors import ModelFolderError
from leaf_hub.models.weights import count_parameters, count_weights, weight_files, weights_size_bytes


def _loaded_parameters(folder: Path) -> int:
    from sentence_transformers import SentenceTransformer

    return sum(p.numel() for p in SentenceTransformer(str(folder), device="cpu").parameters())


@pytest.fixture(scope="module")
def leaf_folder(student_path: Path, module_tmp) -> Path:
    """A real leaf student (all-MiniLM-L6-v2 + Dense 384 -> 768 + Normalize), saved as leaf-hub saves it."""
    from leaf_hub.models.portable import save_portable
    from leaf_hub.models.student import build_student

    student = build_student(str(student_path), projection_dim=768, max_seq_length=128, device="cpu")
    return save_portable(student, module_tmp("weights") / "model")


def test_stock_folder_counts_what_sentence_transformers_loads(student_path: Path) -> None:
    # its model.safetensors also holds the int64 position_ids buffer, which is not a parameter
    assert count_parameters(student_path) == _loaded_parameters(student_path)


def test_leaf_folder_counts_every_module_dense_included(leaf_folder: Path, student_path: Path) -> None:
    n = count_parameters(leaf_folder)
    assert n == _loaded_parameters(leaf_folder)
    assert n - count_parameters(student_path) == 384 * 768 + 768  # the Dense projection's weight and bias
    counts = count_weights(leaf_folder)
    assert counts.embedding_parameters == 30522 * 384  # BERT's word embeddings
    files = weight_files(leaf_folder)
    assert counts.size_bytes == weights_size_bytes(leaf_folder) == sum(p.stat().st_size for p in files)
    assert any(p.parent.name.endswith("Dense") for p in files)


def test_files_outside_the_modules_are_not_counted(leaf_folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(leaf_folder, copy)
    stray = copy / "checkpoints" / "model.safetensors"
    stray.parent.mkdir()
    shutil.copy(next(p for p in weight_files(copy) if p.parent.name.endswith("Dense")), stray)
    assert stray not in weight_files(copy)
    assert count_parameters(copy) == count_parameters(leaf_folder)


def test_a_folder_without_modules_json_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match="no modules.json"):
        count_parameters(tmp_path)
