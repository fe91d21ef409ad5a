"""The ``eval/results.json`` schema (version 1), shared with the card and publish stages.

One file per evaluation, written by :func:`leaf_hub.evaluation.evaluate_models`. Scores are
fractions (``0.6451``); cards multiply by 100. Example::

    {"schema_version": 1,
     "model_path": "runs/leaf-ir-mini/model",
     "model_fingerprint": "<sha256 of the weights, leaf_hub.assets.model_fingerprint>",
     "teacher": "sentence-transformers/all-mpnet-base-v2", "teacher_path": "/root/.cache/...",
     "mteb_version": "2.26.24", "data_root": "/work/shared/data",
     "split": "test", "corpus_limit": 600, "query_limit": null, "seed": 42,
     "scores": [{"task": "SciFact", "mode": "student", "split": "test",
                 "main_metric": "ndcg_at_10", "main_score": 0.6451, "subsampled": true,
                 "n_queries": 300, "n_docs": 600, "seconds": 41.2,
                 "dataset": "mteb/scifact", "dataset_revision": "d56462d0..."}],
     "sweep": [{"task": "SciFact", "model": "student", "dim": 256, "precision": "int8",
                "score": 0.61, "retention": 0.97}],
     "plot": "sweep.png", "wall_seconds": 123.4, "teacher_corpus_cache_hits": 600,
     "texts_encoded": {"student": 0, "teacher": 0},
     "speed": {"texts": 300, "kind": "query", "source": "SciFact test queries", "repeats": 5,
               "batch_size": 32, "threads": 2, "seconds": {"student": 1.9, "teacher": 14.1},
               "all_seconds": {"student": [...], "teacher": [...]},
               "load_average_before": 0.4, "load_average_after": 1.1}}

Fields:

* ``scores``: one row per (task, mode). ``mode`` is ``student`` or ``teacher`` (symmetric: the
  model encodes queries and documents), ``asymmetric`` (student queries, teacher documents;
  for STS, the student encodes the first sentence of each pair and the teacher the second) or
  ``init`` (the student's initialisation as published, e.g. all-MiniLM-L6-v2, symmetric, with its
  own stored prompts: the model distillation started from).
  ``main_metric`` is the mteb task's main score (``ndcg_at_10``, ``cosine_spearman``).
  ``subsampled`` is true when queries/pairs or documents were left out (``corpus_limit``,
  ``query_limit``): such scores are not comparable with the MTEB leaderboard. ``n_queries`` is
  queries (retrieval) or sentence pairs (STS); ``n_docs`` is documents searched (retrieval) or
  distinct sentences (STS). ``seconds`` is the wall time of that mteb run, encoding included.
  ``dataset``/``dataset_revision`` are the official mteb dataset the local copy stands for;
  ``task_type`` is mteb's type of the task (``Retrieval``, ``STS``, ...); ``data_path`` and
  ``data_sha256`` name the local folder read and the checksum of its files
  (:func:`leaf_hub.evaluation.data.data_checksum`), both null when mteb downloaded the data.
* ``sweep``: one row per (task, model, dim, precision): the symmetric score of ``model``
  (``student``/``teacher``) with vectors truncated to the first ``dim`` dimensions and quantised
  to ``precision`` (``float32``, ``int8`` calibrated on the corpus, ``binary``), and its
  ``retention`` = score / the same model's full-dimension float32 score on that task.
* ``plot``: file name (next to ``results.json``) of the retention-vs-dimension plot, or null.
* ``teacher_corpus_cache_hits``: teacher document vectors (retrieval corpora; in asymmetric STS,
  the second sentences) read from the on-disk teacher cache instead of being encoded (0 on a
  cold run; the corpus size on a warm one).
* ``texts_encoded``: texts each model actually encoded in this evaluation (``{"student": n,
  "teacher": n}``); all zero when every vector came from the caches.
* ``speed``: null, or a dedicated uncached timing of student and teacher on the same texts
  (:mod:`leaf_hub.evaluation.speed`): ``seconds`` is each model's fastest of ``repeats``
  interleaved passes over ``texts`` texts, ``all_seconds`` every pass, and the 1-minute load
  average before and after. A card's speed claim comes from here only, never from ``seconds``
  of the scores (those include cache reads).
* ``precision``: what the evaluation encoders computed in: always ``fp32`` (bf16 scores were not
  measured within 0.1 points of fp32's, so evaluation does not follow ``compute.dtype``).
* ``mteb/<mode>/<Task>.json`` next to this file holds mteb's own ``TaskResult`` for each score, and
  ``mteb/<mode>/run_settings.jsonl`` the run settings mteb's cache would have written with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from leaf_hub.errors import EvalError

__all__ = ["MIN_REPEATS", "SCHEMA_VERSION", "EvalResults", "ScoreRecord", "SpeedRecord", "SweepRecord", "load_results"]

SCHEMA_VERSION = 1
#: Fewest timed repeats per model behind a speed figure (the minimum of them is kept): fewer and a
#: :class:`SpeedRecord` backs no speed claim.
MIN_REPEATS = 5


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoreRecord(_Record):
    """One mteb main score (see the module docstring)."""

    task: str
    mode: Literal["student", "teacher", "asymmetric", "init"]
    split: str
    main_metric: str
    main_score: float
    subsampled: bool
    n_queries: int
    n_docs: int
    seconds: float
    dataset: str | None = None
    dataset_revision: str | None = None
    task_type: str | None = None
    data_path: str | None = None
    data_sha256: str | None = None


class SweepRecord(_Record):
    """One point of the Matryoshka x quantisation sweep (see the module docstring)."""

    task: str
    model: Literal["student", "teacher"]
    dim: int
    precision: Literal["float32", "int8", "binary"]
    score: float
    retention: float


class SpeedRecord(_Record):
    """Uncached timing of the models on the same texts (see the module docstring)."""

    texts: int
    kind: Literal["query", "document"]
    source: str = ""
    repeats: int
    batch_size: int | None = None
    threads: int | None = None
    seconds: dict[str, float]
    all_seconds: dict[str, list[float]]
    load_average_before: float | None = None
    load_average_after: float | None = None


class EvalResults(_Record):
    """The content of ``eval/results.json`` (see the module docstring)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    model_path: str
    model_fingerprint: str | None = None
    teacher: str | None = None
    teacher_path: str | None = None
    mteb_version: str
    data_root: str | None = None
    split: str
    corpus_limit: int | None = None
    query_limit: int | None = None
    seed: int = 42
    scores: list[ScoreRecord]
    sweep: list[SweepRecord] = []
    plot: str | None = None
    wall_seconds: float
    teacher_corpus_cache_hits: int = 0
    texts_encoded: dict[str, int] = {}
    speed: SpeedRecord | None = None
    precision: Literal["fp32"] = "fp32"

    def score(self, task: str, mode: str) -> float | None:
        """Main score of ``task`` in ``mode``, or ``None`` if it was not evaluated."""
        for row in self.scores:
            if row.task == task and row.mode == mode:
                return row.main_score
        return None

    def row(self, task: str, mode: str) -> ScoreRecord | None:
        """The score row of ``task`` in ``mode``, or ``None`` if it was not evaluated."""
        return next((r for r in self.scores if r.task == task and r.mode == mode), None)

    @property
    def tasks(self) -> list[str]:
        """Evaluated tasks, in file order."""
        return list(dict.fromkeys(r.task for r in self.scores))

    @property
    def modes(self) -> list[str]:
        """Evaluated modes, in file order."""
        return list(dict.fromkeys(r.mode for r in self.scores))

    def to_json(self) -> str:
        """The ``results.json`` text (indented JSON)."""
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"


def load_results(path: str | Path) -> EvalResults:
    """Read and validate an ``eval/results.json``.

    Raises:
        EvalError: If the file is missing, not JSON, or does not follow schema version 1.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise EvalError(f"no evaluation results at {path}; run `leaf-hub evaluate` first") from e
    except (OSError, ValueError) as e:
        raise EvalError(f"{path}: not readable JSON ({e})") from e
    try:
        return EvalResults.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise EvalError(f"{path}: {loc}: {first['msg']}") from e
