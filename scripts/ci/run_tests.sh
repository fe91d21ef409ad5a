#!/usr/bin/env bash
# The full test suite, as CI runs it: set up .venv, lint, then every test (slow ones included), then the
# required-test check. For a subset, run pytest directly: this script fails when a required test did not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
. scripts/ci/setup_env.sh
ruff check leaf_hub tests scripts
# -m "" selects slow tests too; pytest's exit 5 (no tests collected) fails this script. --durations=25 lists the
# slowest tests, so a run shows where the suite's time goes. The JUnit XML feeds check_required.py: a test marked
# @pytest.mark.required that skipped (a missing optional package) or never ran fails the run.
mkdir -p reports-ci
junit=reports-ci/junit.xml
rm -f "$junit"
status=0
python -m pytest -m "" -p no:cacheprovider --durations=25 --junitxml="$junit" "$@" || status=$?
if [ -f "$junit" ]; then
  python scripts/ci/check_required.py "$junit" tests || { [ "$status" -ne 0 ] || status=1; }
else
  echo "run_tests: pytest wrote no $junit, so the required tests cannot be checked" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
