#!/usr/bin/env bash
# The main job: fetch assets -> distil -> evaluate -> card -> publish to the embedded local Hub ->
# reload with SentenceTransformer -> print a summary, for both leaves of leaf-ir-mini's teacher: the
# transformer leaf (leaf-ir-mini) and the static leaf (leaf-ir-static-mini), each with its -asym
# Router (leaf queries, teacher documents). The static leaf reuses the teacher vectors the first
# release cached. Safe to rerun: finished stages are skipped, an interrupted distillation resumes
# from its last checkpoint. Name recipes to release only those: bash scripts/ci/main_job.sh leaf-ir-mini
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
. scripts/ci/setup_env.sh
if [ "$#" -gt 0 ]; then recipes=("$@"); else recipes=(leaf-ir-mini leaf-ir-static-mini); fi
for recipe in "${recipes[@]}"; do
  leaf-hub release "$recipe" --asym --embedded-hub --summary-json "runs/$recipe/release_summary.json"
done
