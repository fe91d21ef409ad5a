#!/usr/bin/env python3
"""Resolve which recipe and tag a release workflow run publishes, and on what runner; print them for ``$GITHUB_OUTPUT``.

Reads the event from the environment (release.yml passes every value through ``env:``, never
through ``${{ }}`` inside the script):

- ``EVENT_NAME``: ``push`` (a tag) or ``workflow_dispatch``.
- ``REF_NAME``: the pushed tag: ``v<version>`` releases ``DEFAULT_RECIPE``; ``v<version>+<recipe>``
  (semver build metadata) releases ``<recipe>``. The Hub tag is ``v<version>`` in both cases.
- ``INPUT_RECIPE`` / ``INPUT_TAG``: the dispatch inputs (empty tag: ``v<recipe version>``).
- ``DEFAULT_RECIPE``: recipe for plain version tags (repository variable, default ``leaf-ir``).
- ``RUNNER_DEVICE``: ``gpu`` or ``cpu``, the kind of runner this run gets (dispatch input ``runner``,
  else the repository variable ``LEAF_HUB_RELEASE_RUNNER``, else ``cpu``).
- ``GPU_RUNNER`` / ``CPU_RUNNER``: the runner label (or a JSON list of labels) of each kind
  (repository variables ``LEAF_HUB_GPU_RUNNER``, no default, and ``LEAF_HUB_CPU_RUNNER``, default
  ``ubuntu-latest``).

``--recipe NAME`` skips the event (tag ``v<recipe version>``): the cache workflow uses it.

Prints ``recipe=``, ``tag=``, ``name=``, ``version=``, ``run_dir=``, ``device=``, ``runs_on=`` (JSON, for
``runs-on: ${{ fromJSON(...) }}``) and ``timeout_minutes=`` (the recipe's ``compute.minutes``) lines.
Each of these is a one-line error (exit 2) before anything is installed: a tag that differs from the
recipe's version, an unknown recipe, a recipe without ``compute``, a recipe whose ``compute.device``
is not the runner's, a GPU run with no GPU runner configured, or a time limit above what a
GitHub-hosted runner allows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from leaf_hub.errors import LeafHubError, ReleaseError  # noqa: E402
from leaf_hub.recipe import Recipe, find_recipe, load_recipe  # noqa: E402

_TAG = re.compile(r"^v(?P<version>\d+\.\d+\.\d+(?:[.-]?[A-Za-z0-9.]+)?)(?:\+(?P<recipe>[A-Za-z0-9][A-Za-z0-9._-]*))?$")
_SAFE = re.compile(r"^[A-Za-z0-9._/+-]+$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
#: Labels of GitHub-hosted runners, whose jobs stop after 6 hours whatever timeout-minutes says.
_HOSTED = re.compile(r"^(ubuntu|windows|macos)-[A-Za-z0-9._-]+$")
HOSTED_MAX_MINUTES = 360
DEVICES = ("gpu", "cpu")


def _recipe_and_tag(env: dict[str, str]) -> tuple[str, str]:
    event = env.get("EVENT_NAME", "")
    if event == "push":
        ref = env.get("REF_NAME", "")
        match = _TAG.match(ref)
        if not match:
            raise ReleaseError(f"tag '{ref}' is not v<version> or v<version>+<recipe>")
        return match["recipe"] or env.get("DEFAULT_RECIPE") or "leaf-ir", f"v{match['version']}"
    if event == "workflow_dispatch":
        recipe_name = env.get("INPUT_RECIPE", "").strip()
        if not recipe_name:
            raise ReleaseError("workflow_dispatch input 'recipe' is empty")
        return recipe_name, env.get("INPUT_TAG", "").strip()
    raise ReleaseError(f"unsupported event '{event}' (expected push of a v* tag or workflow_dispatch)")


def runner_labels(value: str, variable: str) -> list[str]:
    """Parse a runner variable: one label (``ubuntu-latest``) or a JSON list (``["self-hosted", "gpu"]``).

    Raises:
        ReleaseError: If it is empty, not a label, or not a list of labels.
    """
    value = value.strip()
    if not value:
        raise ReleaseError(f"{variable} is empty")
    if value.startswith("["):
        try:
            labels = json.loads(value)
        except ValueError:
            raise ReleaseError(f"{variable} is not a JSON list of runner labels: {value[:80]!r}") from None
    else:
        labels = [value]
    if not labels or not all(isinstance(label, str) and _LABEL.match(label) for label in labels):
        raise ReleaseError(f"{variable} must be a runner label or a JSON list of labels, got {value[:80]!r}")
    return labels


def runner_for(recipe: Recipe, env: dict[str, str]) -> dict[str, str]:
    """The ``device``, ``runs_on`` and ``timeout_minutes`` of a release of ``recipe`` on the runner ``env`` names.

    Raises:
        ReleaseError: If the recipe declares no compute, its device is not the runner's, the runner
            of that kind is not configured, or the time limit is above a hosted runner's.
    """
    device = (env.get("RUNNER_DEVICE") or "cpu").strip().lower()
    if device not in DEVICES:
        raise ReleaseError(f"runner '{device}' is not gpu or cpu (dispatch input runner / LEAF_HUB_RELEASE_RUNNER)")
    compute = recipe.compute
    if compute is None:
        raise ReleaseError(
            f"recipe {recipe.name} declares no compute: add 'compute: {{device: gpu|cpu, minutes: N}}' to release it"
        )
    if compute.device != device:
        raise ReleaseError(
            f"recipe {recipe.name} needs a {compute.device} runner (compute.device) but this run has a {device} "
            f"runner: dispatch with runner={compute.device} or set LEAF_HUB_RELEASE_RUNNER={compute.device}"
        )
    if device == "gpu":
        if not env.get("GPU_RUNNER", "").strip():
            raise ReleaseError(
                f"recipe {recipe.name} needs a GPU runner and none is configured: set the repository variable "
                "LEAF_HUB_GPU_RUNNER to the label (or JSON list of labels) of a GPU self-hosted runner"
            )
        labels = runner_labels(env["GPU_RUNNER"], "LEAF_HUB_GPU_RUNNER")
    else:
        labels = runner_labels(env.get("CPU_RUNNER") or "ubuntu-latest", "LEAF_HUB_CPU_RUNNER")
    hosted = len(labels) == 1 and _HOSTED.match(labels[0])
    if hosted and compute.minutes > HOSTED_MAX_MINUTES:
        raise ReleaseError(
            f"recipe {recipe.name} asks for {compute.minutes} minutes (compute.minutes) but GitHub-hosted runner "
            f"{labels[0]} stops a job after {HOSTED_MAX_MINUTES}"
        )
    runs_on = labels[0] if len(labels) == 1 else labels
    return {
        "device": device,
        "runs_on": json.dumps(runs_on, separators=(",", ":")),
        "timeout_minutes": str(compute.minutes),
    }


def resolve(env: dict[str, str], recipe_name: str | None = None) -> dict[str, str]:
    """Return the release parameters for an event (or the named recipe) described by ``env``.

    Args:
        env: The environment (see the module docstring).
        recipe_name: Release this recipe at ``v<its version>`` whatever the event (the cache workflow).

    Raises:
        ReleaseError: On a malformed tag, a tag that does not match the recipe's version, or a
            runner that does not match the recipe's ``compute``.
        RecipeError: If the recipe does not exist or is invalid.
    """
    name, tag = (recipe_name, "") if recipe_name else _recipe_and_tag(env)
    path = find_recipe(name)
    recipe = load_recipe(path)
    tag = tag or f"v{recipe.version}"
    if tag != f"v{recipe.version}":
        raise ReleaseError(
            f"tag {tag} does not match recipe {recipe.name} version {recipe.version} (expected v{recipe.version})"
        )
    params = {
        "recipe": path.as_posix(),
        "tag": tag,
        "name": recipe.name,
        "version": recipe.version,
        "run_dir": recipe.run_dir.as_posix(),
    }
    for key, value in params.items():
        if not _SAFE.match(value):
            raise ReleaseError(f"release parameter {key}='{value}' has characters outside [A-Za-z0-9._/+-]")
    return {**params, **runner_for(recipe, env)}


def main(argv: list[str] | None = None) -> int:
    """Print ``key=value`` lines, or a one-line error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", help="resolve this recipe (tag v<its version>) instead of the event's")
    args = parser.parse_args(argv)
    try:
        params = resolve(dict(os.environ), args.recipe)
    except LeafHubError as e:
        print(f"release: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    for key, value in params.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
