"""Run the app under uvicorn: one server per data dir, leftovers of a crash cleaned at start.

:func:`run_server` binds the socket itself (so ``port=0`` works and the real port is known
before serving), writes an optional ready file ``{"url", "port", "pid"}`` once uvicorn accepts
connections, and serves until SIGINT/SIGTERM. uvicorn's access log is off; the app logs one
line per request without query strings and with upload links redacted (tokens never appear).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from leaf_hub.errors import ServerConfigError
from leaf_hub.hub_server.settings import ServerSettings

logger = logging.getLogger(__name__)

__all__ = ["bind_socket", "data_dir_lock", "run_server", "url_for"]


def url_for(host: str, port: int) -> str:
    """Return the ``http://host:port`` URL clients should use (IPv6 hosts bracketed, wildcards -> loopback)."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on ``host:port`` (``SO_REUSEADDR``, so a restart right after a crash can rebind).

    Raises:
        ServerConfigError: If the address is in use or cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ServerConfigError(f"cannot listen on {host}:{port}: {error.strerror}") from error
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``data_dir/server.lock`` (one server per data dir).

    Raises:
        ServerConfigError: If another server holds it.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / "server.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ServerConfigError(f"data dir {data_dir} is in use by another leaf-hub server") from None
        yield
    finally:
        os.close(fd)


def _announce(
    server: object, url: str, port: int, ready_file: Path | None, on_ready: Callable[[str], None] | None
) -> None:
    while not getattr(server, "started", False):
        if getattr(server, "should_exit", False):
            return
        time.sleep(0.02)
    if ready_file is not None:
        tmp = ready_file.with_name(ready_file.name + ".tmp")
        tmp.write_text(json.dumps({"url": url, "port": port, "pid": os.getpid()}))
        os.replace(tmp, ready_file)
    if on_ready is not None:
        on_ready(url)


def run_server(
    settings: ServerSettings,
    *,
    ready_file: str | Path | None = None,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "info",
) -> None:
    """Serve the Hub API until interrupted (SIGINT/SIGTERM).

    Args:
        settings: server settings (``port=0`` picks a free port).
        ready_file: written atomically with ``{"url", "port", "pid"}`` once connections are accepted.
        on_ready: called with the URL once connections are accepted (the CLI prints ``HF_ENDPOINT``).
        log_level: uvicorn's log level.

    Raises:
        ServerConfigError: If the data dir is in use, the port is taken or the token file is bad.
    """
    import uvicorn

    from leaf_hub.hub_server.app import create_app
    from leaf_hub.hub_server.storage import Storage

    with data_dir_lock(settings.data_dir):
        Storage(settings.data_dir, fsync=settings.fsync).cleanup_temporary()
        app = create_app(settings)
        sock = bind_socket(settings.host, settings.port)
        port = sock.getsockname()[1]
        url = url_for(settings.host, port)
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level=log_level,
            access_log=False,
            timeout_keep_alive=30,
            server_header=False,
        )
        server = uvicorn.Server(config)
        ready = Path(ready_file) if ready_file is not None else None
        threading.Thread(target=_announce, args=(server, url, port, ready, on_ready), daemon=True).start()
        logger.info("serving %s at %s", settings.data_dir, url)
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
