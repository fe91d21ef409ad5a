"""Every client-side Hub call leaf-hub makes, through ``huggingface_hub``.

One :class:`HubClient` wraps one ``HfApi(endpoint=..., token=...)`` built from explicit settings
(never a module-level client, since ``huggingface_hub`` reads ``HF_ENDPOINT`` at import time).
Errors from ``huggingface_hub`` (and its HTTP transport) are re-raised as the named errors of
:mod:`leaf_hub.errors`, chained with ``from e``, in one line, with the token scrubbed from the
text. The same code talks to huggingface.co and to the embedded ``leaf-hub serve`` server.

Transient failures (connection errors, timeouts, 408/429/5xx answers) of the calls that
``huggingface_hub`` sends only once (repo creation, lookups, refs, the commit ``POST``, tags) are
retried a bounded number of times with exponential backoff, and only where a retry cannot do
something twice: a commit whose answer was lost is detected by re-reading the branch head (and a
retried commit carries ``parent_commit``, so it can never land twice), and a retried tag that
answers 409 is accepted only if the tag points at the requested commit. 4xx answers are never
retried.

Example:
    >>> client = HubClient("http://127.0.0.1:8000", token=resolve_token(None))  # doctest: +SKIP
    >>> client.ensure_repo("org/leaf-ir")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from leaf_hub.errors import (
    HubAuthError,
    HubError,
    RepoIdError,
    RepoNotFound,
    TagExistsError,
    VerificationError,
)
from leaf_hub.version import __version__

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_ENDPOINT",
    "PROBE_TEXTS",
    "RELOAD_MIN_COSINE",
    "HubClient",
    "check_repo_id",
    "reload_in_subprocess",
    "resolve_endpoint",
    "resolve_token",
]

DEFAULT_ENDPOINT = "https://huggingface.co"

#: Answers that mean "not done, try again later" (the statuses ``huggingface_hub``'s ``http_backoff`` retries).
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

_T = TypeVar("_T")

#: Texts encoded by the published model and the local one to check that they agree.
PROBE_TEXTS = (
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "How do I bake bread at home?",
    "A man is eating a piece of bread.",
    "Aspirin lowers the risk of a second heart attack in some patients.",
)

#: Smallest cosine, over :data:`PROBE_TEXTS`, between a published model (or export) reloaded from the
#: Hub and the local one for the two to count as the same model: the one threshold of ``publish``'s
#: and ``release``'s reload checks. 0.9999 (about 0.8 degrees) allows float noise across processes and
#: library versions, not a different model.
RELOAD_MIN_COSINE = 0.9999


def resolve_endpoint(endpoint: str | None) -> str:
    """The endpoint to use: the argument, else ``$HF_ENDPOINT``, else huggingface.co (no trailing ``/``)."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def resolve_token(token_file: str | Path | None) -> str | None:
    """Find the Hub token: ``token_file``, else ``$HF_TOKEN``, else the ``huggingface_hub`` login.

    Args:
        token_file: A file holding the token (first line; surrounding whitespace ignored).

    Returns:
        The token, or ``None`` when none is configured.

    Raises:
        HubAuthError: If ``token_file`` is given but missing or empty.
    """
    if token_file is not None:
        path = Path(token_file).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip().splitlines()
        except OSError as e:
            raise HubAuthError(f"cannot read token file {path} ({e.strerror})") from e
        if not token or not token[0].strip():
            raise HubAuthError(f"token file {path} is empty")
        return token[0].strip()
    env = os.environ.get("HF_TOKEN", "").strip()
    if env:
        return env
    from huggingface_hub import get_token

    return get_token()


#: One half of ``ORG/NAME``: 1-96 of ``[A-Za-z0-9._-]``, first and last a letter or digit.
_REPO_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?")


