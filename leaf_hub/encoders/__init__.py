"""Encoders: whatever turns texts into float32 vectors, and the on-disk cache of those vectors.

A :class:`Teacher` is anything that turns texts into float32 vectors: a sentence-transformers
model (:class:`SentenceTransformerTeacher`, which also loads students in evaluation), a file of
vectors bought once from an API (:class:`PrecomputedTeacher`) or a black-box function
(:class:`CallableTeacher`); :func:`build_teacher` makes the one a recipe's ``teacher.kind`` names.
:class:`EmbeddingCache` keeps an encoder's vectors on disk under the root its caller gives
(a teacher's: :func:`teacher_cache_root`), so each text is encoded once.

Modules: :mod:`~leaf_hub.encoders.base` (the protocol), one module per kind
(:mod:`~leaf_hub.encoders.sentence_transformer`, :mod:`~leaf_hub.encoders.callable`,
:mod:`~leaf_hub.encoders.precomputed`), :mod:`~leaf_hub.encoders.factory` (from a recipe),
:mod:`~leaf_hub.encoders.cache` and :mod:`~leaf_hub.encoders.precision_check` (a teacher's bf16
checked against its fp32 vectors).

Example:
    >>> teacher = SentenceTransformerTeacher("/path/to/all-mpnet-base-v2")  # doctest: +SKIP
    >>> vectors = EmbeddingCache(teacher, teacher_cache_root(teacher.fingerprint)).embed(
    ...     ["a query", "another"], kind="query"
    ... )  # doctest: +SKIP
    >>> vectors.shape  # doctest: +SKIP
    (2, 768)
"""

from leaf_hub.encoders.base import Teacher, TextKind
from leaf_hub.encoders.cache import CacheStats, EmbeddingCache, teacher_cache_root, text_key
from leaf_hub.encoders.callable import CallableTeacher, import_function
from leaf_hub.encoders.factory import build_teacher, evaluation_teacher
from leaf_hub.encoders.precision_check import (
    BF16_MIN_MEAN_COSINE,
    apply_teacher_precision,
    bf16_passes,
    cosine_distribution,
)
from leaf_hub.encoders.precomputed import NORM_TOLERANCE, PrecomputedTeacher
from leaf_hub.encoders.sentence_transformer import SentenceTransformerTeacher

__all__ = [
    "BF16_MIN_MEAN_COSINE",
    "NORM_TOLERANCE",
    "CacheStats",
    "CallableTeacher",
    "EmbeddingCache",
    "PrecomputedTeacher",
    "SentenceTransformerTeacher",
    "Teacher",
    "TextKind",
    "apply_teacher_precision",
    "bf16_passes",
    "build_teacher",
    "cosine_distribution",
    "evaluation_teacher",
    "import_function",
    "teacher_cache_root",
    "text_key",
]
