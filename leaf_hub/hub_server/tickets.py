"""Signed, expiring LFS upload links.

The client ``PUT``s LFS objects without credentials (HUB_API §4.12), so the authority lives in
the link: an HMAC-SHA256 over repo, object id, size and expiry, keyed by a secret kept in
``<data_dir>/upload.secret`` (mode 0600). Links survive a server restart (a client retrying
its PUT after a crash still succeeds) and only allow storing the announced object, whose
sha256 and size are checked anyway. Links are secrets: they are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from leaf_hub.hub_server.errors import ForbiddenError, NotFoundError
from leaf_hub.hub_server.storage import RepoKey

__all__ = ["UploadGrant", "UploadSigner", "load_or_create_secret"]


def load_or_create_secret(path: Path) -> bytes:
    """Read the signing secret at ``path``, creating it (32 random bytes, mode 0600) if missing."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_bytes()
        if len(secret) >= 32:
            return secret
        path.unlink()  # truncated by a crash during creation
        return load_or_create_secret(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))
        handle.flush()
        os.fsync(handle.fileno())
    return path.read_bytes()


@dataclass(frozen=True)
class UploadGrant:
    """What a valid upload link allows: one object (sha256 + size) into one repo."""

    key: RepoKey
    sha256: str
    size: int


class UploadSigner:
    """Make and check upload tickets (the last path segment of an upload link)."""

    def __init__(self, secret: bytes, *, ttl_seconds: int) -> None:
        self._secret = secret
        self._ttl = ttl_seconds

    def _mac(self, payload: bytes) -> str:
        digest = hmac.new(self._secret, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, key: RepoKey, sha256: str, size: int) -> str:
        """Return a ticket allowing one upload of ``sha256``/``size`` into ``key`` until the TTL ends."""
        expires = int(time.time()) + self._ttl
        payload = f"{key.repo_type}\n{key.namespace}\n{key.name}\n{sha256}\n{size}\n{expires}".encode()
        return base64.urlsafe_b64encode(payload).rstrip(b"=").decode() + "." + self._mac(payload)

    def verify(self, ticket: str) -> UploadGrant:
        """Check a ticket's signature and expiry.

        Raises:
            NotFoundError: If the ticket is malformed or forged.
            ForbiddenError: If it expired.
        """
        encoded, _, mac = ticket.partition(".")
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            raise NotFoundError("unknown upload link") from None
        if not mac or not hmac.compare_digest(mac, self._mac(payload)):
            raise NotFoundError("unknown upload link")
        repo_type, namespace, name, sha256, size, expires = payload.decode().split("\n")
        if int(expires) < time.time():
            raise ForbiddenError("upload link expired; retry the upload to get a fresh one")
        return UploadGrant(RepoKey(repo_type, namespace, name), sha256, int(size))
