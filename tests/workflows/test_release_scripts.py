"""scripts/ci/: release_params.py (which recipe, tag and runner), cache_key.py and release_summary.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from leaf_hub.errors import RecipeError, ReleaseError
from leaf_hub.recipe import load_recipe
from tests.support.recipes import with_changes
from tests.support.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


release_params = load_script("ci/release_params")
release_summary = load_script("ci/release_summary")
cache_key = load_script("ci/cache_key")
MINI = load_recipe(ROOT / "recipes" / "leaf-ir-mini.yaml")
FULL = load_recipe(ROOT / "recipes" / "leaf-ir.yaml")
SHIPPED = ["leaf-ir-mini", "leaf-ir", "leaf-mt-mini", "leaf-mt"]
GPU_ENV = {"RUNNER_DEVICE": "gpu", "GPU_RUNNER": '["self-hosted", "gpu"]'}


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
        "device": "cpu",
        "runs_on": '"ubuntu-latest"',
        "timeout_minutes": str(MINI.compute.minutes),
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
    ok = subprocess.run([sys.executable, "scripts/ci/release_params.py"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert f"tag=v{MINI.version}" in ok.stdout.splitlines()
    env["REF_NAME"] = "v9.9.9+leaf-ir-mini"
    bad = subprocess.run([sys.executable, "scripts/ci/release_params.py"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- runner and time limit


def _write_recipe(tmp_path: Path, base: str = "leaf-ir-mini", **changes: object) -> Path:
    """A copy of a shipped recipe with top-level ``section.key`` changes (``None`` removes the key)."""
    data = with_changes(yaml.safe_load((ROOT / "recipes" / f"{base}.yaml").read_text(encoding="utf-8")), changes)
    path = tmp_path / f"{base}-{len(list(tmp_path.glob('*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_recipe_declares_its_compute_and_gets_that_time_limit(name: str) -> None:
    recipe = load_recipe(ROOT / "recipes" / f"{name}.yaml")
    assert recipe.compute is not None
    assert recipe.compute.device == ("cpu" if name.endswith("-mini") else "gpu")
    env = GPU_ENV if recipe.compute.device == "gpu" else {"RUNNER_DEVICE": "cpu"}
    params = release_params.resolve({"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": name, **env})
    assert params["device"] == recipe.compute.device
    assert params["timeout_minutes"] == str(recipe.compute.minutes)


def test_time_limit_is_the_recipe_field(tmp_path: Path) -> None:
    for minutes in (37, 211):
        path = _write_recipe(tmp_path, **{"compute.minutes": minutes})
        params = release_params.resolve({"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": str(path)})
        assert json.loads(params["timeout_minutes"]) == minutes


def test_gpu_recipe_on_a_cpu_runner_is_refused_in_one_line_before_any_work() -> None:
    env = {"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": "leaf-ir", "RUNNER_DEVICE": "cpu"}
    with pytest.raises(
        ReleaseError, match="recipe leaf-ir needs a gpu runner .* but this run has a cpu runner"
    ) as info:
        release_params.resolve(env)
    assert "\n" not in str(info.value)
    # no runner kind given at all is a CPU runner (ubuntu-latest): the default tag release of leaf-ir is refused
    with pytest.raises(ReleaseError, match="needs a gpu runner"):
        release_params.resolve({"EVENT_NAME": "push", "REF_NAME": f"v{FULL.version}", "DEFAULT_RECIPE": "leaf-ir"})
    script = subprocess.run(
        [sys.executable, "scripts/ci/release_params.py"],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert script.returncode == 2
    assert script.stdout == ""  # nothing reaches $GITHUB_OUTPUT
    assert script.stderr.count("\n") == 1 and "needs a gpu runner" in script.stderr


def test_cpu_recipe_on_a_gpu_runner_is_refused() -> None:
    with pytest.raises(ReleaseError, match="recipe leaf-ir-mini needs a cpu runner .* has a gpu runner"):
        release_params.resolve({"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": "leaf-ir-mini", **GPU_ENV})


def test_gpu_recipe_on_the_gpu_runner_runs_there() -> None:
    params = release_params.resolve({"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": "leaf-ir", **GPU_ENV})
    assert params["device"] == "gpu"
    assert json.loads(params["runs_on"]) == ["self-hosted", "gpu"]
    single = release_params.resolve(
        {"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": "leaf-ir", "RUNNER_DEVICE": "GPU", "GPU_RUNNER": "a100"}
    )
    assert json.loads(single["runs_on"]) == "a100"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RUNNER_DEVICE": "gpu"}, "none is configured: set the repository variable LEAF_HUB_GPU_RUNNER"),
        ({"RUNNER_DEVICE": "gpu", "GPU_RUNNER": "gpu box"}, "LEAF_HUB_GPU_RUNNER must be a runner label"),
        ({"RUNNER_DEVICE": "gpu", "GPU_RUNNER": '["ok", "$(id)"]'}, "must be a runner label"),
        ({"RUNNER_DEVICE": "gpu", "GPU_RUNNER": "[self-hosted"}, "not a JSON list"),
        ({"RUNNER_DEVICE": "tpu"}, "runner 'tpu' is not gpu or cpu"),
    ],
)
def test_bad_runner_settings_are_refused_in_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ReleaseError, match=message) as info:
        release_params.resolve({"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": "leaf-ir", **env})
    assert "\n" not in str(info.value)


def test_hosted_runner_limit_and_undeclared_compute(tmp_path: Path) -> None:
    long_run = _write_recipe(tmp_path, **{"compute.minutes": 400})
    with pytest.raises(ReleaseError, match="asks for 400 minutes .* ubuntu-latest stops a job after 360"):
        release_params.resolve({"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": str(long_run)})
    own = release_params.resolve(
        {"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": str(long_run), "CPU_RUNNER": '["self-hosted", "cpu"]'}
    )
    assert own["timeout_minutes"] == "400"
    undeclared = _write_recipe(tmp_path, compute=None)
    with pytest.raises(ReleaseError, match="declares no compute"):
        release_params.resolve({"EVENT_NAME": "workflow_dispatch", "INPUT_RECIPE": str(undeclared)})


def test_recipe_option_ignores_the_event() -> None:
    out = subprocess.run(
        [sys.executable, "scripts/ci/release_params.py", "--recipe", "leaf-ir-mini"],
        env={"PATH": "/usr/bin:/bin", "EVENT_NAME": "schedule"},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    lines = dict(line.split("=", 1) for line in out.stdout.splitlines())
    assert lines["tag"] == f"v{MINI.version}" and lines["timeout_minutes"] == str(MINI.compute.minutes)


def test_compute_is_validated_and_left_out_of_the_recipe_fingerprint(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="compute.device"):
        load_recipe(_write_recipe(tmp_path, **{"compute.device": "tpu"}))
    with pytest.raises(RecipeError, match="compute.minutes"):
        load_recipe(_write_recipe(tmp_path, **{"compute.minutes": 0}))
    other = load_recipe(_write_recipe(tmp_path, **{"compute.minutes": 5, "compute.device": "gpu"}))
    undeclared = load_recipe(_write_recipe(tmp_path, compute=None))
    assert other.fingerprint() == MINI.fingerprint() == undeclared.fingerprint()
    assert other.fingerprint("compute") != MINI.fingerprint("compute")
    trained_otherwise = load_recipe(_write_recipe(tmp_path, **{"training.learning_rate": 3e-5}))
    assert trained_otherwise.fingerprint() != MINI.fingerprint()


# --------------------------------------------------------------------------- cache key


def _tiny_data(root: Path) -> Path:
    (root / "distill").mkdir(parents=True)
    (root / "distill" / "q.txt").write_text("what is a leaf\nhow do plants breathe\n", encoding="utf-8")
    (root / "distill" / "c.txt").write_text("Leaves are the main organ of photosynthesis.\n", encoding="utf-8")
    (root / "stsb").mkdir()
    (root / "stsb" / "test.tsv").write_text("score\tsentence1\tsentence2\n5.0\ta leaf\ta leaf\n", encoding="utf-8")
    return root


def _tiny_recipe(tmp_path: Path, data: Path, **changes: object) -> Path:
    sources = [
        {"path": "distill/q.txt", "kind": "query"},
        {"path": "distill/c.txt", "kind": "document"},
    ]
    return _write_recipe(
        tmp_path, **{"data.root": str(data), "data.sources": sources, "evaluation.tasks": ["STSBenchmark"], **changes}
    )


def test_cache_key_is_deterministic_and_follows_teacher_and_data(tmp_path: Path) -> None:
    data = _tiny_data(tmp_path / "data")
    base = load_recipe(_tiny_recipe(tmp_path, data))
    first = cache_key.cache_key(base)
    assert first == cache_key.cache_key(load_recipe(_tiny_recipe(tmp_path, data)))
    assert first["key"] == first["restore_prefix"] + first["data"]
    assert first["key"].startswith(f"leaf-hub-cache-v{cache_key.CACHE_FORMAT}-")

    # not the model's training settings nor the release's compute: the same texts, the same vectors
    same = load_recipe(_tiny_recipe(tmp_path, data, **{"training.learning_rate": 3e-5, "compute.minutes": 7}))
    assert cache_key.cache_key(same) == first

    # another teacher: another key and another restore prefix
    teacher = load_recipe(_tiny_recipe(tmp_path, data, **{"teacher.max_seq_length": 128}))
    assert cache_key.cache_key(teacher)["restore_prefix"] != first["restore_prefix"]

    # one byte of a training file, of an evaluation file, or the sample count: same teacher prefix, new key
    keys = {first["key"]}
    (data / "distill" / "c.txt").write_text("Leaves are the main organ of photosynthesis!\n", encoding="utf-8")
    keys.add(cache_key.cache_key(base)["key"])
    (data / "stsb" / "test.tsv").write_text("score\tsentence1\tsentence2\n4.0\ta leaf\ta leaf\n", encoding="utf-8")
    keys.add(cache_key.cache_key(base)["key"])
    fewer = load_recipe(_tiny_recipe(tmp_path, data, **{"data.heldout": 11}))
    keys.add(cache_key.cache_key(fewer)["key"])
    assert len(keys) == 4
    assert {cache_key.cache_key(r)["restore_prefix"] for r in (base, fewer)} == {first["restore_prefix"]}


def test_cache_key_script_on_the_shipped_recipes_and_real_data() -> None:
    run = [sys.executable, "scripts/ci/cache_key.py"]
    outputs = {}
    for name in ("leaf-ir-mini", "leaf-ir-mini", "leaf-ir"):
        out = subprocess.run([*run, name], capture_output=True, text=True, check=True)
        outputs.setdefault(name, set()).add(out.stdout)
    assert len(outputs["leaf-ir-mini"]) == 1  # deterministic across processes
    mini = dict(line.split("=", 1) for line in outputs["leaf-ir-mini"].pop().splitlines())
    full = dict(line.split("=", 1) for line in outputs["leaf-ir"].pop().splitlines())
    assert mini["teacher"] != full["teacher"]  # 256 vs 384 teacher tokens
    assert set(mini) == {"key", "restore_prefix", "teacher", "data"}


def test_cache_key_covers_the_files_of_every_default_task(tmp_path: Path) -> None:
    recipe = load_recipe(_write_recipe(tmp_path, **{"evaluation.tasks": None}))  # the defaults
    files = cache_key.data_files(recipe)
    assert recipe.evaluation.tasks == ["SciFact", "NFCorpus", "STSBenchmark"]
    for task in recipe.evaluation.tasks:
        keyed = {name.split(":", 1)[1] for name in files if name.startswith(f"{task}:")}
        assert any(name.endswith(("corpus.jsonl", "test.tsv")) for name in keyed), (task, sorted(keyed))


def test_cache_key_script_missing_data_is_one_line(tmp_path: Path) -> None:
    path = _tiny_recipe(tmp_path, tmp_path / "nowhere")
    out = subprocess.run([sys.executable, "scripts/ci/cache_key.py", str(path)], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and "not found" in out.stderr


# --------------------------------------------------------------------------- release summary


def _committed_report(cwd: Path, name: str) -> None:
    """What reports/release_<name>.json holds in the repository: figures of an older run."""
    (cwd / "reports").mkdir(exist_ok=True)
    (cwd / "reports" / f"release_{name}.json").write_text(
        json.dumps({"wall_seconds": 4242.5, "stages": {"distill": {"status": "ran", "seconds": 777.7}}})
    )


def test_summary_of_a_run_that_stopped_before_publish(tmp_path: Path) -> None:
    text = release_summary.render(tmp_path / "leaf-ir-mini")
    assert "**Not published**" in text
    assert "No evaluation results" in text
    assert "**Release did not finish**" in text


def test_summary_never_shows_the_committed_report_and_fails_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _committed_report(tmp_path, "leaf-ir-mini")
    run = tmp_path / "runs" / "leaf-ir-mini"
    (run / "eval").mkdir(parents=True)
    script = ROOT / "scripts" / "ci" / "release_summary.py"
    out = subprocess.run([sys.executable, str(script), str(run)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "4242.5" not in out.stdout and "777.7" not in out.stdout
    assert "release_summary.json is missing: the release did not finish" in out.stdout
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("release_summary: error: ")


def test_summary_renders_release_scores_and_stages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _committed_report(tmp_path, "leaf-ir-mini")
    from leaf_hub.records import ReleaseSummary
    from leaf_hub.run_folder import RunFolder
    from tests.support.records import eval_results, release_manifest, score_record

    run = tmp_path / "runs" / "leaf-ir-mini"
    folder = RunFolder(run)
    folder.save_manifest(release_manifest(commit="a" * 40, tag="v0.1.0", mteb_version="2.26.24"))

    folder.save_results(
        eval_results(
            [
                score_record("SciFact", value=0.61234, subsampled=True, n_queries=10, n_docs=600),
                score_record("STSBenchmark", value=0.8, n_queries=10, n_docs=50),
            ],
            wall_seconds=3.0,
        )
    )
    summary = ReleaseSummary(
        recipe="leaf-ir-mini",
        version="0.1.0",
        run_dir=str(run),
        endpoint="https://huggingface.co",
        repo_id="org/leaf-ir-mini",
        tag="v0.1.0",
        wall_seconds=31.25,
        stages={"distill": {"status": "done", "seconds": 12.5}, "publish": {"status": "skipped"}},
    )
    folder.save_summary(summary.to_json())
    text = release_summary.render(run, "v0.1.0")
    assert "[org/leaf-ir-mini](https://huggingface.co/org/leaf-ir-mini)" in text
    assert f"`{'a' * 40}`" in text
    assert "| SciFact | student | ndcg_at_10 | 61.23 | sub-sampled (600 docs) |" in text
    assert "| STSBenchmark | student | cosine_spearman | 80.00 | full |" in text
    assert "| distill | done | 12.5 |" in text
    assert "Release wall time: 31.2 s" in text
    assert "4242.5" not in text and "777.7" not in text
    assert release_summary.main([str(run), "--tag", "v0.1.0"]) == 0
    # the same folder checked against another tag: a left-over, not this run's summary
    assert release_summary.summary_problem(run, "v0.2.0") == (
        f"{run / 'release_summary.json'} is for tag 'v0.1.0', not v0.2.0: a left-over of another release"
    )
    assert "| distill |" not in release_summary.render(run, "v0.2.0")
    assert release_summary.main([str(run), "--tag", "v0.2.0"]) == 1
