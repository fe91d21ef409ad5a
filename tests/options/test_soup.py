"""Model soups of real students: identity, averaging, greedy selection, the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from leaf_hub.distill.soup import Validation, average_models, greedy_soup, resolve_members, soup
from leaf_hub.errors import ModelFolderError
from leaf_hub.models.portable import check_portable, save_portable

from .conftest import make_student

PROBES = ["How do I bake bread at home?", "The weather is lovely today.", "protein folding in yeast cells"]


@pytest.fixture(scope="module")
def validation(option_texts, option_targets):
    """Held-out texts: the 32 the students' projections were not fitted on."""
    return Validation(option_texts[64:], np.asarray(option_targets[64:]))


@pytest.fixture(scope="module")
def folders(module_tmp, student_path, option_texts, option_targets, ridge_student):
    """Three real students with the same architecture but different projections, saved portable."""
    root = module_tmp("members")
    texts, targets = option_texts[:64], option_targets[:64]
    good = save_portable(ridge_student, root / "good")
    stiff = save_portable(make_student(student_path, texts, targets, lam=1000.0), root / "stiff")
    random = save_portable(make_student(student_path, texts, targets, init="random"), root / "random")
    return {"good": good, "stiff": stiff, "random": random}


def _encode(folder, texts=PROBES):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu").encode(texts, convert_to_numpy=True)


def test_soup_of_identical_models_is_the_model(folders, validation, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(folders["good"], copy)
    report = soup([folders["good"], copy], tmp_path / "soup", validation=validation)
    check_portable(tmp_path / "soup")
    expected, got = _encode(folders["good"]), _encode(tmp_path / "soup")
    cos = (expected * got).sum(axis=1) / np.linalg.norm(expected, axis=1) / np.linalg.norm(got, axis=1)
    assert cos.min() > 0.99999
    assert report.method == "uniform" and all(m.used for m in report.members)
    assert report.n_validation == len(validation.texts)
    assert report.score == pytest.approx(report.members[0].score, abs=1e-5)
    config = json.loads((tmp_path / "soup" / "config_sentence_transformers.json").read_text())
    assert config["similarity_fn_name"] == "cosine"


@pytest.fixture(scope="module")
def loaded(folders):
    from sentence_transformers import SentenceTransformer

    return {name: SentenceTransformer(str(folder), device="cpu") for name, folder in folders.items()}


def test_average_is_the_parameter_mean(loaded):
    a, b = loaded["good"], loaded["stiff"]
    mean = average_models([a, b])
    for key, value in mean.state_dict().items():
        expected = (a.state_dict()[key].double() + b.state_dict()[key].double()) / 2
        if value.is_floating_point():
            assert torch.allclose(value.double(), expected, atol=1e-6), key
    weighted = average_models([a, b], [3, 1])
    dense = next(k for k in a.state_dict() if k.endswith("linear.weight"))
    expected = 0.75 * a.state_dict()[dense] + 0.25 * b.state_dict()[dense]
    assert torch.allclose(weighted.state_dict()[dense], expected, atol=1e-6)
    assert not torch.equal(a.state_dict()[dense], mean.state_dict()[dense])  # inputs untouched, new model


def test_greedy_soup_never_scores_below_its_best_member(folders, validation, tmp_path):
    report = soup(list(folders.values()), tmp_path / "greedy", greedy=True, validation=validation)
    scores = {m.source: m.score for m in report.members}
    best = max(scores.values())
    assert report.score >= best
    assert report.members[0].used  # the ridge student is the best member and starts the soup
    assert not report.members[2].used  # mixing in a random projection lowers alignment: rejected
    assert report.history[0]["accepted"] and len(report.history) == 3
    # the saved folder scores what the report says
    from sentence_transformers import SentenceTransformer

    saved = validation.score(SentenceTransformer(str(tmp_path / "greedy"), device="cpu"))
    assert saved == pytest.approx(report.score, abs=1e-4)


def test_greedy_keeps_a_member_only_when_the_score_improves(loaded, validation):
    models = [loaded[k] for k in ("random", "stiff", "good")]
    _, kept, score, history = greedy_soup(models, validation.score, names=["random", "stiff", "good"])
    assert kept[0] == 2  # best first, whatever the order given
    running = history[0]["score"]
    for step in history[1:]:
        assert step["accepted"] == (step["score"] > running)
        running = max(running, step["score"]) if step["accepted"] else running
    assert score == running


def test_incompatible_models_are_refused(folders, student_path, tmp_path):
    with pytest.raises(ModelFolderError, match="cannot average"):
        soup([folders["good"], student_path], tmp_path / "bad")  # no Dense projection in the plain init
    assert not (tmp_path / "bad").exists()


def test_greedy_without_heldout_texts_is_refused_before_loading(folders, tmp_path):
    with pytest.raises(ModelFolderError, match="held-out"):
        soup([folders["good"], folders["stiff"]], tmp_path / "g", greedy=True)


def test_sources_resolve_runs_models_and_checkpoints(tmp_path, folders):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "recipe.yaml").write_text("name: x\n")
    shutil.copytree(folders["good"], run / "model")
    for step in (4, 12):
        shutil.copytree(folders["good"], run / "checkpoints" / f"checkpoint-{step}")
    (run / "checkpoints" / "checkpoint-8").mkdir()  # incomplete: no modules.json
    members = resolve_members([run], checkpoints=True)
    assert [p.name for _, p, _ in members] == ["model", "checkpoint-4", "checkpoint-12"]
    assert {r for _, _, r in members} == {run}
    assert resolve_members([run / "checkpoints" / "checkpoint-4"])[0][2] == run
    assert resolve_members([folders["good"]])[0][2] is None
    with pytest.raises(ModelFolderError, match="not a run folder"):
        resolve_members([tmp_path / "nothing"])


TINY_RUN = {
    "name": "soup-member",
    "teacher": {"id": "sentence-transformers/all-mpnet-base-v2", "max_seq_length": 128},
    "student": {"id": "sentence-transformers/all-MiniLM-L6-v2", "projection_dim": 768, "max_seq_length": 128},
    "data": {
        "sources": [
            {"path": "distill/queries_en.txt", "samples": 60, "kind": "query"},
            {"path": "distill/corpus_en.txt", "samples": 30},
        ],
        "heldout": 12,
    },
    "hub": {"repo_id": "test-org/soup-member"},
}


@pytest.mark.slow
def test_cli_greedy_soup_of_run_folders(tmp_path, folders):
    """Two run folders (recipes with different seeds) through ``leaf-hub soup --greedy``."""
    runs = []
    for seed, member in ((1, "good"), (2, "stiff")):
        run = tmp_path / f"run{seed}"
        run.mkdir()
        recipe = {**TINY_RUN, "training": {"seed": seed}, "output_dir": str(run)}
        (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
        shutil.copytree(folders[member], run / "model")
        runs.append(str(run))
    out, report = tmp_path / "souped", tmp_path / "soup.json"
    cmd = [sys.executable, "-m", "leaf_hub.cli", "soup", *runs, "-o", str(out), "--greedy", "--report", str(report)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "greedy soup" in proc.stdout and "held-out alignment" in proc.stdout
    check_portable(out)
    data = json.loads(report.read_text())
    assert data["method"] == "greedy" and data["n_validation"] > 0
    assert data["score"] >= max(m["score"] for m in data["members"])


def test_cli_refuses_a_non_model(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "leaf_hub.cli", "soup", str(tmp_path), "--output", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("leaf-hub: error: not a run folder")
