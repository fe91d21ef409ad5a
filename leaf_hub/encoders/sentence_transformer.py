"""A teacher backed by a sentence-transformers model (the ``sentence-transformers`` kind).

The evaluation also loads students through it: a student folder is a sentence-transformers model.
In bf16 (``precision="bf16"``) the weights themselves are cast (the fastest way measured: wrapping
only ``encode`` in autocast gave no speed-up), and the vectors are returned as float32,
renormalised; the fingerprint then says bf16, so bf16 and fp32 vectors never share a cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leaf_hub.encoders.base import PromptedEncoder, TextKind
from leaf_hub.hashing import digest

if TYPE_CHECKING:
    from leaf_hub.precision import Dtype
    from leaf_hub.recipe import TeacherSpec

__all__ = ["SentenceTransformerTeacher"]


class SentenceTransformerTeacher(PromptedEncoder):
    """A teacher backed by a sentence-transformers model.

    Args:
        model_path_or_id: Local folder or Hub id.
        revision: Hub revision when loading by id.
        query_prompt: Prepended to query texts.
        document_prompt: Prepended to document texts.
        normalize: L2-normalise the vectors.
        batch_size: Encoding batch size.
        max_seq_length: Token limit (``None``: the model's own).
        device: Torch device (``None``: CUDA when available, else CPU).
        precision: ``fp32`` or ``bf16`` (weights cast to bf16; vectors float32, renormalised).
        task_prompts: Per-task prompts for evaluation, keyed as mteb keys a model's prompts
            (``SciFact``, ``Retrieval-query``, ``STS``, ...). Training texts only know
            ``query``/``document``, so these are not part of :attr:`fingerprint`.

    Attributes:
        prompts: Every prompt of this model, ``query`` and ``document`` included, in the shape a
            sentence-transformers model stores them (what mteb resolves prompts from).
    """

    def __init__(
        self,
        model_path_or_id: str | Path,
        *,
        revision: str | None = None,
        query_prompt: str = "",
        document_prompt: str = "",
        normalize: bool = True,
        batch_size: int = 32,
        max_seq_length: int | None = None,
        device: str | None = None,
        task_prompts: Mapping[str, str] | None = None,
        precision: Dtype = "fp32",
    ) -> None:
        from leaf_hub.assets import model_fingerprint

        self.source = str(model_path_or_id)
        self._revision = revision
        self._device = device
        self._max_seq_length = max_seq_length
        self.precision: Dtype = "fp32"
        self.model = self._load()
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        self.task_prompts = dict(task_prompts or {})
        self.normalize = normalize
        self.batch_size = batch_size
        self.dim = int(self.model.get_embedding_dimension())
        self._weights = model_fingerprint(self.source) if Path(self.source).is_dir() else f"{self.source}@{revision}"
        self.fingerprint = self._fingerprint()
        if precision != "fp32":
            self.to_precision(precision)

    def _load(self) -> Any:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(self.source, revision=self._revision, device=self._device)
        if self._max_seq_length is not None:
            model.max_seq_length = self._max_seq_length
        return model

    def _fingerprint(self) -> str:
        parts: tuple[object, ...] = (
            "st",
            self._weights,
            self.query_prompt,
            self.document_prompt,
            self.normalize,
            self.model.max_seq_length,
        )
        # fp32's fingerprint is the one every cache made before bf16 existed was filed under
        return digest(*parts) if self.precision == "fp32" else digest(*parts, self.precision)

    def to_precision(self, precision: Dtype) -> None:
        """Run in ``precision`` from now on (in place; the fingerprint follows).

        fp32 → bf16 casts the loaded weights (what loading with ``dtype=torch.bfloat16`` gives);
        bf16 → fp32 loads the weights again (a cast back would keep bf16's rounding).

        Args:
            precision: ``fp32`` or ``bf16``.
        """
        import torch

        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be fp32 or bf16, not {precision!r}")
        if precision == self.precision:
            return
        if precision == "bf16":
            self.model.to(torch.bfloat16)
        else:
            self.model = self._load()
        self.precision = precision
        self.fingerprint = self._fingerprint()

    @property
    def prompts(self) -> dict[str, str]:
        """``{"query": ..., "document": ..., **task_prompts}``."""
        return {"query": self.query_prompt, "document": self.document_prompt, **self.task_prompts}

    @classmethod
    def from_spec(
        cls, spec: TeacherSpec, device: str | None = None, precision: Dtype = "fp32"
    ) -> SentenceTransformerTeacher:
        """Build the teacher a recipe names (offline copy by default, see :mod:`leaf_hub.assets`)."""
        return cls(
            spec.resolve(),
            revision=spec.revision if spec.source == "hub" else None,
            query_prompt=spec.query_prompt,
            document_prompt=spec.document_prompt,
            normalize=spec.normalize,
            batch_size=spec.batch_size,
            max_seq_length=spec.max_seq_length,
            device=device,
            task_prompts=spec.task_prompts,
            precision=precision,
        )

    def encode(self, texts: Sequence[str], kind: TextKind = "document") -> np.ndarray:
        """Encode texts with the prompt of their kind."""
        prompt = self.query_prompt if kind == "query" else self.document_prompt
        vectors = self.model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=self.batch_size,
            normalize_embeddings=self.normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.precision != "fp32" and self.normalize:  # normalised in bf16: renormalise in fp32
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors
