"""FastAPI dependencies and request helpers shared by the routers.

``StateDep`` gives the server state (settings, storage, tokens, upload signer); ``PrincipalDep``
the caller's token record (``None`` when anonymous, 401 for an unknown token); ``ApiRepoDep``
the validated :class:`RepoKey` of an ``/api/{repo_type}/{namespace}/{name}/...`` route.
Revisions and paths are read from the *raw* request path (HUB_API §2.2) by :func:`rev_and_path`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import unquote

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from leaf_hub.hub_server.auth import TokenIndex
from leaf_hub.hub_server.errors import BadRequestError, PayloadTooLargeError, RepoNotFoundError
from leaf_hub.hub_server.settings import ServerSettings, TokenRecord
from leaf_hub.hub_server.storage import RepoKey, Storage
from leaf_hub.hub_server.tickets import UploadSigner
from leaf_hub.hub_server.validation import REPO_TYPES, validate_path, validate_repo_part

__all__ = [
    "API_REV_INDEX",
    "ApiRepoDep",
    "PrincipalDep",
    "ServerState",
    "StateDep",
    "base_url",
    "parse_body",
    "read_body",
    "read_json",
    "repo_key",
    "rev_and_path",
]

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class ServerState:
    """Everything a request handler needs, stored on ``app.state.hub``."""

    settings: ServerSettings
    storage: Storage
    tokens: TokenIndex
    signer: UploadSigner


def get_state(request: Request) -> ServerState:
    """Return the state of the app serving ``request``."""
    return request.app.state.hub


StateDep = Annotated[ServerState, Depends(get_state)]


def get_principal(request: Request, state: StateDep) -> TokenRecord | None:
    """Return the caller's token record, ``None`` when anonymous.

    Raises:
        UnauthorizedError: If the ``Authorization`` header holds an unknown token.
    """
    return state.tokens.principal(request.headers.get("authorization"))


PrincipalDep = Annotated[TokenRecord | None, Depends(get_principal)]


def repo_key(repo_type: str, namespace: str, name: str) -> RepoKey:
    """Validate a repo type (``model``/``dataset``/``space``) and id parts and return the key.

    Raises:
        BadRequestError: If a part is not a valid Hub repo id part.
    """
    return RepoKey(repo_type, validate_repo_part(namespace, "namespace"), validate_repo_part(name, "name"))


def get_api_repo(repo_type: str, namespace: str, name: str) -> RepoKey:
    """Dependency: the repo of an ``/api/{repo_type}/{namespace}/{name}/...`` route.

    Raises:
        RepoNotFoundError: If ``repo_type`` is not ``models``, ``datasets`` or ``spaces``.
        BadRequestError: If the id is malformed.
    """
    if repo_type not in REPO_TYPES:
        raise RepoNotFoundError("Repository not found")
    return repo_key(REPO_TYPES[repo_type], namespace, name)


ApiRepoDep = Annotated[RepoKey, Depends(get_api_repo)]


def base_url(request: Request, state: ServerState) -> str:
    """Return the public base URL (``settings.public_url`` or scheme + ``Host`` as the client used)."""
    if state.settings.public_url:
        return state.settings.public_url
    return str(request.base_url).rstrip("/")


def _raw_segments(request: Request) -> list[str]:
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    text = raw.decode("latin-1")
    root = request.scope.get("root_path", "")
    if root and text.startswith(root):
        text = text[len(root) :]
    return text.split("/")


def _decode(segment: str) -> str:
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError as error:
        raise BadRequestError("path is not valid percent-encoded UTF-8") from error


#: Index of the revision segment in the raw path of ``/api/{type}/{ns}/{name}/{verb}/{rev}/...``.
API_REV_INDEX = 6


def rev_and_path(request: Request, rev_index: int, *, path_kind: str | None = "file") -> tuple[str, str]:
    """Split ``{rev}/{path...}`` from the raw path, starting at segment ``rev_index``; each segment decoded.

    ``refs%2Fpr%2F1`` stays one revision; the path after it may be one encoded segment
    (``sub%2Fdir``) or several literal ones (``sub/dir``).

    Args:
        request: the request.
        rev_index: position of the revision among ``raw_path.split("/")`` (``/api/...`` routes:
            :data:`API_REV_INDEX`; model resolve: 4; dataset/space resolve: 5).
        path_kind: ``"file"`` (required, validated), ``"folder"`` (may be empty) or ``None`` (no path allowed).

    Returns:
        ``(revision, path)``.

    Raises:
        BadRequestError: If the revision is missing or the path is unsafe.
    """
    segments = _raw_segments(request)
    rest = segments[rev_index:]
    if not rest or not rest[0]:
        raise BadRequestError("no revision in the URL")
    revision = _decode(rest[0])
    path = "/".join(_decode(s) for s in rest[1:])
    if path_kind is None:
        if path.strip("/"):
            raise BadRequestError(f"unexpected path after the revision: {path!r}")
        return revision, ""
    return revision, validate_path(path, allow_root=path_kind == "folder")


async def read_body(request: Request, limit: int) -> bytes:
    """Read the whole request body, refusing more than ``limit`` bytes.

    Raises:
        PayloadTooLargeError: If ``Content-Length`` or the bytes received exceed ``limit``.
        BadRequestError: If ``Content-Length`` is not a number.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise PayloadTooLargeError(f"request body exceeds the limit of {limit} bytes")
        except ValueError:
            raise BadRequestError("Content-Length is not a number") from None
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise PayloadTooLargeError(f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, state: ServerState) -> Any:
    """Read and parse a JSON body (whatever its content type).

    Raises:
        BadRequestError: If the body is not valid JSON.
        PayloadTooLargeError: If it is over the size limit.
    """
    body = await read_body(request, state.settings.max_request_bytes)
    try:
        return json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequestError(f"request body is not valid JSON: {error}") from None


def parse_body(model: type[ModelT], data: Any) -> ModelT:
    """Validate parsed JSON against a pydantic model.

    Raises:
        BadRequestError: Naming the first bad field.
    """
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadRequestError(f"invalid request body: {where}: {first['msg']}") from None
