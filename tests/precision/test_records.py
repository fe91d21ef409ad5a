"""Every record says which precision each stage used: a tiny real distillation with bf16 detection forced on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leaf_hub import precision
from leaf_hub.recipe import parse_recipe
from leaf_hub.records import DistillReport, EvalResults
from leaf_hub.records.release import ReleaseSummary
from tests.distill.conftest import TINY

#: TINY with all-MiniLM-L6-v2 as its own teacher (384-d) and a handful of texts: bf16 is emulated here.
SMALL = {
    **TINY,
    "teacher": {"id": "sentence-transformers/all-MiniLM-L6-v2", "max_seq_length": 16},
    "student": {**TINY["student"], "projection_dim": 384, "max_seq_length": 16},
    "data": {
        "sources": [
            {"path": "distill/queries_en.txt", "samples": 12, "kind": "query"},
            {"path": "distill/corpus_en.txt", "samples": 8},
        ],
        "heldout": 10,
    },
    "training": {"batch_size": 4, "max_steps": 1, "checkpoint_steps": 100, "seed": 7, "device": "cpu"},
    "compute": {"device": "cpu", "minutes": 10, "dtype": "auto"},
}


@pytest.fixture(scope="module")
def bf16_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``metrics.json`` of a tiny real run on a CPU made to report AMX (the path this machine never takes)."""
    from leaf_hub.assets import leaf_hub_home
    from leaf_hub.distill import distill
    from leaf_hub.run_folder import RunFolder

    home = tmp_path_factory.mktemp("home")
    (home / "models").symlink_to(leaf_hub_home() / "models")
    folder = tmp_path_factory.mktemp("run")
    recipe = parse_recipe({**SMALL, "output_dir": str(folder / "run")})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEAF_HUB_HOME", str(home))
        mp.setattr(precision, "cpu_bf16_features", lambda: ["amx_bf16"])
        distill(recipe, RunFolder(recipe.run_dir))
    return json.loads((Path(recipe.run_dir) / "metrics.json").read_text())


@pytest.mark.slow  # ~20 s of CPU: bf16 is emulated on a CPU without AMX / AVX512-BF16
def test_bf16_run_records_both_stages_and_the_teacher_check(bf16_report, student_path):
    from leaf_hub.encoders import SentenceTransformerTeacher

    used = bf16_report["precision"]
    assert used["teacher"]["dtype"] == "bf16" and used["training"]["dtype"] == "bf16"
    assert used["teacher"]["requested"] == used["training"]["requested"] == "auto"
    assert "amx_bf16" in used["teacher"]["reason"] and used["training"]["device"] == "cpu"
    check = used["teacher"]["check"]
    assert check["n"] == 10 and check["kept_bf16"] and 0.999 <= check["mean"] < 1.0
    assert check["min"] <= check["p1"] <= check["mean"]
    # the vectors trained on were filed under the bf16 fingerprint, not the fp32 one
    fp32 = SentenceTransformerTeacher(student_path, max_seq_length=16)
    assert bf16_report["teacher_fingerprint"] != fp32.fingerprint
    fp32.to_precision("bf16")
    assert bf16_report["teacher_fingerprint"] == fp32.fingerprint
    table = DistillReport.from_json(json.dumps(bf16_report)).summary_table()
    assert "bf16 / bf16" in table.columns[1]._cells


def test_evaluation_and_release_records_carry_precision():
    results = EvalResults(model_path="m", mteb_version="2", split="test", scores=[], wall_seconds=0.0)
    assert json.loads(results.to_json())["precision"] == "fp32"
    summary = ReleaseSummary(recipe="r", version="0.1.0", run_dir="d", endpoint="e", repo_id="o/r", tag="v0.1.0")
    summary.precision = {"teacher": "bf16", "training": "bf16", "evaluation": results.precision}
    assert json.loads(summary.to_json())["precision"]["evaluation"] == "fp32"
