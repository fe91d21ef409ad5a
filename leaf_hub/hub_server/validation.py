"""Input checks: repository ids, file paths inside a repository, branch and tag names.

Every check raises :class:`~leaf_hub.hub_server.errors.BadRequestError` (HTTP 400) whose message
quotes the bad value, before anything touches the disk.
"""

from __future__ import annotations

import re

from leaf_hub.hub_server.errors import BadRequestError

__all__ = [
    "REPO_TYPES",
    "RESERVED_NAMESPACES",
    "is_commit_id",
    "validate_path",
    "validate_ref_name",
    "validate_repo_part",
]

#: API plural (as in ``/api/models/...``) -> repo type (as in the client's ``repo_type=``).
REPO_TYPES: dict[str, str] = {"models": "model", "datasets": "dataset", "spaces": "space"}

#: Namespaces that would clash with the server's own URL prefixes.
RESERVED_NAMESPACES = frozenset({"api", "models", "datasets", "spaces", "lfs-upload", "resolve", "static"})

_PART = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")
_REF_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_COMMIT_ID = re.compile(r"^[0-9a-f]{40}$")
_MAX_PATH_BYTES = 1024
_MAX_REF_LENGTH = 200


def validate_repo_part(value: str, what: str) -> str:
    """Check one half of ``namespace/name`` like the Hub does.

    Allowed: ``[A-Za-z0-9._-]``, at most 96 characters, no leading/trailing ``-`` or ``.``,
    no ``--`` or ``..``, a name not ending in ``.git``, a namespace not reserved.

    Args:
        value: the namespace or the name.
        what: ``"namespace"`` or ``"name"`` (for the message).

    Returns:
        ``value`` unchanged.

    Raises:
        BadRequestError: If the value breaks a rule.
    """
    if not _PART.match(value) or "--" in value or ".." in value:
        raise BadRequestError(
            f"invalid repo {what} {value!r}: use 1-96 of [A-Za-z0-9._-], "
            "no leading/trailing '-' or '.', no '--' or '..'"
        )
    if what == "name" and value.endswith(".git"):
        raise BadRequestError(f"invalid repo name {value!r}: must not end in '.git'")
    if what == "namespace" and value.lower() in RESERVED_NAMESPACES:
        raise BadRequestError(f"invalid repo namespace {value!r}: reserved by the server")
    return value


def validate_path(path: str, *, allow_root: bool = False) -> str:
    """Check a file or folder path inside a repository.

    Rejected: absolute paths, backslashes, NUL and control characters, empty, ``.`` and ``..``
    segments, a ``.git`` segment, and paths over 1024 bytes. A trailing ``/`` is removed.

    Args:
        path: the path as sent by the client (already percent-decoded).
        allow_root: accept ``""`` (the repository root, for folder listings).

    Returns:
        The normalised path (no trailing ``/``).

    Raises:
        BadRequestError: If the path is unsafe.
    """
    if path.startswith("/"):
        raise BadRequestError(f"invalid path {path!r}: absolute paths are not allowed")
    if path.endswith("/"):
        path = path[:-1]
    if path == "":
        if allow_root:
            return ""
        raise BadRequestError("invalid path '': a file path is required")
    if "\\" in path:
        raise BadRequestError(f"invalid path {path!r}: backslashes are not allowed")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        raise BadRequestError(f"invalid path {path!r}: NUL and control characters are not allowed")
    if len(path.encode("utf-8", "surrogatepass")) > _MAX_PATH_BYTES:
        raise BadRequestError(f"invalid path {path[:40]!r}...: longer than {_MAX_PATH_BYTES} bytes")
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise BadRequestError(f"invalid path {path!r}: empty, '.' and '..' segments are not allowed")
        if segment.lower() == ".git":
            raise BadRequestError(f"invalid path {path!r}: '.git' is reserved")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError as error:
        raise BadRequestError(f"invalid path {path!r}: not valid UTF-8") from error
    return path


def validate_ref_name(name: str, what: str = "branch") -> str:
    """Check a branch or tag name (a safe subset of ``git check-ref-format``).

    Segments of ``[A-Za-z0-9._-]`` separated by ``/``, not starting with ``.`` or ``-``, no ``..``,
    not ending in ``.lock``, not a 40-hex string (it would read as a commit id), not ``refs/...``.

    Raises:
        BadRequestError: If the name breaks a rule.
    """
    bad = (
        not name
        or len(name) > _MAX_REF_LENGTH
        or ".." in name
        or name.endswith(".lock")
        or name.startswith("refs/")
        or is_commit_id(name)
        or not all(_REF_SEGMENT.match(s) for s in name.split("/"))
    )
    if bad:
        raise BadRequestError(
            f"invalid {what} name {name!r}: use segments of [A-Za-z0-9._-] separated by '/', "
            "no '..', not starting with '.' or '-', not 40 hex characters"
        )
    return name


def is_commit_id(value: str) -> bool:
    """Return whether ``value`` is a full lowercase 40-hex commit id."""
    return bool(_COMMIT_ID.match(value))
