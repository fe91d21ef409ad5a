#!/usr/bin/env bash
# The main job: fetch assets -> distil leaf-ir-mini -> evaluate -> card -> publish to the embedded
# local Hub -> reload with SentenceTransformer -> print a summary. Safe to rerun: finished stages
# are skipped, an interrupted distillation resumes from its last checkpoint.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
. scripts/ci/setup_env.sh
recipe=${1:-leaf-ir-mini}
exec leaf-hub release "$recipe" --embedded-hub --summary-json "runs/$recipe/release_summary.json"
