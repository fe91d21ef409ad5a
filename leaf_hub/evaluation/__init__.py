"""Evaluation with mteb on the local copies of SciFact, NFCorpus and STS-B.

* :mod:`~leaf_hub.evaluation.tasks`: mteb's own task classes, loading from ``../shared/data``;
* :mod:`~leaf_hub.evaluation.encoders`: the mteb encoder that routes queries and documents to the
  student or the teacher (symmetric and asymmetric modes), over cached vectors;
* :mod:`~leaf_hub.evaluation.sweep`: the Matryoshka x quantisation sweep and its plot;
* :mod:`~leaf_hub.evaluation.stock`: stock ``mteb.evaluate`` through mteb's own
  ``SentenceTransformerEncoderWrapper`` on a saved folder, to check leaf-hub's scores against;
* :mod:`~leaf_hub.evaluation.run`: the entry points below (every ``mteb.evaluate`` call is ``tasks.run_task``).

Importing this package does not import mteb, torch or sentence-transformers.
"""

from __future__ import annotations

from leaf_hub.evaluation.run import (
    EVAL_MODES,
    eval_settings,
    evaluate_model_folder,
    evaluate_models,
    evaluate_run,
)

__all__ = [
    "EVAL_MODES",
    "eval_settings",
    "evaluate_model_folder",
    "evaluate_models",
    "evaluate_run",
]
