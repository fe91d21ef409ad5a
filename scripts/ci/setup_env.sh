#!/usr/bin/env bash
# Create (or reuse) .venv with CPU torch first, then leaf-hub and its dev tools.
# Sourced by scripts/ci/run_tests.sh and scripts/ci/main_job.sh; safe to run twice.
# A failed install stops here (one line, non-zero exit) and leaves no stamp, so the next run installs again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
stamp=".venv/.leaf_hub_installed"
want="$(sha256sum pyproject.toml | cut -c1-16)"

# pip install "$@", hiding pip's "WARNING: Location" lines. The status is pip's: under pipefail the pipeline
# fails when pip does, and the filter itself only fails on a grep error (exit 1 means "every line filtered").
pip_install() {
  local status=0
  python -m pip install -q "$@" 2>&1 | { grep -v "WARNING: Location" || [ $? -eq 1 ]; } || status=$?
  if [ "$status" -ne 0 ]; then
    echo "setup: pip install $* failed (exit $status); .venv is not marked installed, so the next run retries" >&2
    exit 1
  fi
}

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -f "$stamp"
  echo "setup: installing torch==2.13.0 (CPU) and leaf-hub[dev] into .venv" >&2
  pip_install torch==2.13.0
  pip_install -e '.[dev]'
  python -c "import torch, sentence_transformers, mteb, leaf_hub" || { echo "setup: install failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
