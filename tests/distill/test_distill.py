"""leaf-hub distill on real weights and real text, and what it leaves behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from leaf_hub.errors import DistillError
from leaf_hub.losses import LeafDistillLoss
from leaf_hub.models.student import ridge_projection

from .conftest import run_cli, write_recipe

PROBES = ["How do I bake bread at home?", "The weather is lovely today.", "protein folding in yeast cells"]


def test_run_folder_and_metrics(tiny_run):
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert metrics["steps"] == 4
    assert metrics["n_train_texts"] + metrics["n_heldout"] == 180
    assert metrics["alignment_after"] != metrics["alignment_before"]  # measured again after training, not copied
    assert metrics["alignment_before"] > 0.2  # the ridge-initialised projection already points at the teacher
    assert len(metrics["loss_history"]) >= 2
    assert (tiny_run / "recipe.yaml").is_file()
    assert sorted(p.name for p in (tiny_run / "checkpoints").iterdir()) == ["checkpoint-2", "checkpoint-4"]


def test_saved_folder_is_stock_and_portable(tiny_run):
    model = tiny_run / "model"
    modules = json.loads((model / "modules.json").read_text())
    assert [m["type"] for m in modules] == [
        "sentence_transformers.models.Transformer",
        "sentence_transformers.models.Pooling",
        "sentence_transformers.models.Dense",
        "sentence_transformers.models.Normalize",
    ]
    assert not list(model.rglob("*.bin")) and not list(model.rglob("*.pt"))
    assert (model / "2_Dense" / "model.safetensors").is_file()
    config = json.loads((model / "config_sentence_transformers.json").read_text())
    assert config["prompts"] == {"query": "query: ", "document": "", "STSBenchmark": "sentence: "}
    assert "leaf_hub" not in (model / "modules.json").read_text()


def test_loads_where_leaf_hub_cannot_be_imported(tiny_run, tmp_path):
    """Plain SentenceTransformer(path) in an isolated interpreter gives the same vectors."""
    from sentence_transformers import SentenceTransformer

    local = SentenceTransformer(str(tiny_run / "model"))
    expected = local.encode(PROBES, prompt_name="query")
    script = textwrap.dedent(
        f"""
        import json, sys

        class BlockLeafHub:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "leaf_hub":
                    raise ImportError("leaf_hub is blocked in this process")

        sys.meta_path.insert(0, BlockLeafHub())
        try:
            import leaf_hub.errors
        except ImportError:
            pass
        else:
            raise SystemExit("leaf_hub must not be importable here")
        from sentence_transformers import SentenceTransformer
        m = SentenceTransformer({str(tiny_run / "model")!r})
        print(json.dumps(m.encode({PROBES!r}, prompt_name="query").tolist()))
        """
    )
    site = [p for p in sys.path if p.endswith("site-packages")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # -I -S: no cwd, no user site, no .pth files (so no editable leaf_hub path); plus a finder
    # that refuses any leaf_hub import, so nothing of leaf-hub can help the load.
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path[:0]={site!r}\n" + script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = np.array(json.loads(proc.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_second_run_reuses_the_teacher_cache(tiny_run, tmp_path):
    proc = run_cli("distill", str(write_recipe(tmp_path, training__max_steps=1)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["teacher_texts_encoded"] == 0
    assert metrics["teacher_cache_hits"] == 180


def test_resume_continues_from_last_checkpoint(tiny_run, tmp_path):
    import shutil

    shutil.copytree(tiny_run, tmp_path / "run")
    proc = run_cli("distill", str(write_recipe(tmp_path, training__max_steps=6)), "--resume")
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["resumed_from"].endswith("checkpoint-4")
    assert metrics["steps"] == 6


def test_non_finite_loss_names_the_step(student_path):
    from sentence_transformers import SentenceTransformer

    loss = LeafDistillLoss(SentenceTransformer(str(student_path)), np.zeros((2, 384), dtype=np.float32))
    loss.step = 41
    with pytest.raises(DistillError, match="step 41"):
        loss.compute_loss_from_embeddings(torch.full((2, 384), float("nan")), torch.zeros(2, 384))
    ok = loss.compute_loss_from_embeddings(torch.ones(2, 3), torch.zeros(2, 3))
    assert ok.item() == pytest.approx(3.0)  # per-sample squared L2, averaged over the batch


def test_ridge_projection_recovers_a_linear_map():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 8))
    true_w = rng.normal(size=(3, 8))
    y = x @ true_w.T + 0.5
    w, b = ridge_projection(x, y, lam=1e-6)
    np.testing.assert_allclose(w, true_w, atol=1e-4)
    np.testing.assert_allclose(b, 0.5, atol=1e-4)
    w_strong, _ = ridge_projection(x, y, lam=1e6)
    assert np.abs(w_strong).max() < 0.1 * np.abs(true_w).max()  # the penalty shrinks weights


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"training__bach_size": 8}, "training.bach_size: unknown key"),
        ({"training__batch_size": "big"}, "training.batch_size"),
        ({"student__projection_dim": 512}, "projection_dim is 512 but the teacher"),
        ({"data__sources": [{"path": "distill/nope.txt"}]}, "data file not found"),
    ],
)
def test_bad_input_is_one_line_error(tmp_path, changes, needle):
    proc = run_cli("distill", str(write_recipe(tmp_path, **changes)))
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert any(needle in line for line in lines), proc.stderr[-1500:]
    assert lines[-1].startswith("leaf-hub: error:"), proc.stderr[-1500:]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_empty_text_file_and_unwritable_output(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    proc = run_cli("distill", str(write_recipe(tmp_path, data__sources=[{"path": str(empty)}])))
    assert proc.returncode == 2 and "data file is empty" in proc.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("distill", str(write_recipe(tmp_path)), "--output", str(blocker / "sub"))
    assert proc.returncode != 0 and "not writable" in proc.stderr and "Traceback" not in proc.stderr


def test_auto_ridge_lambda_follows_the_data():
    from leaf_hub.models.student import select_ridge_lambda

    rng = np.random.default_rng(1)
    w = rng.normal(size=(16, 64))
    x_many = rng.normal(size=(4000, 64))
    clean = select_ridge_lambda(x_many, x_many @ w.T + 0.01 * rng.normal(size=(4000, 16)))
    x_few = rng.normal(size=(60, 64))
    noisy = select_ridge_lambda(x_few, x_few @ w.T + 5.0 * rng.normal(size=(60, 16)))
    assert clean < noisy  # scarce, noisy samples need a stronger penalty
