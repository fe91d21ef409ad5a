"""Session-wide test setup.

huggingface_hub reads its settings once, at import time, so they are set here before any
test module imports transformers or sentence-transformers: classic LFS uploads (no Xet), no
telemetry, a throwaway ``HF_HOME``, and no token from the developer's environment.
Subprocesses get a ``TMPDIR`` inside the session's scratch folder, so what a killed one leaves
behind (the fault tests kill publishes and trainings mid-write) is deleted with the session.
Model weights come from the real offline cache (``LEAF_HUB_HOME``, filled by
``../shared/scripts/fetch_models.sh``) so they are fetched once per machine, not per test.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

_SCRATCH = Path(tempfile.mkdtemp(prefix="leaf-hub-test-"))
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
_HF_HOME = str(_SCRATCH / "hf")
(_SCRATCH / "hf").mkdir()
(_SCRATCH / "tmp").mkdir()
os.environ["TMPDIR"] = str(_SCRATCH / "tmp")
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HOME"] = _HF_HOME
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ.pop("HF_ENDPOINT", None)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("LEAF_HUB_HOME", str(Path.home() / ".cache" / "leaf_hub"))

import pytest  # noqa: E402

ModuleTmp = Callable[[str], Path]

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder beside the checkout."""
    from leaf_hub.assets import data_root

    return data_root()


@pytest.fixture(scope="session")
def student_path() -> Path:
    """The real all-MiniLM-L6-v2 folder (fetched once with fetch_models.sh)."""
    from leaf_hub.assets import resolve_model

    return Path(resolve_model("sentence-transformers/all-MiniLM-L6-v2"))


@pytest.fixture(scope="session")
def teacher_path() -> Path:
    """The real all-mpnet-base-v2 folder (fetched once with fetch_models.sh)."""
    from leaf_hub.assets import resolve_model

    return Path(resolve_model("sentence-transformers/all-mpnet-base-v2"))


@pytest.fixture(scope="session")
def real_queries(shared_data: Path) -> list[str]:
    """A few hundred real distillation queries."""
    with (shared_data / "distill" / "queries_en.txt").open(encoding="utf-8") as fh:
        return [next(fh).strip() for _ in range(300)]


@pytest.fixture(scope="session")
def real_sentences(shared_data: Path) -> list[str]:
    """A few hundred real distillation sentences."""
    with (shared_data / "distill" / "corpus_en.txt").open(encoding="utf-8") as fh:
        return [next(fh).strip() for _ in range(300)]


@pytest.fixture(scope="session")
def leaf_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one real tiny distilled + evaluated run (tests/publish/_run.py), built once per session for every test."""
    from tests.publish._run import build_real_run

    return build_real_run(tmp_path_factory.getbasetemp() / "leaf-run")


@pytest.fixture(scope="module")
def module_tmp(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleTmp]:
    """``module_tmp(name)`` makes a folder for one module's shared files (hub data, run copies, exports).

    They are deleted after the module unless one of its tests failed (then they stay for a look).
    """
    root = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    failed = request.session.testsfailed

    def mktemp(name: str) -> Path:
        path = root / name
        path.mkdir()
        return path

    yield mktemp
    if request.session.testsfailed == failed:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def isolated_home(tmp_path: Path) -> Path:
    """A ``LEAF_HUB_HOME`` of its own (empty teacher cache, embedded hub) that sees the real model folders."""
    from leaf_hub.assets import leaf_hub_home

    home = tmp_path / "leaf_hub_home"
    home.mkdir()
    (home / "models").symlink_to(leaf_hub_home() / "models")
    return home


#: pytest-timeout budget of a slow-marked test that sets none itself (pyproject's `timeout` is the
#: default of the others). Generous: CI's runner may be twice as slow as the 2-core dev machine, and a
#: limit that kills a healthy test fails CI; it is there to stop a hang, not to time the suite.
SLOW_TIMEOUT_S = 2400


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every slow test without its own ``@pytest.mark.timeout`` the larger ``SLOW_TIMEOUT_S``."""
    for item in items:
        if item.get_closest_marker("slow") is not None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))
