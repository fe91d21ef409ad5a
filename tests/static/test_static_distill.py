"""``leaf-hub distill`` on a static recipe: the run folder holds a stock static model and per-kind alignment.

The recipe is a copy of leaf-ir-static-mini with all-MiniLM-L6-v2 (its offline copy) as teacher and as
the model the table is distilled from: half the layers and width of mpnet, so a cold cache costs far less.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.distill.conftest import run_cli
from tests.static.conftest import MINILM, MINILM_REVISION, TEACHER_DIM

pytestmark = pytest.mark.slow


def test_staged_static_distill_writes_a_stock_model_and_per_kind_alignment(tmp_path: Path, static_teacher_path: Path):
    from leaf_hub.recipe import find_recipe

    data = yaml.safe_load(find_recipe("leaf-ir-static-mini").read_text())
    minilm = {"id": MINILM, "revision": MINILM_REVISION, "path": str(static_teacher_path)}
    data["teacher"].update(minilm)
    data["student"].update(minilm, projection_dim=TEACHER_DIM)
    # a prefix of leaf-ir-static-mini's sample (same seed), inside static_data's: one set of MiniLM vectors
    data["data"]["sources"][0]["samples"] = 800
    data["data"]["sources"][1]["samples"] = 200
    data["data"]["heldout"] = 120
    data["training"]["stages"] = [
        {"kinds": ["document"], "epochs": 1},
        {"kinds": ["query"], "epochs": 2, "learning_rate": 5.0e-4},
    ]
    data["output_dir"] = str(tmp_path / "run")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(data))
    proc = run_cli("distill", str(recipe))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert report["student_kind"] == "static"
    by_kind = report["alignment_by_kind"]
    assert set(by_kind) == {"query", "document"} and by_kind["query"]["n"] + by_kind["document"]["n"] == 120
    n_docs, n_queries = 200 - by_kind["document"]["n"], 800 - by_kind["query"]["n"]
    assert report["text_passes"] == n_docs + 2 * n_queries
    modules = json.loads((tmp_path / "run" / "model" / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["StaticEmbedding", "Normalize"]
