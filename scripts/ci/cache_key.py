#!/usr/bin/env python3
"""Print the actions/cache key of a recipe's teacher vectors and token caches, for ``$GITHUB_OUTPUT``.

The cached folders are :data:`CACHE_DIRS` under ``$LEAF_HUB_HOME`` (the teacher cache of
:class:`leaf_hub.encoders.EmbeddingCache`, training and evaluation alike, and the token caches beside
it). The key is::

    leaf-hub-cache-v<FORMAT>-<teacher>-<data>

- ``<teacher>``: sha256 of the recipe's ``teacher`` section (model id, revision, prompts,
  normalisation, sequence length, ...), first 16 hex digits;
- ``<data>``: sha256 over the student's tokenizer fields (token caches depend on them), the
  ``data`` and ``evaluation`` sections, and the bytes of every file they read: each training
  source and each evaluation task's data folder. First 16 hex digits.

Entries inside the cache are keyed by text and by the teacher's weight fingerprint, so an older
cache of the same teacher (``restore_prefix``, used as ``restore-keys``) is still correct, only
incomplete. Reads files only; imports no torch.

Prints ``key=``, ``restore_prefix=``, ``teacher=`` and ``data=`` lines; a missing recipe or data
file is a one-line error (exit 2).

Usage: python scripts/ci/cache_key.py RECIPE [--data DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from leaf_hub.assets import SHIPPED_DATA, data_root, resolve_data_file  # noqa: E402
from leaf_hub.errors import AssetError, LeafHubError  # noqa: E402
from leaf_hub.recipe import Recipe, load_recipe  # noqa: E402

#: Bump when the layout of the cached folders changes: old entries are then never restored.
CACHE_FORMAT = 1
#: Folders under ``$LEAF_HUB_HOME`` that the workflows save and restore (release.yml, cache.yml).
CACHE_DIRS = ("teacher_cache", "token_cache")
_STUDENT_TOKENIZER = ("id", "revision", "path", "source", "max_seq_length")


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_files(recipe: Recipe, root: Path | None = None) -> dict[str, str]:
    """sha256 of every file the recipe's training and evaluation read (``path`` or ``task:path``).

    Raises:
        AssetError: If a training source or an evaluation task's folder is missing.
    """
    base = data_root(root if root is not None else recipe.data.root)
    files: dict[str, str] = {}
    for source in recipe.data.sources:
        path = resolve_data_file(source.path, base)
        files[source.path] = _file_digest(path)
    local = {**SHIPPED_DATA, **(getattr(recipe.evaluation, "local", None) or {})}
    for task in recipe.evaluation.tasks:
        if task not in local:
            continue  # read by mteb from the Hub: its name (in the evaluation section) is all there is to key
        folder = Path(local[task]) if Path(local[task]).is_absolute() else base / local[task]
        if not folder.is_dir():
            raise AssetError(f"evaluation data of {task} not found: {folder}")
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            files[f"{task}:{path.relative_to(folder).as_posix()}"] = _file_digest(path)
    return files


def cache_key(recipe: Recipe, root: Path | None = None) -> dict[str, str]:
    """Return ``key``, ``restore_prefix``, ``teacher`` and ``data`` for ``recipe`` (see the module docstring)."""
    teacher = recipe.fingerprint("teacher")[:16]
    student = recipe.student.model_dump(mode="json")
    inputs = {
        "student_tokenizer": {k: student.get(k) for k in _STUDENT_TOKENIZER},
        "data": recipe.model_dump(mode="json")["data"],
        "evaluation": recipe.model_dump(mode="json")["evaluation"],
        "files": data_files(recipe, root),
    }
    data = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    prefix = f"leaf-hub-cache-v{CACHE_FORMAT}-{teacher}-"
    return {"key": prefix + data, "restore_prefix": prefix, "teacher": teacher, "data": data}


def main(argv: list[str] | None = None) -> int:
    """Print ``key=value`` lines, or a one-line error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="recipe YAML path or shipped name")
    parser.add_argument(
        "--data", type=Path, help="data folder (default: the recipe's, $LEAF_HUB_DATA or ../shared/data)"
    )
    args = parser.parse_args(argv)
    try:
        values = cache_key(load_recipe(args.recipe), args.data)
    except LeafHubError as e:
        print(f"cache_key: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    for name, value in values.items():
        print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
