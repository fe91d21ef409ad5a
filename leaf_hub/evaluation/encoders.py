"""mteb-compatible encoders over cached student and teacher embeddings.

* :class:`EmbeddingSource` is one model's texts -> vectors function. It goes through a
  :class:`~leaf_hub.teacher.TeacherCache` (on disk, keyed by the model's fingerprint and each
  text), so a second evaluation encodes nothing, and keeps what it served in memory, so the
  three modes and the sweep share one encoding per text.
* :class:`RoutedEncoder` implements mteb's ``EncoderProtocol``: mteb tells it whether it is
  encoding queries (``PromptType.query``) or documents (``PromptType.document``) and it routes
  the texts to the query source or the document source, each applying its own prompt for that
  kind. Same source on both sides = symmetric mode; student queries + teacher documents =
  asymmetric mode. Texts without a prompt type (STS sentences) are encoded as queries.
* :class:`CompressedEncoder` wraps a :class:`RoutedEncoder` and truncates (Matryoshka) and
  quantises (sentence-transformers' ``quantize_embeddings``) its vectors, so the sweep is scored
  by mteb's own evaluators.

Similarity is cosine throughout (``ModelMeta.similarity_fn_name``), as for the stock
sentence-transformers models. Binary vectors are scored as cosine between +-1 vectors, which
ranks exactly like Hamming distance.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from mteb.models import ModelMeta
from mteb.models.abs_encoder import AbsEncoder
from mteb.models.model_meta import ScoringFunction
from mteb.types import PromptType

from leaf_hub.errors import EvalError

if TYPE_CHECKING:
    from torch.utils.data import DataLoader

    from leaf_hub.teacher import TeacherCache, TextKind

logger = logging.getLogger(__name__)

__all__ = ["CompressedEncoder", "EmbeddingSource", "Precision", "RoutedEncoder", "compress"]

Precision = Literal["float32", "int8", "binary"]


class EmbeddingSource:
    """One model's embeddings, cached on disk and remembered in memory.

    Args:
        name: Short label (``student``/``teacher``), used in logs.
        cache: The on-disk cache wrapping the model.
        progress: Show the cache's progress bar while encoding.

    Attributes:
        dim: Embedding dimension.
        encode_seconds: Time spent in the cache (encoding or reading), per kind.
        disk_hits: Texts served from the on-disk cache, per kind.
    """

    def __init__(self, name: str, cache: TeacherCache, *, progress: bool = True) -> None:
        self.name = name
        self.cache = cache
        self.progress = progress
        self.dim = int(cache.teacher.dim)
        self.fingerprint = str(cache.teacher.fingerprint)
        self.encode_seconds: dict[str, float] = {"query": 0.0, "document": 0.0}
        self.disk_hits: dict[str, int] = {"query": 0, "document": 0}
        self._memo: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        """Return float32 vectors of ``texts`` encoded as ``kind`` (``query``/``document``)."""
        texts = list(texts)
        digest = hashlib.sha256(kind.encode())
        for text in texts:
            digest.update(b"\0" + text.encode())
        key = digest.hexdigest()
        if key not in self._memo:
            start = time.perf_counter()
            hits_before = self.cache.stats.hits
            vectors = np.array(self.cache.embed(texts, kind=kind, progress=self.progress), dtype=np.float32)
            self.disk_hits[kind] += self.cache.stats.hits - hits_before
            self.encode_seconds[kind] += time.perf_counter() - start
            self._memo[key] = vectors
        return self._memo[key]


def _texts(inputs: DataLoader[Any]) -> list[str]:
    return [text for batch in inputs for text in batch["text"]]


def _kind(prompt_type: PromptType | None) -> TextKind:
    return "document" if prompt_type == PromptType.document else "query"


class RoutedEncoder(AbsEncoder):
    """An mteb encoder that sends queries to one source and documents to another.

    Args:
        query_source: Encodes queries (and STS sentences, which have no prompt type).
        document_source: Encodes documents.
        name: Model name recorded by mteb (``org/name``).
        revision: Revision recorded by mteb (e.g. the weights fingerprint).

    Raises:
        EvalError: If the two sources have different dimensions.

    Example:
        >>> encoder = RoutedEncoder(student, teacher, name="leaf/asymmetric")  # doctest: +SKIP
        >>> mteb.evaluate(encoder, tasks, cache=None)  # doctest: +SKIP
    """

    def __init__(
        self,
        query_source: EmbeddingSource,
        document_source: EmbeddingSource,
        *,
        name: str,
        revision: str | None = None,
    ) -> None:
        if query_source.dim != document_source.dim:
            raise EvalError(
                f"asymmetric evaluation needs equal dimensions: {query_source.name} gives {query_source.dim}, "
                f"{document_source.name} gives {document_source.dim}"
            )
        self.query_source = query_source
        self.document_source = document_source
        self.dim = query_source.dim
        self.mteb_model_meta = ModelMeta.create_empty(
            overwrites={
                "name": name,
                "revision": revision,
                "embed_dim": self.dim,
                "similarity_fn_name": ScoringFunction.COSINE,
                "framework": ["Sentence Transformers"],
            }
        )

    def source_for(self, prompt_type: PromptType | None) -> EmbeddingSource:
        """The source that encodes texts of this prompt type."""
        return self.document_source if prompt_type == PromptType.document else self.query_source

    def encode(
        self,
        inputs: DataLoader[Any],
        *,
        task_metadata: Any,
        hf_split: str,
        hf_subset: str,
        prompt_type: PromptType | None = None,
        **kwargs: Any,
    ) -> np.ndarray:
        """Encode the texts of an mteb dataloader with the source for ``prompt_type``."""
        return self.source_for(prompt_type).embed(_texts(inputs), _kind(prompt_type))


def compress(
    embeddings: np.ndarray,
    dim: int,
    precision: Precision,
    calibration: np.ndarray | None = None,
) -> np.ndarray:
    """Truncate to the first ``dim`` dimensions and quantise, returning float32 for scoring.

    Args:
        embeddings: Full-precision vectors, ``(n, full_dim)``.
        dim: Matryoshka dimension kept (the leading ``dim`` coordinates).
        precision: ``float32`` (no quantisation), ``int8`` (sentence-transformers' per-dimension
            min/max buckets, from ``calibration``) or ``binary`` (sign bits, returned as +-1).
        calibration: Full-precision vectors whose per-dimension ranges calibrate int8 (the corpus).

    Returns:
        ``(n, dim)`` float32 array holding the quantised values.

    Raises:
        EvalError: On an unknown precision or ``dim`` larger than the vectors.
    """
    from sentence_transformers.quantization import quantize_embeddings

    if dim > embeddings.shape[1]:
        raise EvalError(f"cannot truncate {embeddings.shape[1]}-d vectors to {dim} dimensions")
    x = np.ascontiguousarray(embeddings[:, :dim], dtype=np.float32)
    if precision == "float32":
        return x
    if precision == "int8":
        cal = None if calibration is None else np.ascontiguousarray(calibration[:, :dim], dtype=np.float32)
        return np.asarray(quantize_embeddings(x, precision="int8", calibration_embeddings=cal), dtype=np.float32)
    if precision == "binary":
        packed = np.asarray(quantize_embeddings(x, precision="ubinary"))
        bits = np.unpackbits(packed, axis=-1)[:, :dim]
        return bits.astype(np.float32) * 2.0 - 1.0
    raise EvalError(f"unknown precision {precision!r}; use float32, int8 or binary")


class CompressedEncoder(AbsEncoder):
    """A :class:`RoutedEncoder` whose vectors are truncated and quantised before scoring.

    Args:
        base: The full-precision encoder (its sources are cached, so this re-encodes nothing).
        dim: Matryoshka dimension.
        precision: ``float32``, ``int8`` or ``binary``.
        calibration: Full-precision vectors that calibrate int8 ranges (the task's corpus, or its
            sentences for STS); queries are quantised with the same ranges.
    """

    def __init__(
        self,
        base: RoutedEncoder,
        *,
        dim: int,
        precision: Precision,
        calibration: np.ndarray | None = None,
    ) -> None:
        self.base = base
        self.dim = dim
        self.precision = precision
        self.calibration = calibration
        meta = base.mteb_model_meta
        assert meta is not None
        self.mteb_model_meta = meta.model_copy(
            update={"embed_dim": dim, "experiment_kwargs": {"dim": dim, "precision": precision}}
        )

    def encode(
        self,
        inputs: DataLoader[Any],
        *,
        task_metadata: Any,
        hf_split: str,
        hf_subset: str,
        prompt_type: PromptType | None = None,
        **kwargs: Any,
    ) -> np.ndarray:
        """Encode with the base encoder, then truncate and quantise."""
        full = self.base.encode(
            inputs, task_metadata=task_metadata, hf_split=hf_split, hf_subset=hf_subset, prompt_type=prompt_type
        )
        return compress(full, self.dim, self.precision, self.calibration)
