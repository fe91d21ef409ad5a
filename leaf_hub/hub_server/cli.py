"""``leaf-hub serve`` and ``python -m leaf_hub.hub_server``: run the server from the command line.

The one definition of the server's command: :mod:`leaf_hub.cli` registers :func:`serve` as its
``serve`` subcommand, and :func:`main` runs the same command alone (:class:`~leaf_hub.hub_server.EmbeddedHub`
starts the server this way, so it does not depend on the ``leaf-hub`` console script being on ``PATH``).
Importing this module imports neither torch nor the pipeline.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leaf_hub import errors

console = Console()
err_console = Console(stderr=True)

__all__ = ["main", "serve"]


#: Log levels ``leaf-hub serve --log-level`` accepts (uvicorn's names).
_SERVER_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def serve(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Where repositories are stored, created if missing (else $LEAF_HUB_SERVER_DATA_DIR)."
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Interface to bind (else $LEAF_HUB_SERVER_HOST, else 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port to bind, 0: a free one (else $LEAF_HUB_SERVER_PORT, else the default)."),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help="Token file: one '<token> <user> <read|write> \\[orgs]' per line (orgs: optional, comma-separated).",
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="Base URL of upload links and repo URLs (default: the request's Host)."),
    ] = None,
    ready_file: Annotated[
        Path | None,
        typer.Option("--ready-file", help='Write {"url", "port", "pid"} here once connections are accepted.'),
    ] = None,
    page_size: Annotated[
        int | None, typer.Option("--page-size", help="Entries per page of tree and commit listings.")
    ] = None,
    max_request_bytes: Annotated[
        int | None, typer.Option("--max-request-bytes", help="Largest accepted JSON / ndjson request body.")
    ] = None,
    max_file_bytes: Annotated[int | None, typer.Option("--max-file-bytes", help="Largest accepted LFS object.")] = None,
    no_fsync: Annotated[
        bool, typer.Option("--no-fsync", help="Do not fsync before a commit is visible (not durable on power loss).")
    ] = False,
    log_level: Annotated[
        str, typer.Option("--log-level", help=f"Server log level: {', '.join(_SERVER_LOG_LEVELS)}.")
    ] = "info",
) -> None:
    """Run the embedded Hugging Face Hub-compatible server (publish to and load from it offline).

    Options left out fall back to the LEAF_HUB_SERVER_* environment variables. The server logs plain
    timestamped lines to stderr, one per request, never a token.
    """
    if log_level.lower() not in _SERVER_LOG_LEVELS:
        raise errors.ServerConfigError(f"--log-level must be one of {', '.join(_SERVER_LOG_LEVELS)}, got {log_level!r}")
    from leaf_hub.hub_server.server import run_server
    from leaf_hub.hub_server.settings import ServerSettings

    settings = ServerSettings.from_env(
        data_dir=data_dir,
        host=host,
        port=port,
        token_file=token_file,
        public_url=public_url,
        page_size=page_size,
        max_request_bytes=max_request_bytes,
        max_file_bytes=max_file_bytes,
        fsync=False if no_fsync else None,
    )
    if settings.token_file is None and not settings.tokens:
        err_console.print("leaf-hub serve: no --token-file: the server is read-only", markup=False)
    level = "DEBUG" if log_level.lower() == "trace" else log_level.upper()
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr, force=True)

    def announce(url: str) -> None:
        plain = {"markup": False, "highlight": False, "soft_wrap": True}
        console.print(f"leaf-hub hub serving {settings.data_dir} at {url}", **plain)
        console.print(f"export HF_ENDPOINT={url}", **plain)
        console.print("export HF_HUB_DISABLE_XET=1  # required to upload: classic git-LFS, not Xet", **plain)

    run_server(settings, ready_file=ready_file, on_ready=announce, log_level=log_level.lower())


def main(argv: list[str] | None = None) -> None:
    """Run the server command with ``argv`` (default: ``sys.argv[1:]``), as ``leaf-hub serve`` would.

    A :class:`~leaf_hub.errors.LeafHubError` becomes one ``leaf-hub: error: ...`` line and exit code 2
    (a configuration error; the only kind the server raises before serving), else 1;
    ``LEAF_HUB_DEBUG=1`` shows the traceback too.
    """
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    command = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    command.command()(serve)
    try:
        command(args=sys.argv[1:] if argv is None else argv, prog_name="leaf-hub serve")
    except errors.LeafHubError as error:
        if os.environ.get("LEAF_HUB_DEBUG") == "1":
            err_console.print_exception()
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        err_console.print(f"leaf-hub: error: {message}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2 if isinstance(error, errors.ServerConfigError) else 1)
