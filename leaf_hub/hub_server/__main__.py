"""``python -m leaf_hub.hub_server [OPTIONS]``: the same command as ``leaf-hub serve [OPTIONS]``."""

from __future__ import annotations

from leaf_hub.hub_server.cli import main

if __name__ == "__main__":
    main()