def check_repo_id(repo_id: str) -> str:
    """The one client-side rule for a Hub model repo id: ``ORG/NAME``, as huggingface.co accepts it.

    ``ORG`` and ``NAME`` are each 1-96 of ``[A-Za-z0-9._-]`` (ASCII), start and end with a letter
    or digit, and hold no ``--`` or ``..``; ``NAME`` does not end in ``.git``. Every id this
    accepts also passes ``huggingface_hub.utils.validate_repo_id`` and the embedded server's
    :func:`leaf_hub.hub_server.validation.validate_repo_part` (checked in ``tests/test_repo_id.py``),
    which additionally accept a bare ``NAME`` or ``_`` at the ends; leaf-hub publishes only under
    an organisation or user, so it asks for both halves. Used by the recipe (``hub.repo_id`` and
    the teacher and student ids), ``publish``, ``release`` and the leaderboard metadata.

    Args:
        repo_id: The id to check.

    Returns:
        ``repo_id`` unchanged.

    Raises:
        RepoIdError: Naming the bad id and the rule it breaks (one line).
    """
    if not isinstance(repo_id, str):
        raise RepoIdError(f"invalid repo id {repo_id!r}: expected a string ORG/NAME")
    if repo_id.count("/") != 1:
        raise RepoIdError(f"invalid repo id {repo_id!r}: expected ORG/NAME (exactly one '/')")
    org, name = repo_id.split("/")
    for part in (org, name):
        if not _REPO_PART.fullmatch(part):
            raise RepoIdError(
                f"invalid repo id {repo_id!r}: use 1-96 of [A-Za-z0-9._-] in ORG and in NAME, "
                "each starting and ending with a letter or digit"
            )
    if "--" in repo_id or ".." in repo_id:
        raise RepoIdError(f"invalid repo id {repo_id!r}: '--' and '..' are not allowed")
    if name.endswith(".git"):
        raise RepoIdError(f"invalid repo id {repo_id!r}: NAME must not end in '.git'")
    return repo_id


def _scrub(text: str, token: str | None) -> str:
    line = " ".join(text.split())
    if token:
        line = line.replace(token, "***")
    return line[:400]


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's base error (``httpx2``/``httpx`` ``HTTPError``) plus ``OSError``."""
    from huggingface_hub.errors import HfHubHTTPError

    bases = tuple(c for c in HfHubHTTPError.__mro__ if c.__name__ == "HTTPError" and c is not HfHubHTTPError)
    return (*bases, OSError)


def _transient_transport_errors() -> tuple[type[BaseException], ...]:
    """Network errors worth a retry: connection refused/reset, timeouts, a server that hung up."""
    import importlib

    from huggingface_hub.errors import HfHubHTTPError

    found: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for base in HfHubHTTPError.__mro__:
        if base.__name__ == "HTTPError" and base is not HfHubHTTPError:
            module = importlib.import_module(base.__module__.split(".")[0])
            for name in ("NetworkError", "TimeoutException", "RemoteProtocolError"):
                cls = getattr(module, name, None)
                if isinstance(cls, type) and issubclass(cls, BaseException):
                    found.append(cls)
    return tuple(found)


def is_transient(error: BaseException | None) -> bool:
    """Whether a failed Hub call may succeed if sent again (network fault, 408/429/5xx answer).

    ``huggingface_hub`` reports a download whose lookup failed as ``LocalEntryNotFoundError``; it is
    transient when the failure behind it is (a missing header, say, is not).
    """
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    if error is None:
        return False
    if isinstance(error, HfHubHTTPError):
        return error.response is not None and error.response.status_code in TRANSIENT_STATUSES
    if isinstance(error, (RuntimeError, LocalEntryNotFoundError)):
        return is_transient(error.__cause__)
    return isinstance(error, _transient_transport_errors())


def _status(error: BaseException | None) -> int | None:
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(error, HfHubHTTPError) and error.response is not None:
        return int(error.response.status_code)
    return None


