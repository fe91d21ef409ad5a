#!/usr/bin/env bash
# The full test suite, as CI runs it: set up .venv, lint, then every test (slow ones included).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
. scripts/ci/setup_env.sh
ruff check leaf_hub tests scripts
# -m "" selects slow tests too; pytest's exit 5 (no tests collected) fails this script. --durations=25 lists the
# slowest tests, so a run shows where the suite's time goes.
python -m pytest -m "" -p no:cacheprovider --durations=25 "$@"
