"""Token lookup and the read/write rules of the server.

Rules (as on the Hub): a request without ``Authorization`` is anonymous; a token that is not
configured is rejected with 401 ``Invalid credentials in Authorization header`` on every route.
Public repos are readable by anyone; private repos only with a token whose user owns the
namespace (its own name or one of its orgs). Every write needs a ``write`` token owning the
namespace. Invisible repos answer ``RepoNotFound`` (401 anonymous, 404 authenticated), so their
existence does not leak.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from leaf_hub.hub_server.errors import ForbiddenError, RepoNotFoundError, UnauthorizedError
from leaf_hub.hub_server.settings import TokenRecord
from leaf_hub.hub_server.storage import RepoKey, RepoMeta

__all__ = ["INVALID_CREDENTIALS", "TokenIndex", "check_read", "check_write", "require_user"]

#: The message the Hub (and the client's 401 handling) uses for unknown tokens.
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


class TokenIndex:
    """Token -> :class:`TokenRecord`, keyed by sha256 so lookups do not compare secrets byte by byte."""

    def __init__(self, records: Iterable[TokenRecord]) -> None:
        self._by_digest = {_digest(r.token): r for r in records}

    def __len__(self) -> int:
        return len(self._by_digest)

    def principal(self, authorization: str | None) -> TokenRecord | None:
        """Return the caller for an ``Authorization`` header value (``None``: anonymous).

        Raises:
            UnauthorizedError: If a header is present but is not ``Bearer <known token>``.
        """
        if authorization is None:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        record = self._by_digest.get(_digest(token)) if scheme.lower() == "bearer" and token else None
        if record is None:
            raise UnauthorizedError(INVALID_CREDENTIALS)
        return record


def _hidden(principal: TokenRecord | None) -> RepoNotFoundError:
    return RepoNotFoundError("Repository not found", status_code=401 if principal is None else 404)


def check_read(principal: TokenRecord | None, key: RepoKey, meta: RepoMeta | None) -> RepoMeta:
    """Return the repo's metadata if the caller may read it.

    Raises:
        RepoNotFoundError: If the repo is missing, or private and not the caller's.
    """
    if meta is None or (meta.private and (principal is None or not principal.owns(key.namespace))):
        raise _hidden(principal)
    return meta


def require_user(principal: TokenRecord | None, *, write: bool, namespace: str | None = None) -> TokenRecord:
    """Return the caller if authenticated (with a write token owning ``namespace`` when asked).

    Raises:
        UnauthorizedError: If anonymous.
        ForbiddenError: If the token is read-only or does not own ``namespace``.
    """
    if principal is None:
        raise UnauthorizedError("You must be authenticated: send 'Authorization: Bearer <token>'")
    if write and principal.role != "write":
        raise ForbiddenError(f"the token of {principal.user!r} is read-only; a write token is needed")
    if namespace is not None and not principal.owns(namespace):
        raise ForbiddenError(f"the token of {principal.user!r} cannot write to namespace {namespace!r}")
    return principal


def check_write(principal: TokenRecord | None, key: RepoKey, meta: RepoMeta | None) -> TokenRecord:
    """Return the caller if it may write to the repo.

    Raises:
        RepoNotFoundError: If the repo is missing or invisible to the caller.
        UnauthorizedError: If anonymous.
        ForbiddenError: If the token is read-only or does not own the namespace.
    """
    check_read(principal, key, meta)
    return require_user(principal, write=True, namespace=key.namespace)
