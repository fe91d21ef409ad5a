"""Recipe edits as a user makes them: ``section.key`` (or a top-level key) set to a value, ``None`` removes it."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


def with_changes(data: Mapping[str, Any], changes: Mapping[str, object], sep: str = ".") -> dict[str, Any]:
    """A deep copy of a recipe mapping with ``section<sep>key`` ``changes`` applied (``None`` removes the key).

    ``sep="__"`` lets the keys be keyword arguments (``training__max_steps=3``).
    """
    out = copy.deepcopy(dict(data))
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(sep)
        node = out
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return out


def edit_recipe_file(path: Path, **changes: object) -> Path:
    """Apply dotted-key ``changes`` to the recipe file at ``path`` in place."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump(with_changes(data, changes)), encoding="utf-8")
    return path
