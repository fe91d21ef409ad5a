"""Token ids of the training texts, computed once and kept on disk beside the teacher vectors.

The stock sentence-transformers collator tokenises every batch inside the training step; on a
small CPU that is a sizeable share of each step, and on a GPU it starves the device
(``shared/DEVICE.md``: 19 % busy). :class:`TokenCache` tokenises each text once, with the
student's own tokenizer and ``max_seq_length``, and keeps the ids in chunks on disk:

* keyed like :class:`~leaf_hub.encoders.EmbeddingCache`: by a fingerprint of the tokenizer and
  token limit (the cache folder) and the sha256 of each exact text (prompt included);
* each chunk written atomically with a sha256 in its sidecar, so an interrupted run keeps every
  finished chunk and a bit-flipped chunk is recomputed, never used.

Example:
    >>> cache = TokenCache.for_model(student)  # doctest: +SKIP
    >>> ids = cache.tokenize(["a query", "a longer document text"])  # doctest: +SKIP
    >>> ids.lengths
    array([4, 6], dtype=int32)
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from leaf_hub.errors import CacheCorruptError
from leaf_hub.hashing import sha256_file, sha256_text

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

__all__ = ["TokenCache", "TokenIds", "static_token_ids", "tokenizer_fingerprint"]


@dataclass(frozen=True)
class TokenIds:
    """Token ids of many texts in one flat array.

    Attributes:
        flat: All ids, text after text (``int32``).
        offsets: ``offsets[i]:offsets[i + 1]`` are the ids of text ``i`` (length ``n + 1``).
        pad_id: The tokenizer's padding id.
    """

    flat: np.ndarray
    offsets: np.ndarray
    pad_id: int

    @property
    def lengths(self) -> np.ndarray:
        """Number of tokens of each text (special tokens included)."""
        return np.diff(self.offsets).astype(np.int32)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def ids(self, i: int) -> np.ndarray:
        """The ids of text ``i``."""
        return self.flat[self.offsets[i] : self.offsets[i + 1]]


def tokenizer_fingerprint(model: SentenceTransformer) -> str:
    """sha256 of what decides a text's ids: the tokenizer's full definition and the token limit."""
    tokenizer = model.tokenizer
    backend = getattr(tokenizer, "backend_tokenizer", None)
    definition = backend.to_str() if backend is not None else json.dumps(tokenizer.get_vocab(), sort_keys=True)
    parts = [type(tokenizer).__name__, definition, int(model.max_seq_length)]
    return sha256_text(json.dumps(parts))


def _key(text: str) -> str:
    return sha256_text(text)


class TokenCache:
    """Token ids of texts, tokenised once per tokenizer and kept on disk.

    Layout under ``root``: ``chunks/<id>.npy`` (flat ``int32`` ids) and ``chunks/<id>.json``
    (keys, lengths, sha256 of the ``.npy``).

    Args:
        model: The student whose tokenizer and ``max_seq_length`` are used.
        root: Cache folder (default ``$LEAF_HUB_HOME/token_cache/<fingerprint[:16]>``).
        chunk_size: Texts per chunk.
    """

    def __init__(self, model: SentenceTransformer, root: str | Path | None = None, *, chunk_size: int = 8192) -> None:
        from leaf_hub.assets import leaf_hub_home

        self.model = model
        self.fingerprint = tokenizer_fingerprint(model)
        self.root = Path(root) if root else leaf_hub_home() / "token_cache" / self.fingerprint[:16]
        self.chunk_size = chunk_size
        self.tokenized = 0
        self.hits = 0
        self._index: dict[str, tuple[str, int]] = {}
        self._chunks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        (self.root / "chunks").mkdir(parents=True, exist_ok=True)
        for sidecar in sorted((self.root / "chunks").glob("*.json")):
            try:
                keys = json.loads(sidecar.read_text())["keys"]
            except (OSError, ValueError, KeyError):
                logger.warning("token cache: unreadable chunk index %s; it will be recomputed", sidecar.name)
                self._drop(sidecar.stem)
                continue
            for row, key in enumerate(keys):
                self._index[key] = (sidecar.stem, row)

    def _drop(self, chunk_id: str) -> None:
        for suffix in (".npy", ".json"):
            (self.root / "chunks" / f"{chunk_id}{suffix}").unlink(missing_ok=True)
        self._index = {k: v for k, v in self._index.items() if v[0] != chunk_id}
        self._chunks.pop(chunk_id, None)

    def _load(self, chunk_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``(flat ids, offsets)`` of a chunk, or ``None`` when it fails its checksum."""
        if chunk_id not in self._chunks:
            npy = self.root / "chunks" / f"{chunk_id}.npy"
            try:
                info = json.loads(npy.with_suffix(".json").read_text())
                if sha256_file(npy) != info["sha256"]:
                    return None
                flat = np.load(npy)
            except (OSError, ValueError, KeyError):
                return None
            offsets = np.concatenate([[0], np.cumsum(np.asarray(info["lengths"], dtype=np.int64))])
            if offsets[-1] != len(flat):
                return None
            self._chunks[chunk_id] = (flat, offsets)
        return self._chunks[chunk_id]

    def _write(self, keys: list[str], ids: list[list[int]]) -> None:
        chunk_id = f"{len(list((self.root / 'chunks').glob('*.json'))):06d}-{uuid.uuid4().hex[:8]}"
        npy = self.root / "chunks" / f"{chunk_id}.npy"
        flat = np.fromiter((t for row in ids for t in row), dtype=np.int32, count=sum(len(r) for r in ids))
        tmp = npy.with_name(f".{npy.name}.{uuid.uuid4().hex}.tmp")
        with tmp.open("wb") as fh:
            np.save(fh, flat)
        os.replace(tmp, npy)
        sidecar = {"keys": keys, "lengths": [len(r) for r in ids], "sha256": sha256_file(npy)}
        tmp = npy.with_name(f".{chunk_id}.json.{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(sidecar))
        os.replace(tmp, npy.with_suffix(".json"))
        for row, key in enumerate(keys):
            self._index[key] = (chunk_id, row)

    def _tokenize_missing(self, texts: Sequence[str], keys: list[str]) -> None:
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._index}
        if not todo:
            return
        tokenizer = self.model.tokenizer
        limit = int(self.model.max_seq_length)
        pending = list(todo)
        for begin in range(0, len(pending), self.chunk_size):
            chunk_keys = pending[begin : begin + self.chunk_size]
            encoded = tokenizer(
                [todo[k] for k in chunk_keys], truncation=True, max_length=limit, add_special_tokens=True
            )["input_ids"]
            self._write(chunk_keys, encoded)
            self.tokenized += len(chunk_keys)

    def tokenize(self, texts: Sequence[str]) -> TokenIds:
        """Token ids of ``texts`` (exactly as the student tokenises them), tokenising only new ones.

        Args:
            texts: Texts in the order wanted, prompts already applied.

        Returns:
            The ids, text ``i`` at position ``i``.
        """
        keys = [_key(t) for t in texts]
        self.hits += sum(k in self._index for k in keys)
        for _attempt in range(3):
            self._tokenize_missing(texts, keys)
            bad = {cid for cid, _ in (self._index[k] for k in keys) if self._load(cid) is None}
            if not bad:
                break
            for chunk_id in bad:
                logger.warning("token cache chunk %s failed its check; recomputing it", chunk_id)
                self._drop(chunk_id)
        else:
            raise CacheCorruptError(f"token cache at {self.root} keeps failing its checksums; delete it")
        rows = [self._index[k] for k in keys]
        lengths = np.empty(len(keys), dtype=np.int64)
        pieces = []
        for i, (chunk_id, row) in enumerate(rows):
            flat, offsets = self._chunks[chunk_id]
            piece = flat[offsets[row] : offsets[row + 1]]
            pieces.append(piece)
            lengths[i] = len(piece)
        flat = np.concatenate(pieces).astype(np.int32) if pieces else np.zeros(0, dtype=np.int32)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        pad = self.model.tokenizer.pad_token_id
        return TokenIds(flat=flat, offsets=offsets, pad_id=int(pad if pad is not None else 0))


def static_token_ids(student: SentenceTransformer, texts: Sequence[str]) -> TokenIds:
    """Token ids of ``texts`` as a static student (``StaticEmbedding`` first) reads them, in memory.

    The table's Rust tokenizer encodes a few hundred thousand short texts per second, so there is
    nothing to cache on disk. Ids are those of ``StaticEmbedding.preprocess``: no special tokens, no limit.
    """
    encodings = student[0].tokenizer.encode_batch(list(texts), add_special_tokens=False)
    lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
    flat = np.fromiter((t for e in encodings for t in e.ids), dtype=np.int32, count=int(lengths.sum()))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return TokenIds(flat=flat, offsets=offsets, pad_id=0)
