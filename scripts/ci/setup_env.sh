#!/usr/bin/env bash
# Create (or reuse) .venv with CPU torch first, then leaf-hub and its dev tools.
# Sourced by scripts/ci/run_tests.sh and scripts/ci/main_job.sh; safe to run twice.
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
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing torch==2.13.0 (CPU) and leaf-hub[dev] into .venv" >&2
  python -m pip install -q torch==2.13.0 2>&1 | grep -v "WARNING: Location" || true
  python -m pip install -q -e '.[dev]' 2>&1 | grep -v "WARNING: Location" || true
  python -c "import torch, sentence_transformers, mteb, leaf_hub" || { echo "setup: install failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
