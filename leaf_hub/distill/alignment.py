"""Held-out alignment: the cosine of each text's student vector to its teacher vector."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


logger = logging.getLogger(__name__)

__all__ = ["alignment_by_kind", "alignment_cosines", "gain_standard_error", "mean_alignment"]


def alignment_cosines(
    student: SentenceTransformer, texts: Sequence[str], targets: np.ndarray, batch_size: int = 64
) -> np.ndarray:
    """Cosine between the student's and the teacher's vector of each text, ``(len(texts),)``."""
    vectors = student.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    a = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    t = np.asarray(targets)
    b = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(axis=1)


def mean_alignment(
    student: SentenceTransformer, texts: Sequence[str], targets: np.ndarray, batch_size: int = 64
) -> float:
    """Mean cosine between the student's and the teacher's vectors of the same texts."""
    return float(alignment_cosines(student, texts, targets, batch_size).mean())


def gain_standard_error(before: np.ndarray, after: np.ndarray) -> float:
    """Standard error of the mean per-text alignment gain (paired: the same held-out texts)."""
    diff = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    return float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")


def alignment_by_kind(before: np.ndarray, after: np.ndarray, kinds: Sequence[str]) -> dict[str, dict[str, float]]:
    """Held-out alignment per text kind: ``{"query": {"n", "before", "after", "gain_se"}, "document": ...}``.

    Args:
        before: Per-text cosines before training (the initialisation's).
        after: The same texts' cosines after training.
        kinds: ``query`` or ``document`` of each held-out text.

    Returns:
        One entry per kind present, sorted by kind.
    """
    labels = np.asarray(list(kinds))
    if len(labels) != len(before) or len(labels) != len(after):
        raise ValueError(f"{len(labels)} kinds for {len(before)} / {len(after)} cosines")
    out: dict[str, dict[str, float]] = {}
    for kind in sorted(set(labels.tolist())):
        mask = labels == kind
        out[kind] = {
            "n": int(mask.sum()),
            "before": float(np.asarray(before)[mask].mean()),
            "after": float(np.asarray(after)[mask].mean()),
            "gain_se": gain_standard_error(np.asarray(before)[mask], np.asarray(after)[mask]),
        }
    return out


#: Written into each checkpoint once it is completely saved: size and sha256 of every file.
