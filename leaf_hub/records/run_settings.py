"""``run_settings.jsonl``: what each mteb result was run with, the record evaluation hands the leaderboard.

mteb's ``ResultCache.save_to_cache`` writes this file beside the ``<Task>.json`` results: one entry
per task and split, with the evaluated subsets, the versions of mteb, torch, sentence-transformers
and transformers, and the encode arguments. The results repository of the MTEB leaderboard needs
one entry for every (task, split, subset) of a submission, written by mteb above 2.0.0.

Two stages share it, so it lives here rather than in either:

* :mod:`leaf_hub.evaluation` runs mteb without a cache and writes the entries itself
  (:func:`leaf_hub.evaluation.run_settings.write_run_settings`, with this environment's versions);
* :mod:`leaf_hub.leaderboard` copies each submitted task's entries into its results tree (or, for an
  evaluation from before they were written, :func:`run_settings_entries` with the mteb version the
  result records) and checks the tree with :func:`check_run_settings` before it moves it into place.

Both read and expand the entries with mteb's own reader, imported when called (like every heavy
import in the package), so this module imports only :mod:`leaf_hub.errors`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from leaf_hub.errors import LeaderboardError

__all__ = ["MIN_MTEB_EXCLUSIVE", "RUN_SETTINGS_FILE", "check_run_settings", "run_settings_entries"]

#: The file's name, beside the ``<Task>.json`` results.
RUN_SETTINGS_FILE = "run_settings.jsonl"
#: The results repository refuses run settings written by mteb 2.0.0 or earlier.
MIN_MTEB_EXCLUSIVE = "2.0.0"


def run_settings_entries(
    task_result: Any, encode_kwargs: dict[str, Any] | None, versions: dict[str, str | None]
) -> list[dict[str, Any]]:
    """The entries mteb's ``ResultCache.save_to_cache`` writes for one result: one per split, with its subsets.

    Args:
        task_result: An mteb ``TaskResult`` (its ``task_name`` and ``scores`` are read).
        encode_kwargs: The encode arguments it ran with (``None``: not known).
        versions: Package name -> version (``{"mteb": ...}`` at least).

    Returns:
        The entries, as plain JSON values.
    """
    return [
        {
            "task": task_result.task_name,
            "splits": [split],
            "version": versions,
            "encode_kwargs": json.loads(json.dumps(encode_kwargs or {}, default=str)),
            "subsets": sorted({entry.get("hf_subset", "default") for entry in scores}),
        }
        for split, scores in task_result.scores.items()
    ]


def check_run_settings(revision_dir: str | Path, tasks: list[str]) -> dict[tuple[str, str, str], str]:
    """Check ``run_settings.jsonl`` covers every (task, split, subset) of the results, by mteb > 2.0.0.

    Read with mteb's own reader and entry expansion.

    Args:
        revision_dir: A folder of mteb results: ``<Task>.json`` files and their ``run_settings.jsonl``
            (an evaluation's ``eval/mteb/<mode>/``, or a submission's ``results/<model>/<revision>/``).
        tasks: The tasks whose every split and subset must have an entry.

    Returns:
        (task, split, subset) -> mteb version of its entry.

    Raises:
        LeaderboardError: If the file is missing, an evaluated subset has no entry, or an entry's
            mteb version is 2.0.0 or older (the results repository rejects those).
    """
    from mteb.results import TaskResult
    from mteb.results.task_result import _expand_run_settings_entry, _read_run_settings_from_file
    from packaging.version import InvalidVersion, Version

    folder = Path(revision_dir)
    path = folder / RUN_SETTINGS_FILE
    if not path.is_file():
        raise LeaderboardError(f"{path} is missing: the results repository needs one entry per task, split and subset")
    found: dict[tuple[str, str, str], str] = {}
    for entry in _read_run_settings_from_file(path):
        for scope, _, settings in _expand_run_settings_entry(entry):
            found[scope] = str((settings.get("version") or {}).get("mteb") or "")
    for scope, version in found.items():
        try:
            ok = Version(version) > Version(MIN_MTEB_EXCLUSIVE)
        except InvalidVersion:
            ok = False
        if not ok:
            raise LeaderboardError(
                f"{path}: {'/'.join(scope)} was run with mteb {version or '(none)'}; "
                f"the results repository needs mteb above {MIN_MTEB_EXCLUSIVE}"
            )
    for task in tasks:
        result = TaskResult.from_disk(folder / f"{task}.json")
        for split, scores in result.scores.items():
            for entry in scores:
                scope = (task, split, entry.get("hf_subset", "default"))
                if scope not in found:
                    raise LeaderboardError(f"{path} has no entry for {'/'.join(scope)}")
    return found
