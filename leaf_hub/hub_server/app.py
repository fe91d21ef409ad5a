"""The FastAPI application: :func:`create_app` wires settings, storage, tokens and routers.

Errors are answered the way ``huggingface_hub.utils.hf_raise_for_status`` reads them: the status,
``X-Error-Code`` / ``X-Error-Message`` headers (``HEAD`` answers have no body) and a JSON body
``{"error": ...}``. Expected conditions are always 4xx; 5xx would make the client retry.
"""

from __future__ import annotations

import errno
import logging
import time
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leaf_hub.hub_server.auth import TokenIndex
from leaf_hub.hub_server.deps import ServerState
from leaf_hub.hub_server.errors import HubServerError, InsufficientStorageError
from leaf_hub.hub_server.routes import all_routers
from leaf_hub.hub_server.settings import ServerSettings
from leaf_hub.hub_server.storage import Storage
from leaf_hub.hub_server.tickets import UploadSigner, load_or_create_secret
from leaf_hub.version import __version__

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("leaf_hub.hub_server.access")

__all__ = ["create_app", "error_response"]

_REPO_AREAS = ("/api/models/", "/api/datasets/", "/api/spaces/")


def _header_safe(message: str) -> str:
    return message.replace("\r", " ").replace("\n", " ").encode("ascii", "replace").decode("ascii")[:1000]


def error_response(
    request: Request,
    status_code: int,
    message: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> Response:
    """Build an error answer in the Hub's format (headers always; JSON body except for ``HEAD``)."""
    all_headers = dict(headers or {})
    all_headers["X-Error-Message"] = _header_safe(message)
    if code:
        all_headers["X-Error-Code"] = code
    if request.method == "HEAD":
        return Response(status_code=status_code, headers=all_headers)
    return JSONResponse({"error": message, **(body or {})}, status_code=status_code, headers=all_headers)


async def _hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubServerError)
    return error_response(
        request, exc.status_code, exc.message, code=exc.error_code, headers=exc.headers, body=exc.body
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    path = request.url.path
    code = None
    if exc.status_code == 404 and (path.startswith(_REPO_AREAS) or "/resolve/" in path):
        code, message = "RepoNotFound", "Repository not found"
    else:
        message = str(exc.detail)
    return error_response(request, exc.status_code, message, code=code, headers=dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(p) for p in first.get("loc", ())) or "request"
    return error_response(request, 400, f"invalid request: {where}: {first.get('msg')}")


async def _os_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OSError)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        error = InsufficientStorageError("the server's disk is full; nothing was written")
        return error_response(request, error.status_code, error.message)
    logger.exception("I/O error while serving %s %s", request.method, _loggable_path(request.url.path))
    return error_response(request, 500, "internal I/O error")


#: Status recorded in the access log when the client hangs up mid-request (nginx's "client closed request").
CLIENT_CLOSED_REQUEST = 499


async def _client_gone(request: Request, exc: Exception) -> Response:
    # A client that hangs up mid-body (a killed upload) is routine: whatever it sent was dropped
    # (partial LFS objects are aborted), so log one line instead of an ASGI error traceback.
    logger.info("client hung up during %s %s; nothing was stored", request.method, _loggable_path(request.url.path))
    return Response(status_code=CLIENT_CLOSED_REQUEST)  # never delivered: the client is gone


def _loggable_path(path: str) -> str:
    """Hide the secret part of upload links."""
    return "/lfs-upload/<redacted>" if path.startswith("/lfs-upload/") else path


class _AccessLog:
    """ASGI middleware: one log line per request (no query string, upload links redacted) and ``X-Request-Id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        request_id = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-amzn-trace-id"), None)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if request_id and len(request_id) < 200:
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            access_logger.info(
                "%s %s %s %.1fms",
                scope["method"],
                _loggable_path(scope["path"]),
                status or "-",
                (time.perf_counter() - started) * 1000,
            )


def create_app(settings: ServerSettings) -> FastAPI:
    """Build the Hub-compatible app for ``settings`` (creates ``data_dir`` and the upload secret if missing).

    Args:
        settings: where data lives, who may do what, the limits.

    Returns:
        A FastAPI app; serve it with uvicorn (see :func:`leaf_hub.hub_server.server.run_server`) or
        wrap it in ``fastapi.testclient.TestClient``.

    Raises:
        ServerConfigError: If the token file is unreadable or malformed.

    Example:
        >>> app = create_app(ServerSettings(data_dir=tmp_path, token_file=tokens))
        >>> TestClient(app).get("/api/whoami-v2", headers={"authorization": "Bearer hf_x"}).json()["name"]
    """
    tokens = TokenIndex(settings.all_tokens())
    storage = Storage(settings.data_dir, fsync=settings.fsync)
    secret = load_or_create_secret(settings.data_dir / "upload.secret")
    app = FastAPI(
        title="leaf-hub Hub server",
        version=__version__,
        description="A Hugging Face Hub-compatible server for publishing and loading models and datasets offline.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.hub = ServerState(
        settings=settings,
        storage=storage,
        tokens=tokens,
        signer=UploadSigner(secret, ttl_seconds=settings.upload_ttl_seconds),
    )
    app.add_exception_handler(HubServerError, _hub_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    for router in all_routers():
        app.include_router(router)
    app.add_middleware(_AccessLog)
    if not len(tokens):
        logger.warning("no tokens configured: the server is read-only (pass --token-file)")
    return app
