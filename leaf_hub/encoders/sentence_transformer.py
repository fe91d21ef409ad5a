"""A teacher backed by a sentence-transformers model (the ``sentence-transformers`` kind).

The evaluation also loads students through it: a student folder is a sentence-transformers model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from leaf_hub.encoders.base import PromptedEncoder, TextKind
from leaf_hub.hashing import digest

if TYPE_CHECKING:
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
    ) -> None:
        from sentence_transformers import SentenceTransformer

        from leaf_hub.assets import model_fingerprint

        self.source = str(model_path_or_id)
        self.model = SentenceTransformer(self.source, revision=revision, device=device)
        if max_seq_length is not None:
            self.model.max_seq_length = max_seq_length
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        self.task_prompts = dict(task_prompts or {})
        self.normalize = normalize
        self.batch_size = batch_size
        self.dim = int(self.model.get_embedding_dimension())
        self._weights = model_fingerprint(self.source) if Path(self.source).is_dir() else f"{self.source}@{revision}"
        self.fingerprint = self._fingerprint()

    def _fingerprint(self) -> str:
        return digest(
            "st", self._weights, self.query_prompt, self.document_prompt, self.normalize, self.model.max_seq_length
        )

    @property
    def prompts(self) -> dict[str, str]:
        """``{"query": ..., "document": ..., **task_prompts}``."""
        return {"query": self.query_prompt, "document": self.document_prompt, **self.task_prompts}

    @classmethod
    def from_spec(cls, spec: TeacherSpec, device: str | None = None) -> SentenceTransformerTeacher:
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
        return np.asarray(vectors, dtype=np.float32)
