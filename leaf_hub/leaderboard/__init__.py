"""MTEB leaderboard submission of a published run: one concept per module.

* :mod:`~leaf_hub.leaderboard.meta`: mteb's ``ModelMeta`` for the published model (the registry entry
  in ``mteb/models/model_implementations``) and its Python source;
* :mod:`~leaf_hub.leaderboard.submission`: which results may be submitted, the results tree in mteb's
  ``ResultCache`` layout, and its validation with mteb's own loaders;
* :mod:`~leaf_hub.leaderboard.pull_request`: the pull request to ``embeddings-benchmark/results``
  (folder + ``git format-patch``, or opened with ``gh``) and its validation.

The stage is given the ``(Recipe, RunFolder)`` pair of a published run (by ``leaf-hub leaderboard``)
and imports no other stage: the ``run_settings.jsonl`` entries that evaluation wrote reach it as
the record :mod:`leaf_hub.records.run_settings`. Importing this package does not import mteb.

Example:
    >>> from leaf_hub.leaderboard import build_submission, write_pull_request
    >>> from leaf_hub.run_folder import RunFolder
    >>> run = RunFolder("runs/leaf-ir")  # doctest: +SKIP
    >>> pr = write_pull_request(build_submission(run.load_recipe(), run))  # doctest: +SKIP
"""

from __future__ import annotations

from leaf_hub.leaderboard.meta import build_model_meta, card_training_data, model_meta_source
from leaf_hub.leaderboard.pull_request import (
    PullRequest,
    pull_request_report,
    validate_pull_request,
    write_pull_request,
)
from leaf_hub.leaderboard.submission import Submission, build_submission, validate_submission, write_submission

__all__ = [
    "PullRequest",
    "Submission",
    "build_model_meta",
    "build_submission",
    "card_training_data",
    "model_meta_source",
    "pull_request_report",
    "validate_pull_request",
    "validate_submission",
    "write_pull_request",
    "write_submission",
]
