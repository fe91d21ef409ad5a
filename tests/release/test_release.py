"""`leaf-hub release` end to end: the exact command of release.yml against the embedded Hub.

Real weights, real data, the real huggingface_hub client and sentence-transformers; nothing is
mocked. The release runs a shrunk copy of the shipped mini recipe (:func:`_shrink`: same name,
version, tag, sections and stages, a few hundred texts for one epoch and a smaller evaluation)
in a scratch working directory, then the leaderboard submission is built and validated with
mteb's loaders, and the tag is loaded with a plain ``SentenceTransformer`` in a fresh process.
The full-size leaf-ir-mini release is what the README's main job runs (scripts/ci/main_job.sh);
repeating it here cost ~17 min per recipe on the 2-core machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from leaf_hub.hub_server import TokenSpec, running_hub_server
from tests.support.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hf_release_test_token_0123456789abcdef"
#: Budget of one shrunk release test (two releases, a fresh-process load, the submission): measured
#: at a few minutes on the 2-core machine; generous because CI's runner may be twice as slow.
RELEASE_TIMEOUT_S = 1800


def _workflow_step() -> dict:
    return load_script("ci/workflow_command").workflow_step(ROOT / ".github" / "workflows" / "release.yml", "release")


def _workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    shutil.copytree(ROOT / "recipes", work / "recipes")
    return work


#: Test size of a shipped mini recipe: texts per source, held-out texts, epochs. Everything else
#: (teacher, student, method, tasks, modes, split, card, hub) is the shipped recipe's.
SHRUNK_SAMPLES = 160
SHRUNK_HELDOUT = 40
SHRUNK_EPOCHS = 1


def _shrink(work: Path, recipe_name: str) -> dict:
    """Overwrite ``work/recipes/<name>.yaml`` with the shipped recipe at test size; returns it.

    STS-B stays the full test split (the leaderboard tree needs one full-corpus result, and
    ``query_limit`` would sub-sample it); SciFact keeps its sub-sampled corpus at a smaller limit.
    """
    import yaml

    from leaf_hub.recipe import parse_recipe

    path = work / "recipes" / f"{recipe_name}.yaml"
    shipped = yaml.safe_load(path.read_text(encoding="utf-8"))
    recipe = json.loads(json.dumps(shipped))
    for source in recipe["data"]["sources"]:
        source["samples"] = min(source.get("samples") or SHRUNK_SAMPLES, SHRUNK_SAMPLES)
    recipe["data"]["heldout"] = SHRUNK_HELDOUT
    texts = SHRUNK_SAMPLES * len(recipe["data"]["sources"]) - SHRUNK_HELDOUT
    steps = texts // recipe["training"]["batch_size"]
    recipe["training"].update({"epochs": SHRUNK_EPOCHS, "checkpoint_steps": max(1, steps // 2)})
    evaluation = recipe["evaluation"]
    evaluation["corpus_limit"] = 100  # SciFact keeps every relevant document, so its corpus is ~350
    if evaluation.get("speed_texts"):
        evaluation["speed_texts"] = 16
    evaluation["sweep_dims"] = [768, 128]
    evaluation["sweep_precisions"] = ["float32", "binary"]
    assert set(recipe) == set(shipped) and recipe["name"] == recipe_name
    assert recipe["version"] == shipped["version"] and recipe["evaluation"]["modes"] == shipped["evaluation"]["modes"]
    parse_recipe(recipe, str(path))  # still a valid recipe
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return recipe


def _run_release_step(work: Path, hub, recipe: str, tag: str, token: str | None) -> subprocess.CompletedProcess[str]:
    step = _workflow_step()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "RECIPE": recipe,
            "TAG": tag,
            "HF_ENDPOINT": hub.url,
            "HF_HOME": str(work / "hf-home"),
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
    )
    if token:
        env["HF_TOKEN"] = token
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=work, env=env, capture_output=True, text=True, timeout=3000
    )


def _load_tag_in_fresh_process(hub, repo: str, tag: str, texts: list[str], home: Path) -> np.ndarray:
    script = textwrap.dedent(
        f"""
        import json
        from sentence_transformers import SentenceTransformer
        m = SentenceTransformer({repo!r}, revision={tag!r})
        print(json.dumps(m.encode({texts!r}, prompt_name="query").tolist()))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(hub.env(hf_home=str(home)))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return np.array(json.loads(proc.stdout.strip().splitlines()[-1]))


def _assert_token_absent(token: str, *texts: str, folders: list[Path]) -> None:
    for text in texts:
        assert token not in text
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and path.stat().st_size < 50_000_000:
                assert token.encode() not in path.read_bytes(), f"token leaked into {path}"


