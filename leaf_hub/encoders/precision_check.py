"""A teacher's precision for one run, checked: bf16 is kept only if its vectors match fp32's.

:func:`apply_teacher_precision` puts a ``sentence-transformers`` teacher in the precision the policy
(:func:`leaf_hub.precision.resolve_precision`) chose. For bf16 it first measures the cosine of the
teacher's bf16 vectors to its fp32 vectors on the held-out texts (both through the teacher cache,
each under its own fingerprint, so a rerun costs nothing) and falls back to fp32, with one log line,
when the mean is below :data:`BF16_MIN_MEAN_COSINE` (the rule, :func:`bf16_passes`, is fixed here).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leaf_hub.encoders.base import Teacher, TextKind
from leaf_hub.encoders.cache import EmbeddingCache, teacher_cache_root
from leaf_hub.encoders.sentence_transformer import SentenceTransformerTeacher

if TYPE_CHECKING:
    from leaf_hub.precision import Precision

logger = logging.getLogger(__name__)

__all__ = ["BF16_MIN_MEAN_COSINE", "apply_teacher_precision", "bf16_passes", "cosine_distribution"]

#: A teacher keeps bf16 only if its bf16 vectors' mean cosine to its fp32 vectors is at least this.
BF16_MIN_MEAN_COSINE = 0.999


def cosine_distribution(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Row-wise cosine of ``other`` to ``reference``: ``mean``, ``min``, ``p1`` (1st percentile) and ``n``."""
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(other, dtype=np.float64)
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return {
        "mean": float(cos.mean()),
        "min": float(cos.min()),
        "p1": float(np.percentile(cos, 1)),
        "n": int(len(cos)),
    }


def bf16_passes(cosines: dict[str, float], min_mean: float = BF16_MIN_MEAN_COSINE) -> bool:
    """The fixed rule: bf16 vectors are kept when their mean cosine to fp32's is ``>= min_mean``."""
    return cosines["mean"] >= min_mean


def _vectors(teacher: Teacher, pairs: Sequence[tuple[str, TextKind]], root_of: Callable[[str], Path]) -> np.ndarray:
    cache = EmbeddingCache(teacher, root_of(teacher.fingerprint))
    out = np.zeros((len(pairs), teacher.dim), dtype=np.float32)
    for kind in ("query", "document"):
        positions = [i for i, (_, k) in enumerate(pairs) if k == kind]
        if positions:
            out[positions] = cache.embed([pairs[i][0] for i in positions], kind=kind, progress=False)
    return out


def apply_teacher_precision(
    teacher: Teacher,
    precision: Precision,
    pairs: Sequence[tuple[str, TextKind]],
    *,
    cache_root: Callable[[str], Path] = teacher_cache_root,
    min_mean: float = BF16_MIN_MEAN_COSINE,
) -> dict[str, Any]:
    """Put ``teacher`` in the policy's precision (in place), checking bf16 against fp32 first.

    Args:
        teacher: The teacher, loaded in fp32. Only a :class:`SentenceTransformerTeacher` has a
            precision; a black-box teacher's vectors are whatever it returns (``external``).
        precision: What the policy resolved for the teacher's device.
        pairs: ``(text, kind)`` pairs of the check (the held-out texts).
        cache_root: Cache folder of a fingerprint (default :func:`teacher_cache_root`).
        min_mean: The rule's threshold (:data:`BF16_MIN_MEAN_COSINE`).

    Returns:
        The record of the teacher's precision: ``dtype`` used (``fp32``, ``bf16`` or ``external``),
        ``requested``, ``reason``, and for bf16 the ``check``: the cosine ``mean``, ``min``, ``p1``
        and ``n`` of bf16 to fp32 vectors, the threshold and whether bf16 was kept.
    """
    record: dict[str, Any] = {"requested": precision.requested, "reason": precision.reason, "check": None}
    if not isinstance(teacher, SentenceTransformerTeacher):
        return record | {"dtype": "external"}
    if precision.dtype == "fp32" or not pairs:
        teacher.to_precision("fp32")
        return record | {"dtype": "fp32"}
    teacher.to_precision("fp32")
    reference = _vectors(teacher, pairs, cache_root)
    teacher.to_precision("bf16")
    cosines = cosine_distribution(reference, _vectors(teacher, pairs, cache_root))
    kept = bf16_passes(cosines, min_mean)
    if not kept:
        logger.warning(
            "teacher %s: bf16 vectors' mean cosine to fp32 is %.5f < %s on %d held-out texts; using fp32",
            teacher.source,
            cosines["mean"],
            min_mean,
            cosines["n"],
        )
        teacher.to_precision("fp32")
    return record | {"dtype": teacher.precision, "check": cosines | {"min_mean": min_mean, "kept_bf16": kept}}
