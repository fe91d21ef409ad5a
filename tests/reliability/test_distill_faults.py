"""``leaf-hub distill`` (a real subprocess) interrupted by SIGKILL and SIGINT, and resumed.

Teacher embedding: the cache keeps every finished chunk (512 texts, the default), so a rerun
encodes only the texts of unfinished chunks. Training: ``--resume`` continues from the newest
intact checkpoint (a bit-flipped one is skipped with a warning) and ends on the loss curve of an
uninterrupted run. The small real model stands in as the teacher so that several chunks take
seconds, not minutes; everything else (data, student, CLI, trainer) is the real pipeline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from leaf_hub.distill import CHECKPOINT_CHECKSUMS

pytestmark = pytest.mark.slow

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
CHUNK = 512  # EmbeddingCache's default chunk size (not exposed by recipes)
RECIPE = {
    "name": "faults",
    "teacher": {"id": MINILM, "max_seq_length": 48, "batch_size": 64},
    "student": {"id": MINILM, "projection_dim": 384, "max_seq_length": 48, "ridge_samples": 64},
    "data": {
        "sources": [
            {"path": "distill/queries_en.txt", "samples": 620, "kind": "query"},
            {"path": "distill/corpus_en.txt", "samples": 40},
        ],
        "heldout": 16,
    },
    "training": {"batch_size": 8, "max_steps": 12, "checkpoint_steps": 4, "seed": 11},
    "evaluation": {"tasks": ["STSBenchmark"]},
    "hub": {"repo_id": "test-org/faults"},
}


class Distill:
    """Runs ``leaf-hub distill`` with its own ``LEAF_HUB_HOME`` (an empty teacher cache)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.home = base / "home"
        self.home.mkdir(parents=True)
        from leaf_hub.assets import leaf_hub_home

        (self.home / "models").symlink_to(leaf_hub_home() / "models")
        self.env = {**os.environ, "LEAF_HUB_HOME": str(self.home)}
        self.logs: list[str] = []

    def recipe(self, name: str) -> Path:
        data = {**RECIPE, "output_dir": str(self.base / name)}
        path = self.base / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    def start(self, name: str, *args: str) -> subprocess.Popen[str]:
        log = (self.base / f"{name}-{len(self.logs)}.log").open("w")
        self.logs.append(log.name)
        command = [sys.executable, "-m", "leaf_hub.cli", "distill", str(self.recipe(name)), *args]
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True, env=self.env)

    def run(self, name: str, *args: str) -> tuple[int, str]:
        proc = self.start(name, *args)
        code = proc.wait(timeout=900)
        return code, Path(self.logs[-1]).read_text()

    def interrupt_when(self, name: str, ready: Callable[[], bool], sig: signal.Signals) -> tuple[int, str]:
        proc = self.start(name)
        deadline = time.monotonic() + 600
        while not ready():
            assert proc.poll() is None, Path(self.logs[-1]).read_text()[-3000:]
            assert time.monotonic() < deadline, "the run never reached the point to interrupt"
            time.sleep(0.02)
        proc.send_signal(sig)
        code = proc.wait(timeout=300)
        return code, Path(self.logs[-1]).read_text()

    def chunk_sidecars(self) -> list[Path]:
        return sorted(self.home.glob("teacher_cache/*/chunks/*.json"))

    def cached_keys(self) -> list[str]:
        return [key for sidecar in self.chunk_sidecars() for key in json.loads(sidecar.read_text())["keys"]]


@pytest.fixture(scope="module")
def reference(module_tmp) -> dict:
    """SIGKILL, then SIGINT, during teacher embedding; then an uninterrupted run to the end."""
    runner = Distill(module_tmp("distill-faults"))
    code, _ = runner.interrupt_when("ref", lambda: len(runner.chunk_sidecars()) >= 1, signal.SIGKILL)
    assert code == -signal.SIGKILL
    after_kill = runner.cached_keys()
    chunks = len(runner.chunk_sidecars())
    code, sigint_log = runner.interrupt_when("ref", lambda: len(runner.chunk_sidecars()) > chunks, signal.SIGINT)
    after_sigint = runner.cached_keys()
    code_final, final_log = runner.run("ref")
    assert code_final == 0, final_log[-3000:]
    metrics = json.loads((runner.base / "ref" / "metrics.json").read_text())
    return {
        "runner": runner,
        "after_kill": after_kill,
        "after_sigint": after_sigint,
        "sigint": (code, sigint_log),
        "metrics": metrics,
    }


