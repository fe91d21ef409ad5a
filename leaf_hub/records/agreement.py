"""leaf-hub's scores against stock mteb's on the same saved folder: the per-task rows and the check.

Two stages share it, so it lives here rather than in either:

* :mod:`leaf_hub.evaluation.stock` runs stock ``mteb.evaluate`` through mteb's own
  ``SentenceTransformerEncoderWrapper`` on a saved folder and compares with :func:`compare_scores`;
* :mod:`leaf_hub.leaderboard` is handed those stock scores (it imports no other stage) and refuses a
  submission with :func:`require_agreement` before it writes anything.

Example:
    >>> rows = compare_scores({"STSBenchmark": 0.82031}, {"STSBenchmark": 0.82030})
    >>> rows[0].agree, f"{rows[0].diff:.0e}"
    (True, '1e-05')
    >>> require_agreement(compare_scores({"STSBenchmark": 0.83}, {"STSBenchmark": 0.82}))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    leaf_hub.errors.ScoreMismatchError: STSBenchmark: leaf-hub scores 0.830000 but stock mteb scores 0.820000 ...
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict

from leaf_hub.errors import LeaderboardError, ScoreMismatchError

__all__ = ["MTEB_TOLERANCE", "ScoreAgreement", "compare_scores", "require_agreement"]

#: The largest absolute difference of a main score (a fraction, ``0.6451``) between leaf-hub and stock mteb.
MTEB_TOLERANCE = 1e-4


class ScoreAgreement(BaseModel):
    """One task's main score as leaf-hub reported it and as stock mteb computes it on the saved folder.

    Attributes:
        task: The mteb task name.
        leaf_hub: leaf-hub's main score (a fraction).
        mteb: Stock mteb's main score (a fraction).
        diff: ``leaf_hub - mteb``.
        tolerance: The largest ``|diff|`` that agrees.
        agree: ``|diff| <= tolerance`` (and both scores finite).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str
    leaf_hub: float
    mteb: float
    diff: float
    tolerance: float
    agree: bool


def compare_scores(
    leaf_hub_scores: Mapping[str, float], stock_scores: Mapping[str, float], tol: float = MTEB_TOLERANCE
) -> list[ScoreAgreement]:
    """Compare leaf-hub's main scores with stock mteb's, task by task (in ``leaf_hub_scores`` order).

    Args:
        leaf_hub_scores: Task -> leaf-hub's main score.
        stock_scores: Task -> stock mteb's main score on the same folder, data, split and prompts.
        tol: The largest absolute difference that agrees (default :data:`MTEB_TOLERANCE`).

    Returns:
        One :class:`ScoreAgreement` per task.

    Raises:
        LeaderboardError: If a task of ``leaf_hub_scores`` has no stock score (one line naming it).
    """
    rows = []
    for task, ours in leaf_hub_scores.items():
        if task not in stock_scores:
            raise LeaderboardError(f"{task}: stock mteb was not run on it; no score to compare leaf-hub's with")
        theirs = float(stock_scores[task])
        diff = float(ours) - theirs
        agree = math.isfinite(diff) and abs(diff) <= tol
        rows.append(ScoreAgreement(task=task, leaf_hub=float(ours), mteb=theirs, diff=diff, tolerance=tol, agree=agree))
    return rows


def require_agreement(rows: Iterable[ScoreAgreement]) -> None:
    """Refuse on the first row whose scores disagree.

    Raises:
        ScoreMismatchError: One line naming the task and both scores.
    """
    for row in rows:
        if not row.agree:
            raise ScoreMismatchError(
                f"{row.task}: leaf-hub scores {row.leaf_hub:.6f} but stock mteb scores {row.mteb:.6f} on the saved "
                f"folder (|diff| {abs(row.diff):.1e} > {row.tolerance:.0e}); the submission is refused: "
                "re-evaluate with `leaf-hub evaluate` or find what differs from stock mteb",
                task=row.task,
                leaf_hub=row.leaf_hub,
                mteb=row.mteb,
                tolerance=row.tolerance,
            )
