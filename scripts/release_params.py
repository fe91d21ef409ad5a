#!/usr/bin/env python3
"""Resolve which recipe and tag a release workflow run publishes; print them for ``$GITHUB_OUTPUT``.

Reads the event from the environment (release.yml passes every value through ``env:``, never
through ``${{ }}`` inside the script):

- ``EVENT_NAME``: ``push`` (a tag) or ``workflow_dispatch``.
- ``REF_NAME``: the pushed tag: ``v<version>`` releases ``DEFAULT_RECIPE``; ``v<version>+<recipe>``
  (semver build metadata) releases ``<recipe>``. The Hub tag is ``v<version>`` in both cases.
- ``INPUT_RECIPE`` / ``INPUT_TAG``: the dispatch inputs (empty tag: ``v<recipe version>``).
- ``DEFAULT_RECIPE``: recipe for plain version tags (repository variable, default ``leaf-ir``).

Prints ``recipe=``, ``tag=``, ``name=``, ``version=``, ``run_dir=`` lines. A tag that differs from the
recipe's version, or an unknown recipe, is a one-line error (exit 2) before anything is installed.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leaf_hub.errors import LeafHubError, ReleaseError  # noqa: E402
from leaf_hub.recipe import find_recipe, load_recipe  # noqa: E402

_TAG = re.compile(r"^v(?P<version>\d+\.\d+\.\d+(?:[.-]?[A-Za-z0-9.]+)?)(?:\+(?P<recipe>[A-Za-z0-9][A-Za-z0-9._-]*))?$")
_SAFE = re.compile(r"^[A-Za-z0-9._/+-]+$")


def resolve(env: dict[str, str]) -> dict[str, str]:
    """Return the release parameters for an event described by ``env``.

    Raises:
        ReleaseError: On a malformed tag, or a tag that does not match the recipe's version.
        RecipeError: If the recipe does not exist or is invalid.
    """
    event = env.get("EVENT_NAME", "")
    if event == "push":
        ref = env.get("REF_NAME", "")
        match = _TAG.match(ref)
        if not match:
            raise ReleaseError(f"tag '{ref}' is not v<version> or v<version>+<recipe>")
        recipe_name = match["recipe"] or env.get("DEFAULT_RECIPE") or "leaf-ir"
        tag = f"v{match['version']}"
    elif event == "workflow_dispatch":
        recipe_name = env.get("INPUT_RECIPE", "").strip()
        if not recipe_name:
            raise ReleaseError("workflow_dispatch input 'recipe' is empty")
        tag = env.get("INPUT_TAG", "").strip()
    else:
        raise ReleaseError(f"unsupported event '{event}' (expected push of a v* tag or workflow_dispatch)")
    path = find_recipe(recipe_name)
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
    return params


def main() -> int:
    """Print ``key=value`` lines, or a one-line error."""
    try:
        params = resolve(dict(os.environ))
    except LeafHubError as e:
        print(f"release: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    for key, value in params.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
