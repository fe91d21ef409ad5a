"""scripts/release_params.py (which recipe and tag a release run publishes) and scripts/release_summary.py."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from leaf_hub.errors import RecipeError, ReleaseError
from leaf_hub.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release_params = _load_script("release_params")
release_summary = _load_script("release_summary")
MINI = load_recipe(ROOT / "recipes" / "leaf-ir-mini.yaml")


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_plain_version_tag_releases_the_default_recipe() -> None:
    params = release_params.resolve(
        {"EVENT_NAME": "push", "REF_NAME": f"v{MINI.version}", "DEFAULT_RECIPE": "leaf-ir-mini"}
    )
    assert params == {
        "recipe": "recipes/leaf-ir-mini.yaml",
        "tag": f"v{MINI.version}",
        "name": MINI.name,
        "version": MINI.version,
        "run_dir": MINI.run_dir.as_posix(),
    }


def test_build_metadata_names_the_recipe_and_is_not_part_of_the_hub_tag() -> None:
    params = release_params.resolve({"EVENT_NAME": "push", "REF_NAME": f"v{MINI.version}+leaf-ir-mini"})
    assert params["recipe"] == "recipes/leaf-ir-mini.yaml"
    assert params["tag"] == f"v{MINI.version}"


def test_dispatch_defaults_the_tag_to_the_recipe_version() -> None:
    params = release_params.resolve(
        {"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": "leaf-ir-mini", "INPUT_TAG": ""}
    )
    assert params["tag"] == f"v{MINI.version}"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EVENT_NAME": "push", "REF_NAME": "v9.9.9+leaf-ir-mini"}, "does not match recipe leaf-ir-mini version"),
        ({"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": "leaf-ir-mini", "INPUT_TAG": "v0.0.1"}, "does not match"),
        ({"EVENT_NAME": "push", "REF_NAME": "version-one"}, "is not v<version>"),
        ({"EVENT_NAME": "push", "REF_NAME": "v1.0.0+x;rm"}, "is not v<version>"),
        ({"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": " "}, "input 'recipe' is empty"),
        ({"EVENT_NAME": "schedule"}, "unsupported event"),
    ],
)
def test_bad_tags_are_refused_in_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ReleaseError, match=message) as info:
        release_params.resolve(env)
    assert "\n" not in str(info.value)


def test_unknown_recipe_is_a_recipe_error() -> None:
    with pytest.raises(RecipeError, match="recipe not found: no-such-recipe"):
        release_params.resolve({"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": "no-such-recipe"})


def test_release_params_script_prints_github_output_lines_or_one_error_line() -> None:
    env = {"EVENT_NAME": "push", "REF_NAME": f"v{MINI.version}+leaf-ir-mini", "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "scripts/release_params.py"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert f"tag=v{MINI.version}" in ok.stdout.splitlines()
    env["REF_NAME"] = "v9.9.9+leaf-ir-mini"
    bad = subprocess.run([sys.executable, "scripts/release_params.py"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1


def test_summary_of_a_run_that_stopped_before_publish(tmp_path: Path) -> None:
    text = release_summary.render(tmp_path / "leaf-ir-mini", tmp_path)
    assert "**Not published**" in text
    assert "No evaluation results" in text


def test_summary_renders_release_scores_and_stages(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "leaf-ir-mini"
    (run / "eval").mkdir(parents=True)
    (run / "release.json").write_text(
        json.dumps({"repo_id": "org/leaf-ir-mini", "commit": "a" * 40, "tag": "v0.1.0", "mteb_version": "2.26.24"})
    )
    (run / "eval" / "results.json").write_text(
        json.dumps(
            {
                "scores": [
                    {
                        "task": "SciFact",
                        "mode": "student",
                        "main_metric": "ndcg_at_10",
                        "main_score": 0.61234,
                        "subsampled": True,
                        "n_docs": 600,
                    },
                    {
                        "task": "STSBenchmark",
                        "mode": "student",
                        "main_metric": "cosine_spearman",
                        "main_score": 0.8,
                        "subsampled": False,
                    },
                ]
            }
        )
    )
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "release_leaf-ir-mini.json").write_text(
        json.dumps({"stages": {"distill": {"status": "done", "seconds": 12.5}, "publish": {"status": "skipped"}}})
    )
    text = release_summary.render(run, tmp_path / "reports")
    assert "[org/leaf-ir-mini](https://huggingface.co/org/leaf-ir-mini)" in text
    assert f"`{'a' * 40}`" in text
    assert "| SciFact | student | ndcg_at_10 | 61.23 | sub-sampled (600 docs) |" in text
    assert "| STSBenchmark | student | cosine_spearman | 80.00 | full |" in text
    assert "| distill | done | 12.5 |" in text
