#!/usr/bin/env python3
"""Build the MTEB leaderboard submission of a published run: same as `leaf-hub leaderboard RUN_DIR`.

Usage: python scripts/submit_leaderboard.py runs/leaf-ir [--output DIR] [--training-dataset NAME ...]
"""

from __future__ import annotations

import sys

from leaf_hub.cli import main

if __name__ == "__main__":
    sys.argv = ["leaf-hub", "leaderboard", *sys.argv[1:]]
    main()
