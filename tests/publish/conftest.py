from __future__ import annotations

from pathlib import Path

import pytest

from tests.publish._run import build_real_run


@pytest.fixture(scope="session")
def leaf_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tiny distilled + evaluated run (built once per session, shared with tests/publish)."""
    return build_real_run(tmp_path_factory.getbasetemp() / "leaf-run")
