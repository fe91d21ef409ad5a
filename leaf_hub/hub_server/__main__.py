"""``python -m leaf_hub.hub_server [OPTIONS]``: the same command as ``leaf-hub serve [OPTIONS]``.

:class:`leaf_hub.hub_server.EmbeddedHub` starts the server this way, so that it does not depend on
the ``leaf-hub`` console script being on ``PATH``.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Run ``leaf-hub serve`` with ``argv`` (default: ``sys.argv[1:]``)."""
    from leaf_hub.cli import main as cli_main

    cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
