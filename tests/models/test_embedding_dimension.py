"""The one embedding-dimension rule of a saved folder (leaf_hub.models.folder), read from its configs alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leaf_hub.errors import ModelFolderError
from leaf_hub.models.folder import embedding_dimension

ST = "sentence_transformers.models"


def _folder(tmp_path: Path, modules: list[tuple[str, str, dict | None]]) -> Path:
    """A folder with ``modules.json`` listing (type, path, config or None) in order."""
    entries = []
    for idx, (kind, path, config) in enumerate(modules):
        entries.append({"idx": idx, "name": str(idx), "path": path, "type": f"{ST}.{kind}"})
        if config is not None:
            (tmp_path / path).mkdir(parents=True, exist_ok=True)
            (tmp_path / path / "config.json").write_text(json.dumps(config))
    (tmp_path / "modules.json").write_text(json.dumps(entries))
    return tmp_path


def test_the_real_student_is_384_dimensional(student_path: Path) -> None:
    assert embedding_dimension(student_path) == 384


def test_a_dense_after_the_pooling_sets_the_dimension(tmp_path: Path) -> None:
    pooled = [("Transformer", "", {"hidden_size": 768}), ("Pooling", "1_Pooling", {"word_embedding_dimension": 768})]
    assert embedding_dimension(_folder(tmp_path / "a", pooled)) == 768
    projected = [*pooled, ("Dense", "2_Dense", {"in_features": 768, "out_features": 256}), ("Normalize", "3", None)]
    assert embedding_dimension(_folder(tmp_path / "b", projected)) == 256


def test_the_last_module_that_states_a_dimension_wins(tmp_path: Path) -> None:
    # where the two former copies differed: a Pooling after a Dense (only in an inconsistent folder)
    modules = [
        ("Transformer", "", None),
        ("Dense", "1_Dense", {"out_features": 256}),
        ("Pooling", "2_Pooling", {"word_embedding_dimension": 128}),
    ]
    assert embedding_dimension(_folder(tmp_path, modules)) == 128


def test_a_folder_that_states_no_dimension_is_refused(tmp_path: Path) -> None:
    # a Pooling without a path says nothing (the root config.json is the transformer's)
    folder = _folder(tmp_path, [("Transformer", "", {"hidden_size": 768}), ("Pooling", "", None)])
    with pytest.raises(ModelFolderError, match="cannot tell the embedding dimension"):
        embedding_dimension(folder)
