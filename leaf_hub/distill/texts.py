"""The texts a distillation trains and measures on, and the teacher's vectors of them (read once, cached)."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from leaf_hub import parallel
from leaf_hub.errors import AssetError
from leaf_hub.recipe import DataSpec

if TYPE_CHECKING:

    from leaf_hub.encoders import Teacher, TextKind

logger = logging.getLogger(__name__)

__all__ = ["TrainingTexts", "load_texts", "teacher_vectors"]


@dataclass
class TrainingTexts:
    """Texts sampled from a recipe's sources.

    Attributes:
        train: ``(text, kind)`` pairs to train on.
        heldout: ``(text, kind)`` pairs never trained on, for the alignment metric.
    """

    train: list[tuple[str, TextKind]]
    heldout: list[tuple[str, TextKind]]


# ---------------------------------------------------------------------------------------------
# 1. texts
# ---------------------------------------------------------------------------------------------


def _read_lines(path: Path, max_chars: int) -> list[str]:
    try:
        with path.open(encoding="utf-8") as fh:
            lines = [line.strip()[:max_chars] for line in fh]
    except UnicodeDecodeError as e:
        raise AssetError(f"data file is not UTF-8 text: {path} (byte {e.start})") from e
    lines = [line for line in lines if line]
    if not lines:
        raise AssetError(f"data file has no text lines: {path}")
    return lines


def load_texts(spec: DataSpec, seed: int) -> TrainingTexts:
    """Sample training and held-out texts from a recipe's data sources.

    Each source contributes ``samples`` lines (all when ``None``), drawn with ``seed``; the
    held-out set takes ``heldout`` texts spread across sources in proportion and is removed
    from training.

    Raises:
        AssetError: If a file is missing, empty or not UTF-8.
    """
    from leaf_hub.assets import resolve_data_file

    rng = random.Random(seed)
    per_source: list[list[tuple[str, TextKind]]] = []
    for source in spec.sources:
        lines = _read_lines(resolve_data_file(source.path, spec.root), spec.max_chars)
        lines = list(dict.fromkeys(lines))
        rng.shuffle(lines)
        per_source.append([(t, source.kind) for t in lines])
    wanted = [s.samples for s in spec.sources]
    total = sum(min(w or len(p), len(p)) for w, p in zip(wanted, per_source, strict=True))
    train: list[tuple[str, TextKind]] = []
    heldout: list[tuple[str, TextKind]] = []
    for want, items in zip(wanted, per_source, strict=True):
        take = min(want or len(items), len(items))
        n_held = max(1, round(spec.heldout * take / total))
        if take - n_held < 1:
            raise AssetError(f"too few texts ({len(items)}) for {n_held} held-out ones")
        heldout.extend(items[:n_held])
        train.extend(items[n_held:take])
    rng.shuffle(train)
    return TrainingTexts(train=train, heldout=heldout)


def _with_prompt(pairs: Sequence[tuple[str, TextKind]], prompts: dict[str, str]) -> list[str]:
    return [prompts.get(kind, "") + text for text, kind in pairs]


# ---------------------------------------------------------------------------------------------
# 2. teacher vectors
# ---------------------------------------------------------------------------------------------


def teacher_vectors(
    teacher: Teacher, pairs: Sequence[tuple[str, TextKind]], out: Path, *, cache_root: Path | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """Teacher vectors of ``pairs`` in order, via the cache, gathered into a memory-mapped file.

    In a data-parallel run every rank calls this: each encodes its shard of the missing texts
    (:meth:`~leaf_hub.encoders.EmbeddingCache.encode_shard`), then after a barrier reloads the index.

    Returns:
        The ``(n, dim)`` array and this rank's cache counters (``encoded``, ``hits``).
    """
    from leaf_hub.encoders import EmbeddingCache, teacher_cache_root

    cache = EmbeddingCache(teacher, cache_root or teacher_cache_root(teacher.fingerprint))
    here = parallel.ranks()
    if here.distributed:
        parallel.barrier()  # every rank indexed the same chunks: the shards are disjoint and complete
        for kind in ("query", "document"):
            cache.encode_shard(
                [t for t, k in pairs if k == kind], kind, rank=here.rank, world=here.world, progress=here.is_main
            )
        parallel.barrier()
        cache.reload()
    hits = cache.stats.hits  # texts cached before this call (the gather below finds them all)
    result = np.lib.format.open_memmap(out, mode="w+", dtype=np.float32, shape=(len(pairs), teacher.dim))
    for kind in ("query", "document"):
        positions = [i for i, (_, k) in enumerate(pairs) if k == kind]
        if positions:
            vectors = cache.embed([pairs[i][0] for i in positions], kind=kind)
            result[np.asarray(positions)] = vectors
    result.flush()
    del result
    if not here.distributed:
        hits = cache.stats.hits
    return np.load(out, mmap_mode="r"), {"encoded": cache.stats.encoded, "hits": hits}


# ---------------------------------------------------------------------------------------------
# 4. alignment and training
# ---------------------------------------------------------------------------------------------
