"""``leaf-hub release`` reruns exactly the stages whose inputs changed, as a user edits the recipe file.

Through the CLI, on a real tiny run against the embedded Hub (fresh ``LEAF_HUB_HOME``): a first
release, an unchanged rerun (a no-op), a version bump (card and publish only, a new tag), an edit
of the ``evaluation:`` section with a bump (evaluate, card and publish, with the new settings), and
the same edit again without a bump (refused: a tag is never moved). Afterwards the Hub holds each
tag at the commit its release recorded.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.distill.conftest import run_release, write_recipe
from tests.support.recipes import edit_recipe_file

pytestmark = pytest.mark.slow

EVALUATION = {"tasks": ["STSBenchmark"], "modes": ["student"], "query_limit": 40, "sweep_precisions": []}


def _release(recipe: Path, home: Path, cwd: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    # --no-exports: the stages under test are distill, evaluate, card and publish; the ONNX / OpenVINO
    # export stage (~45 s a publish on 2 cores) is tested in tests/export and by the release tests
    proc = run_release(recipe, home, cwd, "--no-exports")
    summary_path = cwd / "run" / "release_summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    return proc, summary


def _status(summary: dict) -> dict[str, str]:
    return {name: stage["status"] for name, stage in summary["stages"].items()}


def test_version_bump_and_evaluation_edit_rerun_exactly_the_changed_stages(tmp_path: Path, isolated_home: Path) -> None:
    recipe = write_recipe(tmp_path, evaluation=EVALUATION)
    home = isolated_home
    run = tmp_path / "run"

    proc, first = _release(recipe, home, tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert _status(first) | {"reload": "ran"} == {
        "distill": "ran",
        "evaluate": "ran",
        "card": "ran",
        "publish": "ran",
        "reload": "ran",
    }
    model_before = (run / "model" / "model.safetensors").read_bytes()

    # unchanged rerun: nothing is redone, the tag stays where it is
    proc, again = _release(recipe, home, tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert _status(again)["distill"] == _status(again)["evaluate"] == "skipped"
    assert _status(again)["publish"].startswith("skipped")
    assert again["commit"] == first["commit"]

    # version bump: only the card and publish run; a new tag, with the new version everywhere
    edit_recipe_file(recipe, version="0.1.1")
    proc, bumped = _release(recipe, home, tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert _status(bumped)["distill"] == _status(bumped)["evaluate"] == "skipped"
    assert _status(bumped)["card"] == _status(bumped)["publish"] == "ran"
    assert bumped["tag"] == "v0.1.1" and bumped["commit"] != first["commit"]
    assert (run / "model" / "model.safetensors").read_bytes() == model_before
    assert yaml.safe_load((run / "recipe.yaml").read_text())["version"] == "0.1.1"
    assert json.loads((run / "release.json").read_text())["version"] == "0.1.1"

    # evaluation edit (+ bump): evaluate reruns with the new settings, distill does not
    edit_recipe_file(recipe, version="0.1.2", **{"evaluation.query_limit": 24})
    proc, edited = _release(recipe, home, tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert _status(edited)["distill"] == "skipped"
    assert _status(edited)["evaluate"] == _status(edited)["publish"] == "ran"
    results = json.loads((run / "eval" / "results.json").read_text())
    assert results["query_limit"] == 24 and {s["n_queries"] for s in results["scores"]} == {24}
    assert yaml.safe_load((run / "recipe.yaml").read_text())["evaluation"]["query_limit"] == 24
    assert (run / "model" / "model.safetensors").read_bytes() == model_before

    # the same kind of edit without a bump: refused in one line, the tag is not moved
    edit_recipe_file(recipe, **{"evaluation.query_limit": 20})
    proc, _ = _release(recipe, home, tmp_path)
    assert proc.returncode != 0
    assert "tag v0.1.2 already exists" in proc.stderr and "bump the version" in proc.stderr
    assert "Traceback" not in proc.stderr

    # the Hub: each tag at the commit its release recorded
    from huggingface_hub import HfApi

    from leaf_hub.hub_server import TokenSpec, running_hub_server

    token = (home / "hub" / "release-token").read_text().strip()
    tokens = [TokenSpec(token=token, user="test-org", role="write")]
    with running_hub_server(home / "hub" / "data", tokens=tokens) as hub:
        refs = HfApi(endpoint=hub.url, token=token).list_repo_refs("test-org/tiny")
        files = HfApi(endpoint=hub.url, token=token).list_repo_files("test-org/tiny", revision="v0.1.2")
    tags = {t.name: t.target_commit for t in refs.tags}
    assert tags == {"v0.1.0": first["commit"], "v0.1.1": bumped["commit"], "v0.1.2": edited["commit"]}
    # --no-exports: the weights and the card, no ONNX / OpenVINO files, and no export stage ran
    assert "model.safetensors" in files and "README.md" in files
    assert not [f for f in files if f.startswith(("onnx/", "openvino/"))], files
    assert not (run / "exports").exists()
