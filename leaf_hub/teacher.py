"""Teachers and the on-disk cache of their embeddings.

A :class:`Teacher` is anything that turns texts into float32 vectors: a sentence-transformers
model (:class:`SentenceTransformerTeacher`), a file of vectors bought once from an API
(:class:`PrecomputedTeacher`) or a black-box function (:class:`CallableTeacher`);
:func:`build_teacher` makes the one a recipe's ``teacher.kind`` names.
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

from leaf_hub.errors import CacheCorruptError, MissingTeacherTextError, TeacherError, TeacherFileError
from leaf_hub.hashing import sha256_file

if TYPE_CHECKING:
    from leaf_hub.recipe import TeacherSpec

logger = logging.getLogger(__name__)

TextKind = Literal["query", "document"]

__all__ = [
    "CacheStats",
    "CallableTeacher",
    "PrecomputedTeacher",
    "SentenceTransformerTeacher",
    "Teacher",
    "TeacherCache",
    "TextKind",
    "build_teacher",
    "evaluation_teacher",
    "import_function",
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


class CallableTeacher:
    """Wrap any black-box ``texts -> vectors`` function (an API, another framework) as a teacher.

    The function is called in batches of ``batch_size`` texts; a batch whose call raises is
    retried up to ``max_retries`` times, ``backoff`` seconds after the first failure and twice as
    long after each further one. Shape and finiteness are checked on every batch (never retried:
    a function that returns the wrong thing will return it again).

    Args:
        fn: Function taking a list of texts (and optionally ``kind=``) and returning vectors.
        dim: Output dimension.
        name: Stable name identifying the function; part of the fingerprint.
        normalize: L2-normalise the vectors after ``fn``.
        takes_kind: Whether ``fn`` accepts ``kind="query"|"document"``.
        version: Declared version of the function; part of the fingerprint.
        qualname: ``module:function`` the function was imported from; part of the fingerprint.
        batch_size: Texts per call (``None``: all texts of one :meth:`encode` call at once).
        max_retries: Retries of a failed call.
        backoff: Seconds before the first retry (doubled after each).
        query_prompt: Prepended to query texts.
        document_prompt: Prepended to document texts.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        dim: int,
        name: str,
        normalize: bool = False,
        takes_kind: bool = False,
        version: str | None = None,
        qualname: str | None = None,
        batch_size: int | None = None,
        max_retries: int = 0,
        backoff: float = 1.0,
        query_prompt: str = "",
        document_prompt: str = "",
    ) -> None:
        self.fn = fn
        self.dim = dim
        self.name = name
        self.normalize = normalize
        self.takes_kind = takes_kind
        self.version = version
        self.qualname = qualname
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff = backoff
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        self.calls = 0
        if version is None and qualname is None and not (query_prompt or document_prompt):
            self.fingerprint = _digest("callable", name, dim, normalize)
        else:
            self.fingerprint = _digest(
                "callable", name, version, qualname, dim, normalize, query_prompt, document_prompt
            )

    @classmethod
    def from_spec(cls, spec: TeacherSpec) -> CallableTeacher:
        """Import ``spec.function`` (``module:function``) and wrap it.

        Raises:
            TeacherError: If the module or the function cannot be imported.
        """
        fn = import_function(str(spec.function))
        return cls(
            fn,
            dim=int(spec.dim or 0),
            name=spec.id,
            normalize=spec.normalize,
            takes_kind=_accepts_kind(fn),
            version=spec.function_version,
            qualname=spec.function,
            batch_size=spec.batch_size,
            max_retries=spec.max_retries,
            backoff=spec.retry_backoff,
            query_prompt=spec.query_prompt,
            document_prompt=spec.document_prompt,
        )

    def _call(self, texts: list[str], kind: TextKind) -> Any:
        for attempt in range(self.max_retries + 1):
            self.calls += 1
            try:
                return self.fn(texts, kind=kind) if self.takes_kind else self.fn(texts)
            except Exception as e:  # noqa: BLE001 - a black box may raise anything; retried, then reported
                if attempt == self.max_retries:
                    what = self.qualname or self.name
                    raise TeacherError(
                        f"teacher function {what} failed {attempt + 1} times on a batch of {len(texts)} texts "
                        f"({type(e).__name__}: {' '.join(str(e).split())[:200]})"
                    ) from e
                wait = self.backoff * 2**attempt
                logger.warning("teacher function failed (%s); retry %d in %.1f s", type(e).__name__, attempt + 1, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def encode(self, texts: Sequence[str], kind: TextKind = "document") -> np.ndarray:
        """Call the wrapped function batch by batch and check its output."""
        prompt = self.query_prompt if kind == "query" else self.document_prompt
        texts = [prompt + t for t in texts]
        step = self.batch_size or max(len(texts), 1)
        parts = []
        for begin in range(0, len(texts), step):
            batch = texts[begin : begin + step]
            vectors = np.asarray(self._call(batch, kind), dtype=np.float32)
            if vectors.ndim != 2 or vectors.shape != (len(batch), self.dim):
                raise TeacherError(f"teacher returned shape {vectors.shape}, expected ({len(batch)}, {self.dim})")
            parts.append(vectors)
        vectors = np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)
        if self.normalize:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors


def import_function(path: str) -> Callable[..., Any]:
    """Import ``module:function`` (the function may be a dotted attribute path).

    Raises:
        TeacherError: If the module or the attribute is missing, or is not callable.
    """
    import importlib

    module_name, _, attr = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise TeacherError(f"teacher function {path}: cannot import module {module_name} ({e})") from e
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise TeacherError(f"teacher function {path}: {module_name} has no attribute {attr}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TeacherError(f"teacher function {path} is not callable")
    return obj


def _accepts_kind(fn: Callable[..., Any]) -> bool:
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "kind" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


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
        digest = sha256_file(self.path)
        self.fingerprint = (
            digest if self.texts_path is None else _digest("precomputed", digest, sha256_file(self.texts_path))
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


def evaluation_teacher(spec: TeacherSpec) -> tuple[Teacher | None, str | None]:
    """The teacher evaluation encodes new texts with, or ``(None, reason)`` when there is none.

    A ``callable`` teacher is called on the evaluation texts (through the same cache); a
    ``precomputed`` file only holds the training texts, so the teacher and asymmetric modes are
    skipped with the reason returned here.
    """
    if spec.kind == "precomputed":
        return None, (
            f"the teacher {spec.id} is a precomputed file of the training texts' vectors "
            "and cannot encode evaluation texts"
        )
    return build_teacher(spec), None


def build_teacher(spec: TeacherSpec, device: str | None = None) -> Teacher:
    """The teacher a recipe names, whatever its ``kind``.

    Args:
        spec: The recipe's teacher section.
        device: Torch device of a ``sentence-transformers`` teacher (ignored by the others).

    Returns:
        A :class:`SentenceTransformerTeacher`, :class:`PrecomputedTeacher` (file checked) or
        :class:`CallableTeacher`.

    Raises:
        TeacherFileError: If a precomputed file fails a check (one line, first offending row).
        TeacherError: If a callable cannot be imported.
    """
    if spec.kind == "precomputed":
        return PrecomputedTeacher.from_spec(spec)
    if spec.kind == "callable":
        return CallableTeacher.from_spec(spec)
    return SentenceTransformerTeacher.from_spec(spec, device=device)


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
