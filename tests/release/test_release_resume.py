"""``leaf-hub release`` after an interrupted distillation whose checkpoints are all damaged.

``distill --resume`` refuses (the user asked to continue and nothing can be continued from);
``release`` decides on its own whether to resume, so it trains afresh instead and the release
completes. Real tiny run: real models, real text, the embedded Hub, a fresh ``LEAF_HUB_HOME``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.distill.conftest import run_release, write_recipe

pytestmark = pytest.mark.slow


def test_release_trains_afresh_when_every_checkpoint_is_damaged(tmp_path: Path, isolated_home: Path) -> None:
    from leaf_hub.recipe import load_recipe
    from leaf_hub.release import stage_fingerprints

    recipe_path = write_recipe(
        tmp_path,
        evaluation={"tasks": ["STSBenchmark"], "modes": ["student"], "query_limit": 60, "sweep_precisions": []},
    )
    run_dir = tmp_path / "run"
    # what an interrupted release leaves: distill started with these inputs, one checkpoint, now damaged
    damaged = run_dir / "checkpoints" / "checkpoint-2"
    damaged.mkdir(parents=True)
    (damaged / "trainer_state.json").write_text(json.dumps({"global_step": 2}))
    (damaged / "model.safetensors").write_bytes(b"\0" * 64)
    prints = stage_fingerprints(load_recipe(recipe_path), run_dir)
    (run_dir / "stages.json").write_text(json.dumps({"distill_started": prints["distill"]}))

    proc = run_release(recipe_path, isolated_home, tmp_path, "--no-exports")  # the exports are not under test
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert "no intact checkpoint of the interrupted run; training starts afresh" in " ".join(log.split())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["steps"] == 4 and metrics["resumed_from"] is None
    assert json.loads((run_dir / "release.json").read_text())["tag"] == "v0.1.0"
