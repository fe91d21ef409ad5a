"""What every encoder is: the :class:`Teacher` protocol and the two kinds of text it encodes."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Literal, Protocol, Self, runtime_checkable

import numpy as np

__all__ = ["PromptedEncoder", "Teacher", "TextKind"]

TextKind = Literal["query", "document"]


@runtime_checkable
class Teacher(Protocol):
    """Anything that maps texts to vectors.

    Attributes:
        dim: Output dimension.
        fingerprint: Identifies weights and settings; a different value means different vectors.
        normalize: Whether the vectors are L2-normalised.
    """

    dim: int
    fingerprint: str
    normalize: bool

    def encode(self, texts: Sequence[str], kind: TextKind = "document") -> np.ndarray:
        """Encode texts into a float32 array of shape ``(len(texts), dim)``."""
        ...


class PromptedEncoder:
    """Mixin of an encoder that prepends a query and a document prompt, with ``with_prompts``.

    The class sets ``query_prompt``, ``document_prompt``, ``task_prompts`` and ``fingerprint``, and
    defines ``_fingerprint()`` over its prompts.
    """

    query_prompt: str
    document_prompt: str
    task_prompts: dict[str, str]
    fingerprint: str

    def _fingerprint(self) -> str:
        raise NotImplementedError

    def with_prompts(self, *, query_prompt: str | None = None, document_prompt: str | None = None) -> Self:
        """The same loaded model with other query/document prompts (and its own fingerprint).

        Evaluation uses it for a task whose resolved prompt differs from the plain ``query`` or
        ``document`` one; the model's weights are shared, not copied.
        """
        other = copy.copy(self)
        other.task_prompts = dict(self.task_prompts)
        if query_prompt is not None:
            other.query_prompt = query_prompt
        if document_prompt is not None:
            other.document_prompt = document_prompt
        other.fingerprint = other._fingerprint()
        return other
