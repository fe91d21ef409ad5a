"""``python -m leaf_hub.hub_server``: run the server (used by :mod:`leaf_hub.hub_server.testing`).

Same options as ``leaf-hub serve`` plus ``--ready-file`` (JSON ``{"url", "port", "pid"}`` written
once the server accepts connections) and ``--page-size``/``--max-request-bytes`` for tests.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from leaf_hub.errors import LeafHubError
from leaf_hub.hub_server.server import run_server
from leaf_hub.hub_server.settings import ServerSettings


def main(argv: list[str] | None = None) -> int:
    """Parse options and serve; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m leaf_hub.hub_server", description=__doc__)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--token-file", type=Path)
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--public-url")
    parser.add_argument("--page-size", type=int)
    parser.add_argument("--max-request-bytes", type=int)
    parser.add_argument("--max-file-bytes", type=int)
    parser.add_argument("--no-fsync", action="store_true")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = ServerSettings.from_env(
            data_dir=args.data_dir,
            host=args.host,
            port=args.port,
            token_file=args.token_file,
            public_url=args.public_url,
            page_size=args.page_size,
            max_request_bytes=args.max_request_bytes,
            max_file_bytes=args.max_file_bytes,
            fsync=False if args.no_fsync else None,
        )
        run_server(settings, ready_file=args.ready_file, log_level=args.log_level)
    except LeafHubError as error:
        print(f"leaf-hub serve: error: {error}", file=sys.stderr)  # noqa: T201 - entry point
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