def _tag(recipe_name: str) -> str:
    """The tag release.yml accepts for a shipped recipe: ``v<recipe version>``."""
    from leaf_hub.recipe import load_recipe

    return f"v{load_recipe(ROOT / 'recipes' / f'{recipe_name}.yaml').version}"


def _release_and_check(tmp_path: Path, recipe_name: str) -> None:
    from sentence_transformers import SentenceTransformer

    from leaf_hub.evaluation.stock import stock_scores
    from leaf_hub.leaderboard import build_submission
    from leaf_hub.run_folder import RunFolder

    work = _workdir(tmp_path)
    _shrink(work, recipe_name)
    tag = _tag(recipe_name)
    tokens = [TokenSpec(token=TOKEN, user="leaf-hub", role="write")]
    with running_hub_server(tmp_path / "hub", tokens=tokens) as hub:
        proc = _run_release_step(work, hub, f"recipes/{recipe_name}.yaml", tag, TOKEN)
        assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
        run = work / "runs" / recipe_name
        summary = json.loads((run / "release_summary.json").read_text())
        assert summary["tag"] == tag and len(summary["commit"]) == 40
        assert summary["stages"]["distill"]["status"] == "ran"
        assert summary["reload_min_cosine"] >= 0.9999
        assert {"STSBenchmark/student", "STSBenchmark/teacher"} <= set(summary["scores"])
        print("release stages (s):", {name: round(stage["seconds"]) for name, stage in summary["stages"].items()})

        # the leaderboard tree, validated by mteb's own loaders inside build_submission
        run_folder = RunFolder(run)
        submission = build_submission(run_folder.load_recipe(), run_folder, stock_scorer=stock_scores)
        tree = run / "leaderboard" / "results"
        folder = tree / f"leaf-hub__{recipe_name}" / summary["commit"]
        assert (folder / "model_meta.json").is_file() and (folder / "STSBenchmark.json").is_file()
        assert submission.agreement and all(row.agree for row in submission.agreement)  # stock mteb agrees

        # the tag as users load it, in a fresh process, equals the local model
        probes = ["how do vaccines work?", "A man is eating food."]
        remote = _load_tag_in_fresh_process(hub, f"leaf-hub/{recipe_name}", tag, probes, tmp_path / "fresh")
        local = SentenceTransformer(str(run / "model")).encode(probes, prompt_name="query")
        np.testing.assert_allclose(remote, local, atol=1e-5)

        # a rerun skips every finished stage and publishes nothing new
        again = _run_release_step(work, hub, f"recipes/{recipe_name}.yaml", tag, TOKEN)
        assert again.returncode == 0, again.stderr[-2000:]
        rerun = json.loads((run / "release_summary.json").read_text())
        assert rerun["stages"]["distill"]["status"] == "skipped"
        assert rerun["stages"]["evaluate"]["status"] == "skipped"
        assert rerun["commit"] == summary["commit"]
        _assert_token_absent(TOKEN, proc.stdout, proc.stderr, again.stdout, again.stderr, folders=[run])


@pytest.mark.slow
@pytest.mark.timeout(RELEASE_TIMEOUT_S)
def test_release_leaf_ir_mini_with_the_workflow_command(tmp_path):
    _release_and_check(tmp_path, "leaf-ir-mini")


@pytest.mark.slow
@pytest.mark.timeout(RELEASE_TIMEOUT_S)
def test_release_leaf_mt_mini_with_the_workflow_command(tmp_path):
    _release_and_check(tmp_path, "leaf-mt-mini")


def test_tag_not_matching_the_version_is_refused_before_any_work(tmp_path):
    work = _workdir(tmp_path)
    with running_hub_server(tmp_path / "hub", tokens=[TokenSpec(token=TOKEN, user="leaf-hub")]) as hub:
        proc = _run_release_step(work, hub, "recipes/leaf-ir-mini.yaml", "v9.9.9", TOKEN)
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines()[-1].startswith("leaf-hub: error: tag v9.9.9 does not match")
        assert not (work / "runs").exists()
        assert not _repo_exists(hub, "leaf-hub/leaf-ir-mini")


def test_missing_token_is_refused_before_any_work(tmp_path):
    work = _workdir(tmp_path)
    with running_hub_server(tmp_path / "hub", tokens=[TokenSpec(token=TOKEN, user="leaf-hub")]) as hub:
        proc = _run_release_step(work, hub, "recipes/leaf-ir-mini.yaml", _tag("leaf-ir-mini"), None)
        assert proc.returncode == 2
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith("leaf-hub: error: no Hub token") and "Traceback" not in proc.stderr
        assert not (work / "runs").exists()
        assert not _repo_exists(hub, "leaf-hub/leaf-ir-mini")


def _repo_exists(hub, repo_id: str) -> bool:
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.url, token=TOKEN).repo_exists(repo_id)
