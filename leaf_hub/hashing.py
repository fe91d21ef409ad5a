"""Content hashes and atomic writes shared by every layer (caches, checkpoints, manifests, records).

One copy of each: :func:`sha256_file` for files read in blocks, :func:`sha256_text` for a string,
:func:`digest` for a JSON-able tuple of parts (cache keys, fingerprints), and :func:`atomic_write` /
:func:`atomic_save` so an interrupted writer never leaves a half-written file under its final name.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_save", "atomic_write", "digest", "sha256_file", "sha256_text"]


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (large weights never sit in memory whole)."""
    hasher = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def sha256_text(text: str) -> str:
    """Hex sha256 of a string's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def digest(*parts: object) -> str:
    """Hex sha256 of ``parts`` as sorted-key JSON (anything else as ``str``): a stable key for a tuple.

    Example:
        >>> digest("teacher", 768) == digest("teacher", 768)
        True
    """
    return sha256_text(json.dumps(parts, sort_keys=True, default=str))


def atomic_save(path: Path, write: Callable[[Path], None], *, fsync: bool = True) -> None:
    """Let ``write`` fill a temporary file beside ``path``, then move it into place in one step.

    The temporary name is unique per call, so two writers never share one; it is removed if
    ``write`` fails. With ``fsync`` the bytes reach the disk before the rename.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        if fsync:
            with tmp.open("rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: Path, data: str | bytes, *, fsync: bool = False) -> None:
    """Write text (UTF-8) or bytes to ``path`` atomically (see :func:`atomic_save`)."""
    if isinstance(data, str):
        atomic_save(path, lambda tmp: tmp.write_text(data, encoding="utf-8"), fsync=fsync)
    else:
        atomic_save(path, lambda tmp: tmp.write_bytes(data), fsync=fsync)