def test_teacher_embedding_resumes_from_finished_chunks(reference: dict) -> None:
    runner: Distill = reference["runner"]
    metrics = reference["metrics"]
    total = metrics["n_train_texts"] + metrics["n_heldout"]
    after_kill, after_sigint = reference["after_kill"], reference["after_sigint"]
    # the SIGKILLed run kept its finished chunk(s); the SIGINTed one added at least one more
    assert len(after_kill) >= CHUNK and len(after_kill) % CHUNK == 0
    assert len(after_kill) < len(after_sigint) < total
    code, log = reference["sigint"]
    assert code == 130, log[-3000:]
    assert "leaf-hub: interrupted; finished work is kept" in log and "Traceback" not in log
    # the final run encoded exactly what no finished chunk held: at most one chunk of lost work
    assert metrics["teacher_texts_encoded"] == total - len(after_sigint)
    assert 0 < metrics["teacher_texts_encoded"] <= CHUNK
    assert metrics["teacher_cache_hits"] == len(after_sigint)
    keys = runner.cached_keys()
    assert len(keys) == len(set(keys)) == total  # no text was encoded (and stored) twice
    assert len(runner.chunk_sidecars()) >= 4


def test_training_resumes_past_a_sigkill_and_a_corrupt_checkpoint(reference: dict) -> None:
    runner: Distill = reference["runner"]
    checkpoints = runner.base / "resumed" / "checkpoints"
    code, log = runner.interrupt_when(
        "resumed", lambda: (checkpoints / "checkpoint-8" / CHECKPOINT_CHECKSUMS).is_file(), signal.SIGKILL
    )
    assert code == -signal.SIGKILL and not (runner.base / "resumed" / "metrics.json").exists()
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-4", "checkpoint-8"]
    weights = checkpoints / "checkpoint-8" / "model.safetensors"
    with weights.open("r+b") as fh:  # one flipped bit in the newest checkpoint's weights
        fh.seek(weights.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0x01]))

    code, log = runner.run("resumed", "--resume")
    assert code == 0, log[-3000:]
    assert "skipping checkpoint-8: model.safetensors fails its sha256 check" in " ".join(log.split())
    metrics = json.loads((runner.base / "resumed" / "metrics.json").read_text())
    assert metrics["resumed_from"].endswith("checkpoint-4") and metrics["steps"] == 12
    assert metrics["teacher_texts_encoded"] == 0
    assert (checkpoints.parent / "checkpoints" / "corrupt-checkpoint-8").is_dir()

    # the resumed run ends on the uninterrupted run's loss curve
    ref = np.array(reference["metrics"]["loss_history"])
    got = np.array(metrics["loss_history"])
    assert got[:, 0].tolist() == ref[:, 0].tolist() == list(range(1, 13))
    np.testing.assert_allclose(got[:, 1], ref[:, 1], rtol=1e-3)  # RNG and data order are restored
    assert abs(metrics["alignment_after"] - reference["metrics"]["alignment_after"]) < 2e-3

    # nothing intact left: refused in one line, before any teacher or training work
    with (checkpoints / "checkpoint-12" / "model.safetensors").open("r+b") as fh:
        fh.truncate(1000)
    (checkpoints / "checkpoint-8" / CHECKPOINT_CHECKSUMS).unlink()
    start = time.monotonic()
    code, log = runner.run("resumed", "--resume")
    lines = [line for line in log.splitlines() if line.strip()]
    assert code == 5, log[-3000:]
    assert lines[-1].startswith("leaf-hub: error: --resume: no intact checkpoint in"), log[-3000:]
    assert "checkpoint-12: model.safetensors is truncated" in lines[-1] and "Traceback" not in log
    assert "teacher queries" not in log
    print(f"refusal took {time.monotonic() - start:.1f} s")