class HubClient:
    """The one place leaf-hub talks to a Hub.

    Args:
        endpoint: Hub URL (``None``: ``$HF_ENDPOINT`` or huggingface.co).
        token: Access token (``None``: anonymous; see :func:`resolve_token`).
        attempts: Tries of a call that fails transiently (see the module docstring); ``1``: no retry.
        backoff: Seconds before the first retry; doubled for each further one.
        max_wait: Longest pause between two tries, in seconds.
        budget: No retry starts later than this many seconds after a call's first try.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        *,
        attempts: int = 4,
        backoff: float = 1.0,
        max_wait: float = 8.0,
        budget: float = 120.0,
    ) -> None:
        from huggingface_hub import HfApi, constants

        self.endpoint = resolve_endpoint(endpoint)
        self._token = token
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_wait = max_wait
        self.budget = budget
        if self.endpoint != DEFAULT_ENDPOINT and not constants.HF_HUB_DISABLE_XET:
            from huggingface_hub.utils._runtime import is_xet_available

            if is_xet_available():
                raise HubError(
                    f"{self.endpoint} takes classic LFS uploads only: set HF_HUB_DISABLE_XET=1 before "
                    "huggingface_hub is imported (the leaf-hub CLI does this for you)"
                )
        self._api = HfApi(
            endpoint=self.endpoint, token=token or False, library_name="leaf-hub", library_version=__version__
        )

    def __repr__(self) -> str:
        return f"HubClient(endpoint={self.endpoint!r}, token={'set' if self._token else 'none'})"

    @property
    def has_token(self) -> bool:
        """Whether a token is configured."""
        return bool(self._token)

    # -- error mapping --------------------------------------------------------------------------

    def _raise(self, error: BaseException, action: str, repo_id: str | None, revision: str | None) -> NoReturn:
        from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

        scrub = self._scrub
        if isinstance(error, RevisionNotFoundError):
            raise HubError(f"{action}: revision {revision!r} not found in {repo_id}", repo_id=repo_id) from error
        if isinstance(error, RepositoryNotFoundError):
            raise RepoNotFound(
                f"{action}: repository not found: {repo_id} (or not visible with this token)", repo_id=repo_id
            ) from error
        if isinstance(error, HfHubHTTPError):
            status = error.response.status_code if error.response is not None else None
            detail = scrub(error.server_message or str(error).splitlines()[0])
            if status == 401:
                raise HubAuthError(f"{action}: the hub refused the token (401): {detail}", repo_id=repo_id) from error
            if status == 403:
                raise HubAuthError(f"{action}: the token may not write to {repo_id} (403): {detail}") from error
            raise HubError(f"{action} failed ({status}): {detail}", repo_id=repo_id, revision=revision) from error
        cause = error.__cause__ if isinstance(error, RuntimeError) and error.__cause__ else error
        raise HubError(
            f"{action}: cannot complete the request to {self.endpoint} ({type(cause).__name__}: {scrub(str(cause))})",
            repo_id=repo_id,
            revision=revision,
        ) from error

    def _scrub(self, text: str) -> str:
        return _scrub(text, self._token)

    @contextmanager
    def _call(self, action: str, repo_id: str | None = None, revision: str | None = None) -> Iterator[None]:
        from huggingface_hub.errors import HfHubHTTPError

        try:
            yield
        except HfHubHTTPError as e:
            self._raise(e, action, repo_id, revision)
        except (RuntimeError, *_transport_errors()) as e:
            if isinstance(e, RuntimeError) and not isinstance(e.__cause__, (*_transport_errors(), HfHubHTTPError)):
                raise
            if isinstance(e, RuntimeError) and isinstance(e.__cause__, HfHubHTTPError):
                self._raise(e.__cause__, action, repo_id, revision)
            self._raise(e, action, repo_id, revision)

    def _give_up(self, attempt: int, started: float, error: HubError) -> bool:
        """Whether to stop retrying; adds the number of tries to the error's message when it stops."""
        done = attempt >= self.attempts or time.monotonic() - started > self.budget or not is_transient(error.__cause__)
        if done and attempt > 1:
            error.args = (f"{error} (after {attempt} attempts)",)
        return done

    def _pause(self, action: str, attempt: int, error: HubError) -> None:
        delay = min(self.max_wait, self.backoff * 2 ** (attempt - 1))
        logger.warning("%s: %s; retry %d of %d in %.1f s", action, error, attempt, self.attempts - 1, delay)
        time.sleep(delay)

    def _retrying(
        self, action: str, call: Callable[[int], _T], repo_id: str | None = None, revision: str | None = None
    ) -> _T:
        """Run ``call(attempt)`` until it succeeds, fails for good, or ``attempts`` transient failures.

        Only for requests that do the same thing however often they are sent.
        """
        started = time.monotonic()
        for attempt in range(1, self.attempts + 1):
            try:
                with self._call(action, repo_id, revision):
                    return call(attempt)
            except HubError as e:
                if self._give_up(attempt, started, e):
                    raise
                self._pause(action, attempt, e)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- repositories ----------------------------------------------------------------------------

    def whoami(self) -> str:
        """Return the user name the token belongs to.

        Raises:
            HubAuthError: If there is no token or the hub refuses it.
        """
        if not self._token:
            raise HubAuthError("no Hub token: pass --token-file, set HF_TOKEN or log in with `hf auth login`")
        return self._retrying("checking the token", lambda _: str(self._api.whoami()["name"]))

    def ensure_repo(self, repo_id: str, *, private: bool = False) -> str:
        """Create the model repo if it does not exist yet.

        Returns:
            The repo URL.

        Raises:
            HubAuthError, HubError: If the hub refuses.
        """
        return self._retrying(  # exist_ok: a retry after a lost answer finds the repo and is fine
            "creating the repo",
            lambda _: str(self._api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")),
            repo_id,
        )

    def repo_exists(self, repo_id: str) -> bool:
        """Whether ``repo_id`` exists and is visible."""
        return self._retrying(
            "looking up the repo", lambda _: bool(self._api.repo_exists(repo_id, repo_type="model")), repo_id
        )

    def head(self, repo_id: str, revision: str = "main") -> str:
        """The commit id ``revision`` resolves to."""
        return self._retrying(
            "resolving the revision",
            lambda _: str(self._api.repo_info(repo_id, revision=revision, repo_type="model").sha),
            repo_id,
            revision,
        )

    def tag_target(self, repo_id: str, tag: str) -> str | None:
        """The commit a tag points to, or ``None`` when the tag (or the repo) does not exist."""
        from huggingface_hub.errors import RepositoryNotFoundError

        try:
            refs = self._retrying(
                "listing the repo's tags", lambda _: self._api.list_repo_refs(repo_id, repo_type="model"), repo_id
            )
        except RepoNotFound as e:
            if isinstance(e.__cause__, RepositoryNotFoundError):
                return None
            raise
        return next((t.target_commit for t in refs.tags if t.name == tag), None)

    def read_json(self, repo_id: str, path: str, revision: str) -> Any | None:
        """Download and parse a JSON file at ``revision``; ``None`` when the file does not exist."""
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import RemoteEntryNotFoundError

        with tempfile.TemporaryDirectory(prefix="leaf-hub-read-") as tmp:
            try:
                local = self._retrying(
                    f"reading {path}",
                    lambda _: hf_hub_download(
                        repo_id,
                        path,
                        revision=revision,
                        cache_dir=tmp,
                        endpoint=self.endpoint,
                        token=self._token or False,
                    ),
                    repo_id,
                    revision,
                )
            except HubError as e:
                # Only the Hub saying "no such file" means absent; a failed request (huggingface_hub's
                # LocalEntryNotFoundError, also an EntryNotFoundError) must not pass for a missing file.
                if isinstance(e.__cause__, RemoteEntryNotFoundError):
                    return None
                raise
            return json.loads(Path(local).read_text(encoding="utf-8"))

    # -- commits and tags -----------------------------------------------------------------------

    def upload_folder(self, repo_id: str, folder: Path, message: str, *, parent_commit: str | None = None) -> str:
        """Upload ``folder`` as one commit on ``main`` whose tree is the folder (plus ``.gitattributes``).

        Unchanged files are skipped by the client; files an earlier release left on ``main`` that the
        folder no longer has (an export this release does not ship, a renamed file) are deleted in the
        same commit (``delete_patterns="*"``; huggingface_hub never deletes ``.gitattributes``), so a
        tag holds exactly what its manifest lists.

        A transient failure is retried without ever committing twice: if ``main`` moved since the
        upload began, the commit landed and only its answer was lost, so the new head is returned
        (callers verify its content); otherwise the retry carries ``parent_commit`` so the Hub
        refuses it (412) should the first request land after all, and the new head is returned.

        Returns:
            The new commit id, or the current head when nothing changed.
        """
        base = parent_commit
        if base is None and self.attempts > 1:
            try:
                base = self.head(repo_id, "main")
            except RepoNotFound:
                base = None  # no repo yet: the upload fails on its own, nothing to protect
        started = time.monotonic()
        for attempt in range(1, self.attempts + 1):
            try:
                with self._call("uploading", repo_id, "main"):
                    info = self._api.upload_folder(
                        repo_id=repo_id,
                        folder_path=str(folder),
                        commit_message=message,
                        repo_type="model",
                        revision="main",
                        parent_commit=parent_commit if attempt == 1 else base,
                        delete_patterns="*",
                    )
                return str(info.oid)
            except HubError as e:
                if attempt > 1 and base is not None and _status(e.__cause__) == 412:
                    head = self.head(repo_id, "main")
                    logger.warning("uploading: an earlier attempt's commit landed late (%s)", head[:12])
                    return head
                if base is None or self._give_up(attempt, started, e):
                    raise
                try:
                    head = self.head(repo_id, "main")
                except HubError:
                    raise e from e.__cause__  # the hub is unreachable: report the upload's own failure
                if head != base:
                    logger.warning("uploading: %s, but the commit landed (%s)", e, head[:12])
                    return head
                self._pause("uploading", attempt, e)
        raise AssertionError("unreachable")  # pragma: no cover

    def create_tag(self, repo_id: str, tag: str, revision: str, message: str) -> None:
        """Tag ``revision``; an existing tag is never moved.

        Raises:
            TagExistsError: If the tag exists already.
        """
        tries: list[int] = []

        def create(attempt: int) -> None:
            tries.append(attempt)
            self._api.create_tag(repo_id, tag=tag, revision=revision, tag_message=message, repo_type="model")

        try:
            self._retrying(f"creating tag {tag}", create, repo_id, revision)
        except HubError as e:
            cause = e.__cause__
            if _status(cause) == 409:
                if len(tries) > 1 and self.tag_target(repo_id, tag) == self.head(repo_id, revision):
                    logger.warning("creating tag %s: an earlier attempt created it (its answer was lost)", tag)
                    return
                raise TagExistsError(
                    f"tag {tag} already exists on {repo_id}; tags are never moved, bump the version",
                    repo_id=repo_id,
                    revision=tag,
                ) from cause
            raise

    def download(self, repo_id: str, revision: str, cache_dir: Path) -> Path:
        """Download one exact revision into ``cache_dir`` (a fresh cache) and return its folder."""
        from huggingface_hub import snapshot_download

        return self._retrying(
            "downloading the published commit",
            lambda _: Path(
                snapshot_download(
                    repo_id,
                    revision=revision,
                    cache_dir=str(cache_dir),
                    endpoint=self.endpoint,
                    token=self._token or False,
                    repo_type="model",
                )
            ),
            repo_id,
            revision,
        )

    # -- verification ---------------------------------------------------------------------------

    def reload_env(self, hf_home: Path) -> dict[str, str]:
        """Environment of a fresh process that loads from this hub (token passed in env, never argv)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
        env.update(
            HF_ENDPOINT=self.endpoint,
            HF_HOME=str(hf_home),
            HF_HUB_DISABLE_XET="1",
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            TOKENIZERS_PARALLELISM="false",
        )
        if self._token:
            env["HF_TOKEN"] = self._token
        return env


_WORKER = """
import json, sys
import numpy as np
from sentence_transformers import SentenceTransformer
spec = json.load(sys.stdin)
model = SentenceTransformer(spec["repo_id"], revision=spec["revision"], device="cpu")
out = {}
for name, (method, kwargs) in spec["calls"].items():
    vectors = getattr(model, method)(spec["texts"], convert_to_numpy=True, **kwargs)
    out[name] = np.asarray(vectors, dtype=np.float32).tolist()
with open(spec["out"], "w", encoding="utf-8") as fh:
    json.dump(out, fh)
"""


def reload_in_subprocess(
    client: HubClient,
    repo_id: str,
    revision: str,
    calls: dict[str, tuple[str, dict[str, Any]]],
    texts: Sequence[str] = PROBE_TEXTS,
    *,
    hf_home: Path,
    timeout: float = 600,
) -> dict[str, Any]:
    """Load ``repo_id`` at ``revision`` with ``SentenceTransformer`` in a fresh Python process.

    Args:
        client: The hub client (endpoint and token for the child's environment).
        repo_id: The published repo.
        revision: The exact commit id to load.
        calls: Name -> (``SentenceTransformer`` method, kwargs), e.g.
            ``{"query": ("encode", {"prompt_name": "query"})}``.
        texts: Texts to encode.
        hf_home: An empty folder used as the child's ``HF_HOME`` (a fresh cache).
        timeout: Seconds before the child is killed.

    Returns:
        Name -> list of vectors.

    Raises:
        VerificationError: If the child fails to load or encode.
    """
    import numpy as np

    out_file = hf_home / "reload-vectors.json"
    spec = {"repo_id": repo_id, "revision": revision, "texts": list(texts), "calls": calls, "out": str(out_file)}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _WORKER],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            env=client.reload_env(hf_home),
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        raise VerificationError(f"reloading {repo_id}@{revision[:12]} took over {timeout:.0f} s") from e
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        last = client._scrub(lines[-1]) if lines else f"exit {proc.returncode}"
        raise VerificationError(
            f"published {repo_id}@{revision[:12]} does not load with SentenceTransformer in a fresh process: {last}",
            repo_id=repo_id,
            revision=revision,
        )
    out = json.loads(out_file.read_text(encoding="utf-8"))
    return {name: np.asarray(vectors, dtype=np.float32) for name, vectors in out.items()}
