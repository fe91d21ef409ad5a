"""Scores of other models a card compares with: one row per (model, task), naming where it was read.

A :class:`PeerScore` is plain data. The evaluation stage reads them from mteb result files
(:func:`leaf_hub.evaluation.peers.peer_scores`: a local ``results/`` folder offline, mteb's results
repository online); the card shows them in its "Compared with" table beside this model's own score,
with each row's source and split, and says when a row is not comparable (another split, or this
model's score sub-sampled).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["PeerScore"]


@dataclass(frozen=True)
class PeerScore:
    """One model's main score on one task, as a result file recorded it.

    Attributes:
        model: The model's name as its results name it (``org/name``).
        task: The mteb task name.
        split: The split the score is of (``test``).
        main_score: The task's main score (a fraction, as mteb stores it).
        source: Where the score was read: a path, ``"mteb results repository"`` or this release's own
            evaluation.
        revision: The model revision of the results folder, when it names one.
        mteb_version: The mteb version that wrote the result file, when it records one.
        subsampled: Whether the score is of a sub-sampled split (``None``: the file does not say; mteb's
            result files do not record a sub-sample, so only leaf-hub's own evaluation can say ``True``).
    """

    model: str
    task: str
    split: str
    main_score: float
    source: str
    revision: str | None = None
    mteb_version: str | None = None
    subsampled: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the field names)."""
        return asdict(self)
