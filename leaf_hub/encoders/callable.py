"""A black-box ``texts -> vectors`` function as a teacher (the ``callable`` kind)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from leaf_hub.encoders.base import TextKind
from leaf_hub.errors import TeacherError
from leaf_hub.hashing import digest

if TYPE_CHECKING:
    from leaf_hub.recipe import TeacherSpec

logger = logging.getLogger(__name__)

__all__ = ["CallableTeacher", "import_function"]


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
            self.fingerprint = digest("callable", name, dim, normalize)
        else:
            self.fingerprint = digest(
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
