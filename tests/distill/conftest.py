from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.recipes import with_changes

TINY = {
    "name": "tiny",
    "teacher": {"id": "sentence-transformers/all-mpnet-base-v2", "max_seq_length": 128},
    "student": {
        "id": "sentence-transformers/all-MiniLM-L6-v2",
        "projection_dim": 768,
        "max_seq_length": 128,
        "query_prompt": "query: ",
        "task_prompts": {"STSBenchmark": "sentence: "},
    },
    "data": {
        "sources": [
            {"path": "distill/queries_en.txt", "samples": 120, "kind": "query"},
            {"path": "distill/corpus_en.txt", "samples": 60},
        ],
        "heldout": 20,
    },
    "training": {"batch_size": 16, "max_steps": 4, "checkpoint_steps": 2, "seed": 7},
    "evaluation": {"tasks": ["STSBenchmark"]},
    "hub": {"repo_id": "test-org/tiny"},
}


def write_recipe(folder: Path, **changes: object) -> Path:
    """Write the tiny real-data recipe with ``section__key`` changes applied."""
    data = with_changes({**TINY, "output_dir": str(folder / "run")}, changes, sep="__")
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leaf_hub.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def run_release(
    recipe: Path, home: Path, cwd: Path, *extra: str, timeout: int = 1500
) -> subprocess.CompletedProcess[str]:
    """``leaf-hub release RECIPE --embedded-hub [EXTRA...]`` in a fresh process with ``home`` as ``LEAF_HUB_HOME``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update({"LEAF_HUB_HOME": str(home), "HF_HOME": str(cwd / "hf"), "HF_HUB_DISABLE_XET": "1"})
    return subprocess.run(
        [sys.executable, "-m", "leaf_hub.cli", "release", str(recipe), "--embedded-hub", *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real tiny distillation through the CLI (real teacher, real student, real text)."""
    folder = tmp_path_factory.mktemp("tiny")
    proc = run_cli("distill", str(write_recipe(folder)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return folder / "run"
