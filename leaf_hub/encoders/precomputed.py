"""Vectors bought or computed elsewhere, read from a file (the ``precomputed`` kind)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leaf_hub.encoders.base import TextKind
from leaf_hub.errors import MissingTeacherTextError, TeacherFileError
from leaf_hub.hashing import digest, sha256_file

if TYPE_CHECKING:
    from leaf_hub.recipe import TeacherSpec

__all__ = ["NORM_TOLERANCE", "PrecomputedTeacher"]

#: Largest distance of a vector's L2 norm from 1 that still counts as normalised.
NORM_TOLERANCE = 1e-3


def _short(text: str, limit: int = 60) -> str:
    one = " ".join(text.split())
    return repr(one if len(one) <= limit else one[: limit - 1] + "…")


class PrecomputedTeacher:
    """Vectors bought or computed elsewhere, read from a file and looked up by text.

    Accepted files:

    * ``.parquet``: columns ``text`` and ``vector`` (a list of floats), optionally ``kind``;
    * ``.jsonl``: one object per line, ``{"text": ..., "vector": [...], "kind": ...}`` (``kind`` optional);
    * ``.npy``: a float array ``(n, dim)`` plus ``texts_path``: one text per line (``.txt``) or
      a JSON list (``.json``).

    A row with a ``kind`` (``query``/``document``) serves only texts of that kind; a row without
    serves both. Everything is checked on load: each row's dimension, finite values, and (when
    ``normalize``) unit L2 norm; the first offending row is named in a one-line
    :class:`~leaf_hub.errors.TeacherFileError`. A text the file lacks raises
    :class:`~leaf_hub.errors.MissingTeacherTextError` naming it.

    Args:
        path: The vectors file.
        dim: Expected dimension.
        normalize: The vectors are declared L2-normalised (checked, not applied).
        texts_path: The texts of an ``.npy`` file.

    Attributes:
        fingerprint: The sha256 of the file (of both files for ``.npy`` + texts).
    """

    def __init__(
        self, path: str | Path, *, dim: int, normalize: bool = True, texts_path: str | Path | None = None
    ) -> None:
        self.path = Path(path).expanduser()
        self.texts_path = Path(texts_path).expanduser() if texts_path is not None else None
        self.dim = dim
        self.normalize = normalize
        for file in (self.path, self.texts_path):
            if file is not None and not file.is_file():
                raise TeacherFileError(f"teacher vectors: file not found: {file}")
        texts, kinds, rows = self._read()
        for i, kind in enumerate(kinds):
            if kind not in (None, "query", "document"):
                raise self._fail(f"row {i} ({_short(str(texts[i]))}): kind is {kind!r}, not 'query' or 'document'")
        self._vectors = self._check(texts, rows)
        self._rows: dict[tuple[str | None, str], int] = {}
        for i, (text, kind) in enumerate(zip(texts, kinds, strict=True)):
            self._rows.setdefault((kind, text), i)
        file_hash = sha256_file(self.path)
        self.fingerprint = (
            file_hash if self.texts_path is None else digest("precomputed", file_hash, sha256_file(self.texts_path))
        )

    @classmethod
    def from_spec(cls, spec: TeacherSpec) -> PrecomputedTeacher:
        """Load and check the file a recipe names."""
        return cls(str(spec.vectors), dim=int(spec.dim or 0), normalize=spec.normalize, texts_path=spec.texts)

    # -- reading -------------------------------------------------------------------------------
    def _fail(self, message: str) -> TeacherFileError:
        return TeacherFileError(f"teacher vectors {self.path.name}: {message}")

    def _read(self) -> tuple[list[str], list[str | None], list[Any]]:
        suffix = self.path.suffix.lower()
        try:
            if suffix == ".parquet":
                return self._read_parquet()
            if suffix == ".jsonl":
                return self._read_jsonl()
            if suffix == ".npy":
                return self._read_npy()
        except (OSError, ValueError) as e:
            if isinstance(e, TeacherFileError):
                raise
            raise self._fail(f"cannot read ({' '.join(str(e).split())[:200]})") from e
        raise self._fail("expected a .parquet, .jsonl or .npy file")

    def _columns(self, names: Sequence[str]) -> None:
        for needed in ("text", "vector"):
            if needed not in names:
                raise self._fail(f"no {needed!r} column (columns: {', '.join(names)})")

    def _read_parquet(self) -> tuple[list[str], list[str | None], list[Any]]:
        import pyarrow.parquet as pq

        table = pq.read_table(self.path)
        self._columns(table.column_names)
        texts = table.column("text").to_pylist()
        kinds = table.column("kind").to_pylist() if "kind" in table.column_names else [None] * len(texts)
        return texts, kinds, table.column("vector").to_pylist()

    def _read_jsonl(self) -> tuple[list[str], list[str | None], list[Any]]:
        texts: list[str] = []
        kinds: list[str | None] = []
        rows: list[Any] = []
        with self.path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except ValueError as e:
                    raise self._fail(f"line {number} is not JSON ({e.msg})") from e
                if not isinstance(item, dict) or "text" not in item or "vector" not in item:
                    raise self._fail(f"line {number} is not an object with 'text' and 'vector'")
                texts.append(item["text"])
                kinds.append(item.get("kind"))
                rows.append(item["vector"])
        return texts, kinds, rows

    def _read_npy(self) -> tuple[list[str], list[str | None], list[Any]]:
        array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        assert self.texts_path is not None  # the recipe requires it with .npy
        raw = self.texts_path.read_text(encoding="utf-8")
        texts = json.loads(raw) if self.texts_path.suffix.lower() == ".json" else raw.split("\n")
        if self.texts_path.suffix.lower() != ".json" and texts and texts[-1] == "":
            texts.pop()
        if array.ndim != 2:
            raise self._fail(f"expected a 2-d array (texts x {self.dim}), got shape {array.shape}")
        if len(texts) != array.shape[0]:
            raise self._fail(f"{array.shape[0]} vectors but {len(texts)} texts in {self.texts_path.name}")
        return texts, [None] * len(texts), array  # type: ignore[return-value]

    def _check(self, texts: list[Any], rows: Any) -> np.ndarray:
        """Check every row in order, naming the first that fails; return the ``(n, dim)`` array."""
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise self._fail(f"row {i}: text is {type(text).__name__}, not a string")
        if isinstance(rows, np.ndarray):
            if rows.shape[1] != self.dim:
                raise self._fail(
                    f"row 0 ({_short(texts[0]) if texts else ''}): {rows.shape[1]} values, expected {self.dim}"
                )
            vectors = np.asarray(rows, dtype=np.float32)
        else:
            for i, row in enumerate(rows):
                size = len(row) if isinstance(row, list | tuple) else -1
                if size != self.dim:
                    got = f"{size} values" if size >= 0 else f"a {type(row).__name__}, not a list of numbers"
                    raise self._fail(f"row {i} ({_short(texts[i])}): {got}, expected {self.dim}")
            try:
                vectors = np.asarray(rows, dtype=np.float32).reshape(len(rows), self.dim)
            except (TypeError, ValueError) as e:
                raise self._fail(f"vectors are not all numbers ({e})") from e
        finite = np.isfinite(vectors).all(axis=1)
        if not finite.all():
            i = int(np.argmin(finite))
            raise self._fail(f"row {i} ({_short(texts[i])}) has non-finite values (nan/inf)")
        if self.normalize:
            norms = np.linalg.norm(vectors, axis=1)
            off = np.abs(norms - 1.0) > NORM_TOLERANCE
            if off.any():
                i = int(np.argmax(off))
                raise self._fail(
                    f"row {i} ({_short(texts[i])}) has L2 norm {norms[i]:.4f}, but the recipe declares "
                    "normalised vectors (teacher.normalize: true)"
                )
        return vectors

    # -- lookup --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._vectors)

    def row_of(self, text: str, kind: TextKind) -> int | None:
        """Row of ``text`` for ``kind`` (a row without a kind serves both), or ``None``."""
        row = self._rows.get((kind, text))
        return self._rows.get((None, text)) if row is None else row

    def require(self, texts: Sequence[str], kind: TextKind) -> None:
        """Raise :class:`~leaf_hub.errors.MissingTeacherTextError` for the first text without a vector."""
        for text in texts:
            if self.row_of(text, kind) is None:
                raise MissingTeacherTextError(
                    f"teacher vectors {self.path.name} have no vector for {kind} text {_short(text)}"
                )

    def encode(self, texts: Sequence[str], kind: TextKind = "document") -> np.ndarray:
        """Look the texts up (every one must be in the file)."""
        self.require(texts, kind)
        rows = [self.row_of(t, kind) for t in texts]
        return np.array(self._vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32)
