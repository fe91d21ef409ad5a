"""The on-disk cache of embeddings: every vector an encoder (teacher, student, init) computes, kept once.

Because a teacher is slow (all-mpnet-base-v2 encodes ~16 sentences/s on 2 CPU cores), its
vectors are computed once and kept by :class:`EmbeddingCache` (evaluation keeps the student's and
the init's vectors the same way):

* keyed by the encoder's fingerprint (weights hash, prompts, normalisation, max length; the
  caller's ``root`` folder) and by the sha256 of each (kind, text) (:func:`text_key`);
* written in chunks, each atomically (temp file + rename) with a sha256 in its sidecar, so a
  Ctrl-C or kill keeps every finished chunk and a rerun encodes only what is missing;
* read through memory maps, so a cache larger than RAM still works;
* a chunk that fails its checksum is reported and recomputed, never used.

Example:
    >>> teacher = SentenceTransformerTeacher("/path/to/all-mpnet-base-v2")  # doctest: +SKIP
    >>> cache = EmbeddingCache(teacher, teacher_cache_root(teacher.fingerprint))  # doctest: +SKIP
    >>> cache.embed(["a query", "another"], kind="query").shape  # doctest: +SKIP
    (2, 768)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leaf_hub.encoders.base import Teacher, TextKind
from leaf_hub.errors import CacheCorruptError, TeacherError
from leaf_hub.hashing import atomic_save, sha256_file

logger = logging.getLogger(__name__)

__all__ = ["CacheStats", "EmbeddingCache", "teacher_cache_root", "text_key"]


def teacher_cache_root(fingerprint: str) -> Path:
    """Where a teacher's vectors are kept: ``$LEAF_HUB_HOME/teacher_cache/<fingerprint[:16]>``."""
    from leaf_hub.assets import leaf_hub_home

    return leaf_hub_home() / "teacher_cache" / fingerprint[:16]


def text_key(text: str, kind: TextKind) -> str:
    """Cache key of one text: sha256 of its kind and content."""
    return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()


@dataclass
class CacheStats:
    """Counters of one :class:`EmbeddingCache` in this process.

    Attributes:
        hits: Texts served from disk.
        encoded: Texts the encoder encoded (forward passes).
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


class EmbeddingCache:
    """An encoder's vectors of texts, computed once and kept on disk.

    Layout under ``root``: ``chunks/<id>.npy`` (float32 rows), ``chunks/<id>.json`` (keys, shape,
    sha256 of the ``.npy``), ``views/<hash>.npy`` (rows gathered for one request, memory-mapped).

    Args:
        encoder: The encoder (teacher, student or init) whose vectors are cached.
        root: Cache folder of this encoder's fingerprint (a teacher's: :func:`teacher_cache_root`).
        chunk_size: Texts per chunk: at most this much work is lost when interrupted.
        label: Name shown on the progress bar (the cache also serves student vectors in evaluation).
    """

    def __init__(self, encoder: Teacher, root: str | Path, *, chunk_size: int = 512, label: str = "teacher") -> None:
        self.encoder = encoder
        self.root = Path(root)
        self.chunk_size = chunk_size
        self.label = label
        self.stats = CacheStats()
        self._index: dict[str, tuple[str, int]] = {}
        self._verified: set[str] = set()
        self._arrays: dict[str, np.ndarray] = {}
        (self.root / "chunks").mkdir(parents=True, exist_ok=True)
        meta = self.root / "teacher.json"  # the name of every existing cache, student ones included
        if not meta.exists():
            info = json.dumps({"fingerprint": encoder.fingerprint, "dim": encoder.dim})
            atomic_save(meta, lambda p: p.write_text(info))
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
        if array.shape != (len(info["keys"]), self.encoder.dim):
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
        atomic_save(npy, lambda p: np.save(p.open("wb"), vectors))
        sidecar = {"keys": keys, "shape": list(vectors.shape), "sha256": sha256_file(npy)}
        atomic_save(npy.with_suffix(".json"), lambda p: p.write_text(json.dumps(sidecar)))
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
                vectors = self.encoder.encode(chunk_texts, kind=kind)
                if vectors.shape != (len(chunk_texts), self.encoder.dim):
                    raise TeacherError(
                        f"teacher returned shape {vectors.shape} for {len(chunk_texts)} texts "
                        f"(expected dimension {self.encoder.dim})"
                    )
                if not np.isfinite(vectors).all():
                    raise TeacherError("teacher returned non-finite values (nan/inf)")
                self._write_chunk(chunk_keys, np.ascontiguousarray(vectors, dtype=np.float32))
                self.stats.encoded += len(chunk_keys)
                done += len(chunk_keys)
                rate = done / max(time.perf_counter() - start, 1e-9)
                bar.update(task, advance=len(chunk_keys), rate=f"{rate:.1f}")

    def encode_shard(
        self, texts: Sequence[str], kind: TextKind = "document", *, rank: int, world: int, progress: bool = True
    ) -> int:
        """Encode this rank's share of the ``texts`` not cached yet (data-parallel filling).

        The missing texts are ordered the same way on every rank (longest first, then by key) and
        dealt round-robin, so ``world`` ranks that share this cache folder and saw the same index
        encode disjoint shards that together cover every missing text once. Each rank writes its
        own chunks (unique names, atomic); after a barrier, :meth:`reload` makes every shard visible.
        ``stats.hits`` counts the texts already cached, ``stats.encoded`` this rank's shard.

        Args:
            texts: Texts to have cached.
            kind: ``query`` or ``document``.
            rank: This process's rank, ``0 <= rank < world``.
            world: Number of ranks sharing the work.
            progress: Show a progress bar.

        Returns:
            Number of texts this rank encoded.
        """
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} outside a world of {world}")
        texts = list(texts)
        keys = [text_key(t, kind) for t in texts]
        self.stats.hits += sum(key in self._index for key in keys)
        todo: dict[str, str] = {}
        for text, key in zip(texts, keys, strict=True):
            if key not in self._index:
                todo.setdefault(key, text)
        order = sorted(todo, key=lambda k: (-len(todo[k]), k))[rank::world]
        before = self.stats.encoded
        self._encode_missing([todo[k] for k in order], order, kind, progress)
        return self.stats.encoded - before

    def reload(self) -> int:
        """Re-read the chunk index from disk (chunks other processes wrote); returns the keys added."""
        known = len(self._index)
        self._load_index()
        return len(self._index) - known

    def embed(self, texts: Sequence[str], kind: TextKind = "document", *, progress: bool = True) -> np.ndarray:
        """Return the vectors of ``texts``, encoding only those not cached yet.

        Args:
            texts: Texts, in the order wanted.
            kind: ``query`` or ``document`` (selects the encoder's prompt; part of the key).
            progress: Show a progress bar with rate and ETA while encoding.

        Returns:
            A read-only, memory-mapped float32 array of shape ``(len(texts), dim)``.

        Raises:
            TeacherError: If the encoder returns vectors of the wrong shape or non-finite values.
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
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(keys), self.encoder.dim))
        for chunk_id, pairs in by_chunk.items():
            positions = np.fromiter((p for p, _ in pairs), dtype=np.int64)
            rows = np.fromiter((r for _, r in pairs), dtype=np.int64)
            out[positions] = arrays[chunk_id][rows]
        out.flush()
        del out
        os.replace(tmp, view)
        return np.load(view, mmap_mode="r")
