"""Writing ``run_settings.jsonl`` beside the mteb results of an evaluation, as mteb's own cache would.

Evaluation runs mteb without a ``ResultCache``, so it writes the entries that
``ResultCache.save_to_cache`` would have written (the record and its check:
:mod:`leaf_hub.records.run_settings`); the leaderboard submission copies them into its tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leaf_hub.records.run_settings import RUN_SETTINGS_FILE, run_settings_entries

__all__ = ["write_run_settings"]


def write_run_settings(task_result: Any, folder: str | Path, encode_kwargs: dict[str, Any] | None = None) -> Path:
    """Add one result's entries to ``folder/run_settings.jsonl`` as mteb's own cache would.

    The versions are this environment's (mteb, torch, sentence-transformers, flash-attn,
    transformers), read as mteb reads them; entries for the same (task, split, subset) are
    replaced, with mteb's own merge.

    Args:
        task_result: The mteb ``TaskResult`` just written to ``folder``.
        folder: The folder of the results (``eval/mteb/<mode>/``).
        encode_kwargs: The encode arguments of the evaluation.

    Returns:
        The ``run_settings.jsonl`` path.
    """
    from mteb.cache.result_cache import _get_package_versions
    from mteb.results.task_result import _write_and_merge_keyed_json

    path = Path(folder) / RUN_SETTINGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_and_merge_keyed_json(path, run_settings_entries(task_result, encode_kwargs, _get_package_versions()))
    return path
