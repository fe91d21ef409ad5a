#!/usr/bin/env python3
"""Print a step of a GitHub Actions workflow (by default the release command of release.yml).

The release workflow keeps its command in exactly one place, the ``run:`` of the step with
``id: release``. Tests read it from the YAML with :func:`workflow_step` and run it against the
embedded Hub server with their own environment, so CI runs what the tests ran.

Usage:
    python scripts/ci/workflow_command.py                      # the run: script of release.yml's `release` step
    python scripts/ci/workflow_command.py --json               # the step with its env, cwd and shell, as JSON
    bash -c "$(python scripts/ci/workflow_command.py)"        # run it (RECIPE, TAG, HF_TOKEN, HF_ENDPOINT from the env)

From a test (scripts/ is not a package; ``tests/support/scripts.py`` loads it by path)::

    from tests.support.scripts import load_script
    step = load_script("ci/workflow_command").workflow_step(ROOT / ".github/workflows/release.yml", "release")
    subprocess.run(["bash", "-c", step["run"]], env={**os.environ, "RECIPE": ..., "TAG": ..., ...}, cwd=ROOT)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RELEASE_WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"


class WorkflowStepError(LookupError):
    """The workflow has no such step, or it has more than one, or it has no ``run:``."""


def load_workflow(path: str | Path) -> dict[str, Any]:
    """Parse a workflow file (PyYAML reads the ``on:`` key as ``True``; it is mapped back to ``"on"``)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise WorkflowStepError(f"{path}: not a workflow mapping")
    if True in data:
        data["on"] = data.pop(True)
    return data


def workflow_step(path: str | Path = RELEASE_WORKFLOW, step_id: str = "release") -> dict[str, Any]:
    """Return the one step with ``id: step_id`` and its context.

    Returns:
        ``{"job", "step_id", "run", "env", "working_directory", "shell"}``; ``env`` merges the
        workflow, job and step ``env:`` (later wins), values left as written (``${{ ... }}`` included).

    Raises:
        WorkflowStepError: If there is not exactly one such step, or it has no ``run:``.
    """
    workflow = load_workflow(path)
    found = []
    for job_name, job in (workflow.get("jobs") or {}).items():
        for step in job.get("steps") or []:
            if step.get("id") == step_id:
                found.append((job_name, job, step))
    if len(found) != 1:
        raise WorkflowStepError(f"{path}: expected exactly one step with id '{step_id}', found {len(found)}")
    job_name, job, step = found[0]
    if not isinstance(step.get("run"), str):
        raise WorkflowStepError(f"{path}: step '{step_id}' has no run: script")
    defaults = {**((workflow.get("defaults") or {}).get("run") or {}), **((job.get("defaults") or {}).get("run") or {})}
    env = {**(workflow.get("env") or {}), **(job.get("env") or {}), **(step.get("env") or {})}
    return {
        "job": job_name,
        "step_id": step_id,
        "run": step["run"].strip(),
        "env": {k: str(v) for k, v in env.items()},
        "working_directory": step.get("working-directory") or defaults.get("working-directory"),
        "shell": step.get("shell") or defaults.get("shell") or "bash",
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflow", default=str(RELEASE_WORKFLOW), help="workflow file (default: release.yml)")
    parser.add_argument("--step", default="release", help="step id (default: release)")
    parser.add_argument("--json", action="store_true", help="print the step with its env as JSON")
    args = parser.parse_args(argv)
    try:
        step = workflow_step(args.workflow, args.step)
    except (WorkflowStepError, OSError, yaml.YAMLError) as e:
        print(f"workflow_command: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    print(json.dumps(step, indent=2) if args.json else step["run"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
