"""What every encoder is: the :class:`Teacher` protocol and the two kinds of text it encodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

__all__ = ["Teacher", "TextKind"]

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
