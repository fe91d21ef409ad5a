"""Black-box teacher functions for the callable-teacher tests: a real model behind a plain function.

Imported by the tests through ``teacher.function: tests.encoders.real_functions:encode``, as a
recipe would import an API client.
"""

from __future__ import annotations

import functools

import numpy as np

#: Texts each function was called with, one entry per call (tests read and reset it).
CALLS: list[int] = []
#: How many more calls of :func:`flaky_encode` fail before it starts answering.
FAILURES_LEFT = [0]


@functools.cache
def _model():
    from sentence_transformers import SentenceTransformer

    from leaf_hub.assets import resolve_model

    return SentenceTransformer(resolve_model("sentence-transformers/all-MiniLM-L6-v2"), device="cpu")


def encode(texts: list[str]) -> list[list[float]]:
    """all-MiniLM-L6-v2 vectors of ``texts``, returned as plain lists like a JSON API would."""
    CALLS.append(len(texts))
    return _model().encode(texts, normalize_embeddings=True, convert_to_numpy=True).tolist()


def encode_with_kind(texts: list[str], kind: str = "document") -> np.ndarray:
    """Like :func:`encode`, but takes the text kind (queries get a prefix, as an API's input_type would)."""
    CALLS.append(len(texts))
    prefix = "query: " if kind == "query" else ""
    return _model().encode([prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True)


def flaky_encode(texts: list[str]) -> list[list[float]]:
    """Raise ``ConnectionError`` while :data:`FAILURES_LEFT` is positive, then answer like :func:`encode`."""
    if FAILURES_LEFT[0] > 0:
        FAILURES_LEFT[0] -= 1
        CALLS.append(0)
        raise ConnectionError("503 Service Unavailable")
    return encode(texts)


@functools.cache
def _teacher():
    from sentence_transformers import SentenceTransformer

    from leaf_hub.assets import resolve_model

    return SentenceTransformer(resolve_model("sentence-transformers/all-mpnet-base-v2"), device="cpu")


def encode_mpnet(texts: list[str]) -> np.ndarray:
    """all-mpnet-base-v2 vectors (the shipped recipes' teacher) behind a plain function."""
    CALLS.append(len(texts))
    return _teacher().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
