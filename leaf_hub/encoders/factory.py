"""The teacher a recipe's ``teacher.kind`` names, for training and for evaluation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leaf_hub.encoders.base import Teacher
from leaf_hub.encoders.callable import CallableTeacher
from leaf_hub.encoders.precomputed import PrecomputedTeacher
from leaf_hub.encoders.sentence_transformer import SentenceTransformerTeacher

if TYPE_CHECKING:
    from leaf_hub.recipe import TeacherSpec

__all__ = ["build_teacher", "evaluation_teacher"]


def evaluation_teacher(spec: TeacherSpec) -> tuple[Teacher | None, str | None]:
    """The teacher evaluation encodes new texts with, or ``(None, reason)`` when there is none.

    A ``callable`` teacher is called on the evaluation texts (through the same cache); a
    ``precomputed`` file only holds the training texts, so the teacher and asymmetric modes are
    skipped with the reason returned here.
    """
    if spec.kind == "precomputed":
        return None, (
            f"the teacher {spec.id} is a precomputed file of the training texts' vectors "
            "and cannot encode evaluation texts"
        )
    return build_teacher(spec), None


def build_teacher(spec: TeacherSpec, device: str | None = None) -> Teacher:
    """The teacher a recipe names, whatever its ``kind``.

    Args:
        spec: The recipe's teacher section.
        device: Torch device of a ``sentence-transformers`` teacher (ignored by the others).

    Returns:
        A :class:`SentenceTransformerTeacher`, :class:`PrecomputedTeacher` (file checked) or
        :class:`CallableTeacher`.

    Raises:
        TeacherFileError: If a precomputed file fails a check (one line, first offending row).
        TeacherError: If a callable cannot be imported.
    """
    if spec.kind == "precomputed":
        return PrecomputedTeacher.from_spec(spec)
    if spec.kind == "callable":
        return CallableTeacher.from_spec(spec)
    return SentenceTransformerTeacher.from_spec(spec, device=device)
