"""A real tiny leaf run (distil -> evaluate) shared by the card and publish tests.

Real teacher (all-mpnet-base-v2), real student init (all-MiniLM-L6-v2), real distillation text and
real SciFact / STS-B subsets: a few steps of training and a sub-sampled evaluation, so every number
in the card comes from files the pipeline wrote. Built once per session (a marker file guards it).
"""

from __future__ import annotations

from pathlib import Path

import yaml

TINY_RECIPE = {
    "name": "leaf-ir-tiny",
    "version": "0.1.0",
    "description": "Tiny test run of the leaf-ir recipe.",
    "teacher": {"id": "sentence-transformers/all-mpnet-base-v2", "max_seq_length": 128},
    "student": {"id": "sentence-transformers/all-MiniLM-L6-v2", "projection_dim": 768, "max_seq_length": 128},
    "data": {
        "sources": [
            {"path": "distill/queries_en.txt", "samples": 96, "kind": "query", "license": "research-only (MS MARCO)"},
            {"path": "distill/corpus_en.txt", "samples": 48, "license": "research-only (AG News, CK-12)"},
        ],
        "heldout": 16,
    },
    "training": {"batch_size": 16, "max_steps": 3, "checkpoint_steps": 3, "seed": 7},
    "evaluation": {
        "tasks": ["SciFact", "STSBenchmark"],
        "modes": ["student", "teacher", "asymmetric"],
        "corpus_limit": 60,
        "query_limit": 12,
        "sweep_dims": [768, 256, 64],
        "sweep_precisions": ["float32", "int8", "binary"],
    },
    "card": {"template": "leaf-ir", "model_name": "leaf-ir-tiny", "tags": ["leaf", "retrieval"]},
    "hub": {"repo_id": "org/leaf-ir-tiny"},
}


def build_real_run(base: Path) -> Path:
    """Distil and evaluate the tiny recipe into ``base/run`` (once; later calls return it)."""
    run = base / "run"
    if (base / "built").is_file():
        return run
    from leaf_hub.distill import distill
    from leaf_hub.evaluation.run import evaluate_run
    from leaf_hub.recipe import parse_recipe
    from leaf_hub.run_folder import RunFolder

    base.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load(yaml.safe_dump(TINY_RECIPE))
    data["output_dir"] = str(run)
    recipe = parse_recipe(data, "tiny")
    folder = RunFolder(run)
    distill(recipe, folder)
    evaluate_run(recipe, folder, progress=False)
    (base / "built").write_text("ok\n")
    return run
