"""Fixtures for the portability tests: a leaf-shaped model, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def leaf_model(student_path: Path):
    """all-MiniLM-L6-v2's Transformer + Pooling, a seeded Dense(384, 768, Identity), Normalize, prompts."""
    from tests.support.compat.harness import leaf_shaped_model

    return leaf_shaped_model(student_path)


@pytest.fixture(scope="session")
def probe_texts(shared_data: Path) -> list[str]:
    """20 real texts (queries, sentences, passages longer than the 256-token limit)."""
    from tests.support.compat.harness import default_probe_texts

    return default_probe_texts(shared_data)


@pytest.fixture(scope="session")
def portable_folder(leaf_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The leaf-shaped model saved with save_portable."""
    from leaf_hub.models.portable import save_portable

    return save_portable(leaf_model, tmp_path_factory.mktemp("portable") / "model")
