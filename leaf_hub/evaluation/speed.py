"""Uncached encoding speed of the student against the teacher: the only source of a card's speed claim.

Evaluation wall times mix encoding with cache reads (teacher documents, STS sentences and student
vectors are all cached), so they say nothing about speed. :func:`time_models` instead calls each
model's own ``encode`` (no cache) on the same texts, in interleaved repeats (student, teacher,
teacher, student, ... so that a change of machine load hits both), and keeps each model's fastest
repeat. The machine's load average is recorded before and after, so a reader can tell a quiet
measurement from a busy one.

Example:
    >>> record = time_models({"student": student, "teacher": teacher}, texts)  # doctest: +SKIP
    >>> record.seconds["teacher"] / record.seconds["student"]  # doctest: +SKIP
    7.4
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import EvalError
from leaf_hub.records import MIN_REPEATS, SpeedRecord

if TYPE_CHECKING:
    from leaf_hub.encoders import Teacher, TextKind

__all__ = ["MIN_REPEATS", "speed_texts", "time_models"]


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - platforms without getloadavg
        return None


def _threads() -> int | None:
    try:
        import torch

        return int(torch.get_num_threads())
    except ImportError:  # pragma: no cover - torch is a dependency
        return None


def time_models(
    models: Mapping[str, Teacher],
    texts: Sequence[str],
    *,
    kind: TextKind = "query",
    repeats: int = MIN_REPEATS,
    source: str = "",
    batch_size: int | None = None,
) -> SpeedRecord:
    """Time each model's uncached ``encode`` on the same texts, interleaved, keeping the fastest repeat.

    Each model first encodes a few texts untimed (thread pools, first-call allocations). Then, per
    repeat, every model encodes all ``texts`` once; the order of the models is reversed on every
    other repeat.

    Args:
        models: Name -> model (``student``, ``teacher``; any :class:`~leaf_hub.encoders.Teacher`).
        texts: The texts every model encodes.
        kind: ``query`` or ``document`` (selects each model's prompt).
        repeats: Timed repeats per model; at least :data:`MIN_REPEATS`.
        source: What the texts are, for the record (``"SciFact test queries"``).
        batch_size: Batch size the models encode with, for the record.

    Returns:
        The :class:`~leaf_hub.records.evaluation.SpeedRecord`.

    Raises:
        EvalError: With fewer than two models, no texts, or fewer than :data:`MIN_REPEATS` repeats.
    """
    texts = list(texts)
    if len(models) < 2:
        raise EvalError("a speed comparison needs two models")
    if not texts:
        raise EvalError("a speed comparison needs texts")
    if repeats < MIN_REPEATS:
        raise EvalError(f"a speed comparison needs at least {MIN_REPEATS} repeats, got {repeats}")
    names = list(models)
    load_before = _load()
    for name in names:
        models[name].encode(texts[:8], kind)
    timings: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            tick = time.perf_counter()
            models[name].encode(texts, kind)
            timings[name].append(round(time.perf_counter() - tick, 4))
    return SpeedRecord(
        texts=len(texts),
        kind=kind,
        source=source,
        repeats=repeats,
        batch_size=batch_size,
        threads=_threads(),
        seconds={name: min(values) for name, values in timings.items()},
        all_seconds=timings,
        load_average_before=load_before,
        load_average_after=_load(),
    )


def speed_texts(task: Any, split: str, limit: int) -> tuple[list[str], str]:
    """Up to ``limit`` query-like texts of a loaded task: retrieval queries, STS first sentences, or its texts.

    Returns:
        The texts and a description of them for the record.

    Raises:
        EvalError: If the task holds none of those.
    """
    meta = task.metadata
    dataset = task.dataset if isinstance(task.dataset, dict) else {}
    default = dataset.get("default")
    if isinstance(default, dict) and isinstance(default.get(split), dict) and "queries" in default[split]:
        return list(default[split]["queries"]["text"])[:limit], f"{meta.name} {split} queries"
    data = dataset.get(split)
    names = getattr(data, "column_names", None) or []
    for column, what in (("sentence1", "first sentences"), ("text", "texts"), ("sentences", "texts")):
        if column in names:
            return [str(t) for t in data[column][:limit]], f"{meta.name} {split} {what}"
    raise EvalError(f"{meta.name}: no texts to time speed on; put a retrieval or STS task first")
