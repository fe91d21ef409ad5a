"""Every client-side Hub call leaf-hub makes, through ``huggingface_hub``.

One :class:`HubClient` wraps one ``HfApi(endpoint=..., token=...)`` built from explicit settings
(never a module-level client, since ``huggingface_hub`` reads ``HF_ENDPOINT`` at import time).
Errors from ``huggingface_hub`` (and its HTTP transport) are re-raised as the named errors of
:mod:`leaf_hub.errors`, chained with ``from e``, in one line, with the token scrubbed from the
text. The same code talks to huggingface.co and to the embedded ``leaf-hub serve`` server.

Example:
    >>> client = HubClient("http://127.0.0.1:8000", token=resolve_token(None))  # doctest: +SKIP
    >>> client.ensure_repo("org/leaf-ir")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from leaf_hub.errors import HubAuthError, HubError, ReleaseError, RepoNotFound, TagExistsError, VerificationError
from leaf_hub.version import __version__

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_ENDPOINT",
    "PROBE_TEXTS",
    "HubClient",
    "reload_in_subprocess",
    "resolve_endpoint",
    "resolve_token",
    "validate_repo_id",
]

DEFAULT_ENDPOINT = "https://huggingface.co"

#: Texts encoded by the published model and the local one to check that they agree.
PROBE_TEXTS = (
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "How do I bake bread at home?",
    "A man is eating a piece of bread.",
    "Aspirin lowers the risk of a second heart attack in some patients.",
)


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


def validate_repo_id(repo_id: str) -> str:
    """Check ``repo_id`` with ``huggingface_hub``'s own rules and require ``org/name``.

    Raises:
        ReleaseError: Naming the bad id and the rule it breaks.
    """
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id as hf_validate

    if repo_id.count("/") != 1:
        raise ReleaseError(f"invalid repo id {repo_id!r}: expected ORG/NAME")
    try:
        hf_validate(repo_id)
    except HFValidationError as e:
        raise ReleaseError(f"invalid repo id {repo_id!r}: {str(e).splitlines()[0]}") from e
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


class HubClient:
    """The one place leaf-hub talks to a Hub.

    Args:
        endpoint: Hub URL (``None``: ``$HF_ENDPOINT`` or huggingface.co).
        token: Access token (``None``: anonymous; see :func:`resolve_token`).
    """

    def __init__(self, endpoint: str | None = None, token: str | None = None) -> None:
        from huggingface_hub import HfApi, constants

        self.endpoint = resolve_endpoint(endpoint)
        self._token = token
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

    # -- repositories ----------------------------------------------------------------------------

    def whoami(self) -> str:
        """Return the user name the token belongs to.

        Raises:
            HubAuthError: If there is no token or the hub refuses it.
        """
        if not self._token:
            raise HubAuthError("no Hub token: pass --token-file, set HF_TOKEN or log in with `hf auth login`")
        with self._call("checking the token"):
            return str(self._api.whoami()["name"])

    def ensure_repo(self, repo_id: str, *, private: bool = False) -> str:
        """Create the model repo if it does not exist yet.

        Returns:
            The repo URL.

        Raises:
            HubAuthError, HubError: If the hub refuses.
        """
        with self._call("creating the repo", repo_id):
            return str(self._api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model"))

    def repo_exists(self, repo_id: str) -> bool:
        """Whether ``repo_id`` exists and is visible."""
        with self._call("looking up the repo", repo_id):
            return bool(self._api.repo_exists(repo_id, repo_type="model"))

    def head(self, repo_id: str, revision: str = "main") -> str:
        """The commit id ``revision`` resolves to."""
        with self._call("resolving the revision", repo_id, revision):
            return str(self._api.repo_info(repo_id, revision=revision, repo_type="model").sha)

    def tag_target(self, repo_id: str, tag: str) -> str | None:
        """The commit a tag points to, or ``None`` when the tag (or the repo) does not exist."""
        from huggingface_hub.errors import RepositoryNotFoundError

        try:
            with self._call("listing the repo's tags", repo_id):
                refs = self._api.list_repo_refs(repo_id, repo_type="model")
        except RepoNotFound as e:
            if isinstance(e.__cause__, RepositoryNotFoundError):
                return None
            raise
        return next((t.target_commit for t in refs.tags if t.name == tag), None)

    def read_json(self, repo_id: str, path: str, revision: str) -> Any | None:
        """Download and parse a JSON file at ``revision``; ``None`` when the file does not exist."""
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError

        with tempfile.TemporaryDirectory(prefix="leaf-hub-read-") as tmp:
            try:
                with self._call(f"reading {path}", repo_id, revision):
                    local = hf_hub_download(
                        repo_id,
                        path,
                        revision=revision,
                        cache_dir=tmp,
                        endpoint=self.endpoint,
                        token=self._token or False,
                    )
            except HubError as e:
                if isinstance(e.__cause__, EntryNotFoundError):
                    return None
                raise
            return json.loads(Path(local).read_text(encoding="utf-8"))

    # -- commits and tags -----------------------------------------------------------------------

    def upload_folder(self, repo_id: str, folder: Path, message: str, *, parent_commit: str | None = None) -> str:
        """Upload ``folder`` as one commit on ``main`` (unchanged files are skipped by the client).

        Returns:
            The new commit id, or the current head when nothing changed.
        """
        with self._call("uploading", repo_id, "main"):
            info = self._api.upload_folder(
                repo_id=repo_id,
                folder_path=str(folder),
                commit_message=message,
                repo_type="model",
                revision="main",
                parent_commit=parent_commit,
            )
        return str(info.oid)

    def create_tag(self, repo_id: str, tag: str, revision: str, message: str) -> None:
        """Tag ``revision``; an existing tag is never moved.

        Raises:
            TagExistsError: If the tag exists already.
        """
        from huggingface_hub.errors import HfHubHTTPError

        try:
            with self._call(f"creating tag {tag}", repo_id, revision):
                self._api.create_tag(repo_id, tag=tag, revision=revision, tag_message=message, repo_type="model")
        except HubError as e:
            cause = e.__cause__
            if isinstance(cause, HfHubHTTPError) and cause.response is not None and cause.response.status_code == 409:
                raise TagExistsError(
                    f"tag {tag} already exists on {repo_id}; tags are never moved, bump the version",
                    repo_id=repo_id,
                    revision=tag,
                ) from cause
            raise

    def download(self, repo_id: str, revision: str, cache_dir: Path) -> Path:
        """Download one exact revision into ``cache_dir`` (a fresh cache) and return its folder."""
        from huggingface_hub import snapshot_download

        with self._call("downloading the published commit", repo_id, revision):
            return Path(
                snapshot_download(
                    repo_id,
                    revision=revision,
                    cache_dir=str(cache_dir),
                    endpoint=self.endpoint,
                    token=self._token or False,
                    repo_type="model",
                )
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
