"""The Hub's evaluation-results files: ``.eval_results/<Task>.yaml``, one per full-split task score.

Spec: https://huggingface.co/docs/hub/eval-results (the field list:
https://github.com/huggingface/hub-docs/blob/main/eval_results.yaml). Each file of a model repo's
``.eval_results/`` folder is a YAML list of results; a result names a Hub dataset (``dataset.id``,
``dataset.task_id``, optional ``dataset.revision``) and a ``value``, with optional ``notes``. The
entries are made with huggingface_hub's own :class:`~huggingface_hub.EvalResultEntry` and
serialised with :func:`~huggingface_hub.eval_result_entries_to_yaml`.

:func:`eval_result_entries` builds them from the same :class:`~leaf_hub.records.EvalResults` the
card's ``model-index`` is built from, with the same rules, so the two never disagree:

* ``dataset.id`` is the dataset path mteb's metadata gives for the task
  (:func:`leaf_hub.task_meta.task_facts`), ``dataset.revision`` the revision the evaluation
  recorded (else the one mteb pins);
* ``dataset.task_id`` is mteb's task name (the spec's task ids are defined by a benchmark's
  ``eval.yaml``; mteb's datasets define none, and the task name is what names the task in mteb);
* ``value`` is the main score x 100, rounded to 4 places, as in the ``model-index`` and the card;
* ``notes`` names what the format has no field for: the split, mteb's main metric, the mteb
  version and, for a score read from a local copy of the data, that copy's sha256.

Only the repo's own model is scored here: ``student`` rows for the model repo, ``asymmetric``
rows for the ``-asym`` Router repo. Teacher and init scores stay in the ``model-index`` (where each
metric names its mode): the Hub aggregates ``.eval_results`` into benchmark leaderboards as this
model's scores.

**Sub-sampled scores are left out** (``subsampled: true`` in ``eval/results.json``: queries, pairs
or documents were dropped). A score over a reduced corpus is not comparable with a full-split one,
and a leaderboard ranks the value whatever its notes say, so a flag in ``notes`` would not keep it
from being read as a full-split result. They stay in the card and its ``model-index``, labelled
sub-sampled; the leaderboard submission (:mod:`leaf_hub.leaderboard`) leaves them out for the same
reason. A task mteb does not know has no Hub dataset id to name and is left out too.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from leaf_hub.errors import EvalError, ReleaseError
from leaf_hub.task_meta import task_facts

if TYPE_CHECKING:
    from huggingface_hub import EvalResultEntry

    from leaf_hub.records import EvalResults, ScoreRecord

logger = logging.getLogger(__name__)

__all__ = ["EVAL_RESULTS_FOLDER", "OWN_MODES", "eval_result_entries", "eval_results_yaml", "write_eval_results"]

#: The folder of a model repo the Hub reads evaluation results from (huggingface_hub's ``EVAL_RESULTS_FOLDER``).
EVAL_RESULTS_FOLDER = ".eval_results"

#: The score mode that is a repo's own model, per kind of staged repo.
OWN_MODES = {"model": "student", "asym": "asymmetric"}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _file_name(task: str) -> str:
    """``<task>.yaml`` with every character outside ``[A-Za-z0-9._-]`` replaced by ``_``."""
    return f"{_UNSAFE.sub('_', task).strip('.') or 'task'}.yaml"


def _notes(score: ScoreRecord, mteb_version: str) -> str:
    notes = f"mteb {score.task}, {score.split} split (full), main score {score.main_metric} x 100, mteb {mteb_version}"
    if score.mode == "asymmetric":
        notes += "; queries encoded by the student, documents by the teacher"
    if score.data_sha256:
        notes += f"; scored on a local copy of the dataset (sha256 {score.data_sha256})"
    return notes


def eval_result_entries(results: EvalResults, mode: str = "student") -> dict[str, EvalResultEntry]:
    """The ``.eval_results`` entries of one repo: repo path -> entry, one per full-split task score.

    Args:
        results: The evaluation's results (the record the card's ``model-index`` is built from).
        mode: Whose scores: ``student`` (the model repo) or ``asymmetric`` (the ``-asym`` repo).

    Returns:
        ``{".eval_results/<Task>.yaml": entry}`` in the results' task order; sub-sampled scores,
        other modes and tasks mteb does not know are left out (each logged).

    Raises:
        ReleaseError: If ``mode`` is not a repo's own mode, or two tasks map to one file name.

    Example:
        >>> from leaf_hub.records import load_results
        >>> entries = eval_result_entries(load_results("runs/leaf-ir/eval/results.json"))  # doctest: +SKIP
        >>> entries[".eval_results/SciFact.yaml"].dataset_id  # doctest: +SKIP
        'mteb/scifact'
    """
    from huggingface_hub import EvalResultEntry

    if mode not in OWN_MODES.values():
        raise ReleaseError(f".eval_results holds a repo's own scores: mode {mode!r} is not one of {OWN_MODES}")
    entries: dict[str, EvalResultEntry] = {}
    for score in results.scores:
        if score.mode != mode:
            continue
        if score.subsampled:
            logger.info("%s: %s is sub-sampled; left out of %s", mode, score.task, EVAL_RESULTS_FOLDER)
            continue
        try:
            facts = task_facts(score.task)
        except EvalError as e:
            logger.warning("%s: %s is left out of %s: %s", mode, score.task, EVAL_RESULTS_FOLDER, e)
            continue
        path = f"{EVAL_RESULTS_FOLDER}/{_file_name(score.task)}"
        if path in entries:
            raise ReleaseError(f"two {mode} scores would be written to {path} ({score.task} and another task)")
        entries[path] = EvalResultEntry(
            dataset_id=facts.dataset,
            task_id=score.task,
            dataset_revision=score.dataset_revision or facts.revision,
            value=round(score.main_score * 100, 4),
            notes=_notes(score, results.mteb_version),
        )
    return entries


def eval_results_yaml(entry: EvalResultEntry) -> str:
    """The text of one ``.eval_results`` file: a YAML list holding ``entry`` (huggingface_hub's serialisation)."""
    import yaml
    from huggingface_hub import eval_result_entries_to_yaml

    return yaml.safe_dump(eval_result_entries_to_yaml([entry]), sort_keys=False, allow_unicode=True, width=1000)


def write_eval_results(results: EvalResults, folder: str | Path, *, mode: str = "student") -> list[str]:
    """Write the ``.eval_results/*.yaml`` files of one repo into its staged ``folder``.

    Args:
        results: The evaluation's results.
        folder: The staged repo folder.
        mode: ``student`` (the model repo) or ``asymmetric`` (the ``-asym`` repo).

    Returns:
        The repo-relative paths written (none when every score is sub-sampled).

    Raises:
        ReleaseError: See :func:`eval_result_entries`.
    """
    folder = Path(folder)
    written = []
    for rel, entry in eval_result_entries(results, mode).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(eval_results_yaml(entry), encoding="utf-8")
        written.append(rel)
    return written
