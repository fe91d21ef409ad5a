"""Teachers and the on-disk cache of their embeddings.

A :class:`Teacher` is anything that turns texts into float32 vectors: a sentence-transformers
model (:class:`SentenceTransformerTeacher`) or a black-box function (:class:`CallableTeacher`).
Because a teacher is slow (all-mpnet-base-v2 encodes ~16 sentences/s on 2 CPU cores), its
vectors are computed once and kept by :class:`TeacherCache`:

* keyed by the teacher's fingerprint (weights hash, prompts, normalisation, max length) and by
  the sha256 of each (kind, text);
* written in chunks, each atomically (temp file + rename) with a sha256 in its sidecar, so a
  Ctrl-C or kill keeps every finished chunk and a rerun encodes only what is missing;
* read through memory maps, so a cache larger than RAM still works;
* a chunk that fails its checksum is reported and recomputed, never used.

Example:
    >>> teacher = SentenceTransformerTeacher("/path/to/all-mpnet-base-v2")  # doctest: +SKIP
    >>> vectors = TeacherCache(teacher).embed(["a query", "another"], kind="query")  # doctest: +SKIP
    >>> vectors.shape
    (2, 768)
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, runtime_checkable

import numpy as np

from leaf_hub.errors import CacheCorruptError, TeacherError
from leaf_hub.hashing import sha256_file

if TYPE_CHECKING:
    from leaf_hub.recipe import TeacherSpec

logger = logging.getLogger(__name__)

TextKind = Literal["query", "document"]

__all__ = [
    "CacheStats",
    "CallableTeacher",
    "SentenceTransformerTeacher",
    "Teacher",
    "TeacherCache",
    "TextKind",
    "text_key",
]


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


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class SentenceTransformerTeacher:
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
        return _digest(
            "st", self._weights, self.query_prompt, self.document_prompt, self.normalize, self.model.max_seq_length
        )

    @property
    def prompts(self) -> dict[str, str]:
        """``{"query": ..., "document": ..., **task_prompts}``."""
        return {"query": self.query_prompt, "document": self.document_prompt, **self.task_prompts}

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

    @classmethod
    def from_spec(cls, spec: TeacherSpec, device: str | None = None) -> SentenceTransformerTeacher:
        """Build the teacher a recipe names (offline copy by default, see :mod:`leaf_hub.assets`)."""
        from leaf_hub.assets import resolve_model

        return cls(
            resolve_model(spec),
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


class CallableTeacher:
    """Wrap any black-box ``texts -> vectors`` function (an API, another framework) as a teacher.

    Args:
        fn: Function taking a list of texts (and optionally ``kind=``) and returning vectors.
        dim: Output dimension.
        name: Stable name identifying the function and its version; part of the fingerprint.
        normalize: L2-normalise the vectors after ``fn``.
        takes_kind: Whether ``fn`` accepts ``kind="query"|"document"``.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        dim: int,
        name: str,
        normalize: bool = False,
        takes_kind: bool = False,
    ) -> None:
        self.fn = fn
        self.dim = dim
        self.normalize = normalize
        self.takes_kind = takes_kind
        self.fingerprint = _digest("callable", name, dim, normalize)

    def encode(self, texts: Sequence[str], kind: TextKind = "document") -> np.ndarray:
        """Call the wrapped function and check its output."""
        out = self.fn(list(texts), kind=kind) if self.takes_kind else self.fn(list(texts))
        vectors = np.asarray(out, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise TeacherError(f"teacher returned shape {vectors.shape}, expected (n, {self.dim})")
        if self.normalize:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors


def text_key(text: str, kind: TextKind) -> str:
    """Cache key of one text: sha256 of its kind and content."""
    return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()


@dataclass
class CacheStats:
    """Counters of one :class:`TeacherCache` in this process.

    Attributes:
        hits: Texts served from disk.
        encoded: Texts the teacher encoded (forward passes).
        recomputed_chunks: Chunks dropped because their checksum failed.
    """

    hits: int = 0
    encoded: int = 0
    recomputed_chunks: int = 0


class _BadChunkError(CacheCorruptError):
    def __init__(self, chunk_id: str, reason: str) -> None:
        super().__init__(f"teacher cache chunk {chunk_id} failed its check ({reason})")
        self.chunk_id = chunk_id
        self.reason = reason


def _atomic_save(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class TeacherCache:
    """Teacher vectors of texts, computed once and kept on disk.

    Layout under ``root``: ``chunks/<id>.npy`` (float32 rows), ``chunks/<id>.json`` (keys, shape,
    sha256 of the ``.npy``), ``views/<hash>.npy`` (rows gathered for one request, memory-mapped).

    Args:
        teacher: The teacher whose vectors are cached.
        root: Cache folder (default ``$LEAF_HUB_HOME/teacher_cache/<fingerprint[:16]>``).
        chunk_size: Texts per chunk: at most this much work is lost when interrupted.
        label: Name shown on the progress bar (the cache also serves student vectors in evaluation).
    """

    def __init__(
        self, teacher: Teacher, root: str | Path | None = None, *, chunk_size: int = 512, label: str = "teacher"
    ) -> None:
        from leaf_hub.assets import leaf_hub_home

        self.teacher = teacher
        self.root = Path(root) if root else leaf_hub_home() / "teacher_cache" / teacher.fingerprint[:16]
        self.chunk_size = chunk_size
        self.label = label
        self.stats = CacheStats()
        self._index: dict[str, tuple[str, int]] = {}
        self._verified: set[str] = set()
        self._arrays: dict[str, np.ndarray] = {}
        (self.root / "chunks").mkdir(parents=True, exist_ok=True)
        meta = self.root / "teacher.json"
        if not meta.exists():
            info = json.dumps({"fingerprint": teacher.fingerprint, "dim": teacher.dim})
            _atomic_save(meta, lambda p: p.write_text(info))
        self._load_index()

    # -- index -------------------------------------------------------------------------------
    def _load_index(self) -> None:
        for sidecar in sorted((self.root / "chunks").glob("*.json")):
            try:
                info = json.loads(sidecar.read_text())
                keys = info["keys"]
            except (OSError, ValueError, KeyError):
                logger.warning("teacher cache: unreadable chunk index %s; it will be recomputed", sidecar.name)
                self._drop_chunk(sidecar.stem)
                continue
            for row, key in enumerate(keys):
                self._index[key] = (sidecar.stem, row)

    def _drop_chunk(self, chunk_id: str) -> None:
        for suffix in (".npy", ".json"):
            (self.root / "chunks" / f"{chunk_id}{suffix}").unlink(missing_ok=True)
        self._index = {k: v for k, v in self._index.items() if v[0] != chunk_id}
        self._arrays.pop(chunk_id, None)
        self.stats.recomputed_chunks += 1

    def _chunk_array(self, chunk_id: str) -> np.ndarray:
        """Memory-map one chunk, verifying its checksum the first time it is used."""
        if chunk_id in self._arrays:
            return self._arrays[chunk_id]
        npy = self.root / "chunks" / f"{chunk_id}.npy"
        info = json.loads((self.root / "chunks" / f"{chunk_id}.json").read_text())
        if not npy.exists() or sha256_file(npy) != info["sha256"]:
            raise _BadChunkError(chunk_id, "sha256 mismatch")
        array = np.load(npy, mmap_mode="r")
        if array.shape != (len(info["keys"]), self.teacher.dim):
            raise _BadChunkError(chunk_id, f"shape {array.shape}")
        self._arrays[chunk_id] = array
        return array

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: str) -> bool:
        return key in self._index

    # -- compute -----------------------------------------------------------------------------
    def _write_chunk(self, keys: list[str], vectors: np.ndarray) -> None:
        chunk_id = f"{len(list((self.root / 'chunks').glob('*.json'))):06d}-{uuid.uuid4().hex[:8]}"
        npy = self.root / "chunks" / f"{chunk_id}.npy"
        _atomic_save(npy, lambda p: np.save(p.open("wb"), vectors))
        sidecar = {"keys": keys, "shape": list(vectors.shape), "sha256": sha256_file(npy)}
        _atomic_save(npy.with_suffix(".json"), lambda p: p.write_text(json.dumps(sidecar)))
        for row, key in enumerate(keys):
            self._index[key] = (chunk_id, row)

    def _encode_missing(self, texts: list[str], keys: list[str], kind: TextKind, progress: bool) -> None:
        todo: dict[str, str] = {}
        for text, key in zip(texts, keys, strict=True):
            if key not in self._index:
                todo.setdefault(key, text)
        if not todo:
            return
        # Longest first: similar lengths share batches (less padding), and the ETA errs high.
        order = sorted(todo, key=lambda k: -len(todo[k]))
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = [
            TextColumn(f"[bold]{self.label}[/] {{task.description}}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} texts/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        ]
        with Progress(*columns, disable=not progress, transient=False) as bar:
            task = bar.add_task("queries" if kind == "query" else "documents", total=len(order), rate="-")
            start = time.perf_counter()
            done = 0
            for begin in range(0, len(order), self.chunk_size):
                chunk_keys = order[begin : begin + self.chunk_size]
                chunk_texts = [todo[k] for k in chunk_keys]
                vectors = self.teacher.encode(chunk_texts, kind=kind)
                if vectors.shape != (len(chunk_texts), self.teacher.dim):
                    raise TeacherError(
                        f"teacher returned shape {vectors.shape} for {len(chunk_texts)} texts "
                        f"(expected dimension {self.teacher.dim})"
                    )
                if not np.isfinite(vectors).all():
                    raise TeacherError("teacher returned non-finite values (nan/inf)")
                self._write_chunk(chunk_keys, np.ascontiguousarray(vectors, dtype=np.float32))
                self.stats.encoded += len(chunk_keys)
                done += len(chunk_keys)
                rate = done / max(time.perf_counter() - start, 1e-9)
                bar.update(task, advance=len(chunk_keys), rate=f"{rate:.1f}")

    def embed(self, texts: Sequence[str], kind: TextKind = "document", *, progress: bool = True) -> np.ndarray:
        """Return the teacher vectors of ``texts``, encoding only those not cached yet.

        Args:
            texts: Texts, in the order wanted.
            kind: ``query`` or ``document`` (selects the teacher prompt; part of the key).
            progress: Show a progress bar with rate and ETA while encoding.

        Returns:
            A read-only, memory-mapped float32 array of shape ``(len(texts), dim)``.

        Raises:
            TeacherError: If the teacher returns vectors of the wrong shape or non-finite values.
        """
        texts = list(texts)
        keys = [text_key(t, kind) for t in texts]
        self.stats.hits += sum(key in self._index for key in keys)
        for _attempt in range(3):
            self._encode_missing(texts, keys, kind, progress)
            try:
                return self._gather(keys)
            except _BadChunkError as e:
                logger.warning("teacher cache chunk %s failed its check (%s); recomputing it", e.chunk_id, e.reason)
                self._drop_chunk(e.chunk_id)
        raise CacheCorruptError(f"teacher cache at {self.root} keeps failing its checksums; delete it")

    def _gather(self, keys: list[str]) -> np.ndarray:
        view_id = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24]
        view = self.root / "views" / f"{view_id}.npy"
        view.parent.mkdir(exist_ok=True)
        by_chunk: dict[str, list[tuple[int, int]]] = {}
        for pos, key in enumerate(keys):
            chunk_id, row = self._index[key]
            by_chunk.setdefault(chunk_id, []).append((pos, row))
        arrays = {chunk_id: self._chunk_array(chunk_id) for chunk_id in by_chunk}
        tmp = view.with_name(f".{view.name}.{uuid.uuid4().hex}.tmp")
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(keys), self.teacher.dim))
        for chunk_id, pairs in by_chunk.items():
            positions = np.fromiter((p for p, _ in pairs), dtype=np.int64)
            rows = np.fromiter((r for _, r in pairs), dtype=np.int64)
            out[positions] = arrays[chunk_id][rows]
        out.flush()
        del out
        os.replace(tmp, view)
        return np.load(view, mmap_mode="r")
