"""mteb-compatible encoders over cached student and teacher embeddings.

* :class:`EmbeddingSource` is one model's texts -> vectors function. It goes through a
  :class:`~leaf_hub.encoders.EmbeddingCache` (on disk, keyed by the model's fingerprint and each
  text), so a second evaluation encodes nothing, and keeps what it served in memory, so the
  three modes and the sweep share one encoding per text.
* :class:`RoutedEncoder` implements mteb's ``EncoderProtocol``: mteb tells it whether it is
  encoding queries (``PromptType.query``) or documents (``PromptType.document``) and it routes
  the texts to the query source or the document source. Same source on both sides = symmetric
  mode; student queries + teacher documents = asymmetric mode. Texts without a prompt type
  (STS sentences) go to the query source.
* Each source picks its prompt for a task the way stock mteb picks one from a
  sentence-transformers model's ``prompts`` (:func:`mteb.models.abs_encoder.get_prompt`:
  ``SciFact-query``, then ``SciFact``, ``Retrieval-query``, ``Retrieval``, ``query``), so the
  scores here are the scores stock mteb gives the saved model. STS sentences, which have no
  prompt type, get a prompt only from a task-name or task-type key.
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

    from leaf_hub.encoders import EmbeddingCache, TextKind

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
        prompts: The model's prompts (``query``, ``document`` and per-task ones), read from the
            model (``teacher.prompts``; ``{}`` for a black-box teacher).
        encode_seconds: Time spent in the cache (encoding or reading), per kind.
        disk_hits: Texts served from the on-disk cache, per kind.
    """

    def __init__(self, name: str, cache: EmbeddingCache, *, progress: bool = True) -> None:
        self.name = name
        self.cache = cache
        self.progress = progress
        self.dim = int(cache.encoder.dim)
        self.fingerprint = str(cache.encoder.fingerprint)
        self.prompts: dict[str, str] = dict(getattr(cache.encoder, "prompts", {}) or {})
        self.encode_seconds: dict[str, float] = {"query": 0.0, "document": 0.0}
        self.disk_hits: dict[str, int] = {"query": 0, "document": 0}
        self._memo: dict[str, np.ndarray] = {}
        self._prompted: dict[tuple[str, str], EmbeddingCache] = {}

    def prompt_for(self, task_metadata: Any, prompt_type: PromptType | None) -> str:
        """The prompt stock mteb would use with this model for the task and prompt type (``""``: none)."""
        from mteb.models.abs_encoder import get_prompt

        return get_prompt(self.prompts or None, task_metadata, prompt_type) or ""

    def _cache_for(self, kind: TextKind, prompt: str | None) -> EmbeddingCache:
        teacher = self.cache.encoder
        default = str(getattr(teacher, f"{kind}_prompt", ""))
        if prompt is None or prompt == default:
            return self.cache
        if (kind, prompt) not in self._prompted:
            if not hasattr(teacher, "with_prompts"):
                raise EvalError(
                    f"{self.name}: the prompt {prompt!r} needs a sentence-transformers model; "
                    "a black-box teacher encodes with its own prompts only"
                )
            from leaf_hub.encoders import EmbeddingCache

            variant = teacher.with_prompts(**{f"{kind}_prompt": prompt})
            root = self.cache.root.parent / variant.fingerprint[:16]
            self._prompted[(kind, prompt)] = EmbeddingCache(variant, root, label=self.cache.label)
        return self._prompted[(kind, prompt)]

    def embed(self, texts: Sequence[str], kind: TextKind, *, prompt: str | None = None) -> np.ndarray:
        """Return float32 vectors of ``texts`` encoded as ``kind`` (``query``/``document``).

        Args:
            texts: Texts, in order.
            kind: ``query`` or ``document``: part of the cache key, and the prompt used when
                ``prompt`` is ``None``.
            prompt: Encode with this prompt instead of the model's ``kind`` prompt (a per-task
                prompt, or ``""`` for none); vectors are cached per prompt.
        """
        texts = list(texts)
        cache = self._cache_for(kind, prompt)
        digest = hashlib.sha256(f"{kind}\0{cache.encoder.fingerprint}".encode())
        for text in texts:
            digest.update(b"\0" + text.encode())
        key = digest.hexdigest()
        if key not in self._memo:
            start = time.perf_counter()
            hits_before = cache.stats.hits
            vectors = np.array(cache.embed(texts, kind=kind, progress=self.progress), dtype=np.float32)
            self.disk_hits[kind] += cache.stats.hits - hits_before
            self.encode_seconds[kind] += time.perf_counter() - start
            self._memo[key] = vectors
        return self._memo[key]

    def embed_for_task(self, texts: Sequence[str], task_metadata: Any, prompt_type: PromptType | None) -> np.ndarray:
        """Encode texts of a task as stock mteb would: routed by prompt type, with the resolved prompt."""
        return self.embed(texts, _kind(prompt_type), prompt=self.prompt_for(task_metadata, prompt_type))

    @property
    def texts_encoded(self) -> int:
        """Texts this source sent through its model (every prompt), not read from disk."""
        return self.cache.stats.encoded + sum(c.stats.encoded for c in self._prompted.values())


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
        """Encode the texts of an mteb dataloader with the source for ``prompt_type`` and its prompt."""
        return self.source_for(prompt_type).embed_for_task(_texts(inputs), task_metadata, prompt_type)


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
