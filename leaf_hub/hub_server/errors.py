"""Errors of the Hub server, each carrying the HTTP status and ``X-Error-Code`` the client reads.

``huggingface_hub.utils.hf_raise_for_status`` turns the ``X-Error-Code`` header into a named
exception (``RepositoryNotFoundError``, ``RevisionNotFoundError``, ``EntryNotFoundError``), so
every expected failure is one of these classes and :func:`leaf_hub.hub_server.app.create_app`
renders it as status + ``X-Error-Code``/``X-Error-Message`` headers + ``{"error": ...}``.
Messages are one line and never contain a token.
"""

from __future__ import annotations

from typing import Any, ClassVar

from leaf_hub.errors import LeafHubError


class HubServerError(LeafHubError):
    """An expected failure of a Hub request, rendered as a 4xx answer.

    Example message: ``Repository not found``.

    Attributes:
        status_code: HTTP status of the answer.
        error_code: value of the ``X-Error-Code`` header, or ``None`` for no header.
        headers: extra response headers (for example ``X-Repo-Commit``).
        body: extra JSON keys merged into the ``{"error": ...}`` body.
    """

    status_code: ClassVar[int] = 400
    error_code: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code  # type: ignore[misc]
        self.headers = dict(headers or {})
        self.body = dict(body or {})


class BadRequestError(HubServerError):
    """Malformed input: bad JSON, invalid repo id, unsafe path, wrong LFS size/hash.

    Example message: ``invalid path '../etc/passwd': '..' segments are not allowed``.
    """

    status_code = 400


class UnauthorizedError(HubServerError):
    """No usable credentials (missing where required, or an unknown token).

    Example message: ``Invalid credentials in Authorization header``.
    """

    status_code = 401


class ForbiddenError(HubServerError):
    """Authenticated, but the token may not do this (read-only role, foreign namespace).

    Example message: ``token of 'bob' cannot write to namespace 'alice'``.
    """

    status_code = 403


class RepoNotFoundError(HubServerError):
    """The repository does not exist or is not visible to the caller (404, or 401 when anonymous).

    Example message: ``Repository not found``.
    """

    status_code = 404
    error_code = "RepoNotFound"


class RevisionNotFoundError(HubServerError):
    """The revision (branch, tag, ref or commit id) does not exist in the repository.

    Example message: ``Invalid rev id: v9.9.9``.
    """

    status_code = 404
    error_code = "RevisionNotFound"


class EntryNotFoundError(HubServerError):
    """A file or folder does not exist at an existing revision.

    Example message: ``Entry not found``.
    """

    status_code = 404
    error_code = "EntryNotFound"


class NotFoundError(HubServerError):
    """Anything else that does not exist (an unknown route, an unsupported endpoint).

    Example message: ``Xet storage is not supported by this server; set HF_HUB_DISABLE_XET=1``.
    """

    status_code = 404


class ConflictError(HubServerError):
    """The thing to create exists already (repo, tag, branch) or a path clashes with a folder.

    Example message: ``tag v0.1.0 already exists``.
    """

    status_code = 409


class PreconditionFailedError(HubServerError):
    """``parentCommit`` of a commit is not the branch head any more.

    Example message: ``parent commit 3f2a... is not the head of main (9c1b...)``.
    """

    status_code = 412


class PayloadTooLargeError(HubServerError):
    """A request body or file is larger than the server's configured limit.

    Example message: ``request body exceeds the limit of 268435456 bytes``.
    """

    status_code = 413


class RangeNotSatisfiableError(HubServerError):
    """A ``Range`` header asks for bytes outside the file.

    Example message: ``range bytes=100-200 not satisfiable for a 50-byte file``.
    """

    status_code = 416


class InsufficientStorageError(HubServerError):
    """The data directory's disk is full.

    Example message: ``the server's disk is full; nothing was written``.
    """

    status_code = 507
