"""Typed records the stages hand each other: the ground floor of the package.

Each record is plain data with its own JSON form; :mod:`leaf_hub.run_folder` decides where it lives
on disk. Of leaf_hub, nothing here imports anything but :mod:`leaf_hub.errors`
(``tests/test_layering.py``); no heavy library is imported at module level (the run-settings check
reads mteb's own format with mteb, imported when it is called).

* :mod:`~leaf_hub.records.distill`: :class:`DistillReport` (``metrics.json``);
* :mod:`~leaf_hub.records.evaluation`: :class:`EvalResults` and its rows (``eval/results.json``);
* :mod:`~leaf_hub.records.release`: :class:`ReleaseManifest`, :class:`FileEntry`,
  :class:`StageRecord`, :class:`ReleaseSummary`;
* :mod:`~leaf_hub.records.run_settings`: ``run_settings.jsonl``, written by evaluation and checked by
  the leaderboard (its entries and its check).
* :mod:`~leaf_hub.records.agreement`: leaf-hub's scores against stock mteb's on the same saved folder
  (:class:`ScoreAgreement` rows, computed by evaluation, required by the leaderboard).
"""

from __future__ import annotations

from leaf_hub.records.distill import DistillReport
from leaf_hub.records.evaluation import (
    MIN_REPEATS,
    SCHEMA_VERSION,
    EvalResults,
    ScoreRecord,
    SpeedRecord,
    SweepRecord,
    load_results,
)
from leaf_hub.records.release import FileEntry, ReleaseManifest, ReleaseSummary, StageRecord

__all__ = [
    "MIN_REPEATS",
    "SCHEMA_VERSION",
    "DistillReport",
    "EvalResults",
    "FileEntry",
    "ReleaseManifest",
    "ReleaseSummary",
    "ScoreRecord",
    "SpeedRecord",
    "StageRecord",
    "SweepRecord",
    "load_results",
]
