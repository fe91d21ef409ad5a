"""Data-parallel distillation through ``torchrun`` with 2 CPU processes (gloo) on a tiny real recipe.

Run 1 starts from an empty cache and has one rank killed mid-training; run 2 resumes it with
``--resume`` from a second empty cache, so both runs' teacher work is split across the ranks and
run 2's ``metrics.json`` holds the per-rank counters.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.distill.conftest import write_recipe

pytestmark = pytest.mark.slow

MAX_STEPS = 6


def _home(tmp: Path, name: str) -> Path:
    """A fresh LEAF_HUB_HOME (empty teacher and token caches) that still finds the offline models."""
    from leaf_hub.assets import leaf_hub_home

    home = tmp / name
    home.mkdir()
    (home / "models").symlink_to(leaf_hub_home() / "models", target_is_directory=True)
    return home


def _torchrun(recipe: Path, home: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LEAF_HUB_HOME": str(home), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["-m", "leaf_hub.cli", "distill", str(recipe), *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _cached_rows(home: Path) -> tuple[int, int]:
    """(rows over all teacher-cache chunks, distinct keys): equal when no text was encoded twice."""
    rows, keys = 0, set()
    for sidecar in home.glob("teacher_cache/*/chunks/*.json"):
        chunk = json.loads(sidecar.read_text())["keys"]
        rows += len(chunk)
        keys.update(chunk)
    return rows, len(keys)


def _kill_rank(launcher: subprocess.Popen[str], rank: int) -> None:
    import psutil

    for child in psutil.Process(launcher.pid).children(recursive=True):
        try:
            if child.environ().get("RANK") == str(rank) and "leaf_hub.cli" in " ".join(child.cmdline()):
                child.send_signal(signal.SIGKILL)
                return
        except psutil.NoSuchProcess:
            continue
    raise AssertionError(f"no rank {rank} worker found")


def test_torchrun_two_processes_split_the_teacher_write_once_and_resume(tmp_path: Path) -> None:
    recipe = write_recipe(
        tmp_path,
        data__sources=[
            {"path": "distill/queries_en.txt", "samples": 60, "kind": "query"},
            {"path": "distill/corpus_en.txt", "samples": 40},
        ],
        data__heldout=10,
        teacher__max_seq_length=64,
        student__max_seq_length=64,
        training__max_steps=MAX_STEPS,
        training__checkpoint_steps=2,
        training__batch_size=8,
    )
    run_dir = tmp_path / "run"
    first_home, second_home = _home(tmp_path, "home1"), _home(tmp_path, "home2")

    # run 1: kill rank 1 once the first checkpoint is complete (checksummed)
    launcher = _torchrun(recipe, first_home)
    marker = run_dir / "checkpoints" / "checkpoint-2" / "leaf_hub_checksums.json"
    deadline = time.monotonic() + 400
    while not marker.exists() and launcher.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists(), launcher.communicate(timeout=60)[0][-3000:]
    _kill_rank(launcher, 1)
    out, _ = launcher.communicate(timeout=120)
    assert launcher.returncode != 0, out[-2000:]
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "model").exists()
    rows, distinct = _cached_rows(first_home)
    assert rows == distinct == 100  # every text encoded once, by one of the ranks

    # run 2: --resume, from an empty cache again (both ranks encode their shards once more)
    resumed = _torchrun(recipe, second_home, "--resume")
    out, _ = resumed.communicate(timeout=400)
    assert resumed.returncode == 0, out[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    per_rank = metrics["teacher_encoded_per_rank"]
    assert len(per_rank) == 2 and min(per_rank) > 0  # both ranks encoded a shard
    assert sum(per_rank) == metrics["teacher_texts_encoded"] == 100 and metrics["teacher_cache_hits"] == 0
    assert _cached_rows(second_home) == (100, 100)  # the shards are disjoint: no text encoded twice
    assert metrics["resumed_from"].endswith(("checkpoint-2", "checkpoint-4"))
    assert metrics["steps"] == MAX_STEPS and metrics["text_passes"] == MAX_STEPS * 8  # global batch = batch_size

    # one run folder written once: one metrics.json, one model, one set of checkpoints, no per-rank leftovers
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoints", "metrics.json", "model", "recipe.yaml"]
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("metrics.json")] == ["run/metrics.json"]
    steps = sorted(int(p.name.split("-")[1]) for p in (run_dir / "checkpoints").glob("checkpoint-*"))
    assert steps[-1] == MAX_STEPS and len(steps) <= 2  # save_total_limit
    assert out.count("alignment before training") == 1 == out.count("distilled tiny")  # rank 0 only
    final = run_dir / "checkpoints" / f"checkpoint-{MAX_STEPS}"
    assert {"rng_state_0.pth", "rng_state_1.pth"} <= {p.name for p in final.iterdir()}
    recorded = json.loads((final / "leaf_hub_checksums.json").read_text())["files"]
    assert {"rng_state_0.pth", "rng_state_1.pth", "trainer_state.json"} <= set(recorded)

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(run_dir / "model"), device="cpu")
    vectors = model.encode(["how do solar panels work", "Solar panels turn light into electricity."])
    assert vectors.shape == (2, 768)
    assert 0 < metrics["alignment_after"] <= 1
