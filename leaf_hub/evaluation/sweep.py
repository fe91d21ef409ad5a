"""Matryoshka x quantisation sweep: how much of each model's score survives smaller vectors.

For each task and each model (student, teacher), the vectors already computed for the main
evaluation are truncated to ``dim`` leading coordinates and quantised (``float32``, ``int8``
with ranges calibrated on the task's corpus, ``binary``) by
:class:`~leaf_hub.evaluation.encoders.CompressedEncoder`, and scored by mteb's own evaluator
for the task (``mteb.evaluate``): nothing is re-encoded and no metric is re-implemented. Each
score is reported with its retention, score / the same model's full-dimension float32 score.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from leaf_hub.evaluation.data import document_text
from leaf_hub.evaluation.encoders import CompressedEncoder, EmbeddingSource, Precision, RoutedEncoder
from leaf_hub.records import SweepRecord

logger = logging.getLogger(__name__)

__all__ = ["calibration_vectors", "plot_sweep", "sweep_dims", "sweep_task"]


def sweep_dims(requested: Sequence[int], full_dim: int) -> list[int]:
    """The model's full dimension plus every requested dimension below it, largest first."""
    return sorted({full_dim, *(d for d in requested if 0 < d <= full_dim)}, reverse=True)


def calibration_vectors(task: Any, source: EmbeddingSource, split: str) -> np.ndarray | None:
    """Full-precision vectors that calibrate int8 ranges: the corpus (retrieval) or all sentences (STS).

    The texts are built exactly as mteb builds them, so the vectors come from the source's memory.
    Other task types (classification, clustering, ...) get ``None``: int8 ranges then come from the
    vectors of each encoding call (sentence-transformers' default).
    """
    from mteb.types import PromptType

    meta = task.metadata
    default = task.dataset.get("default") if isinstance(task.dataset, dict) else None
    if isinstance(default, dict) and isinstance(default.get(split), dict) and "corpus" in default[split]:
        corpus = default[split]["corpus"]
        titles = corpus["title"] if "title" in corpus.column_names else [""] * len(corpus)
        texts = [document_text(t, x) for t, x in zip(titles, corpus["text"], strict=True)]
        return source.embed_for_task(texts, meta, PromptType.document)
    data = task.dataset.get(split) if meta.type == "STS" and isinstance(task.dataset, dict) else None
    if data is not None and {"sentence1", "sentence2"} <= set(data.column_names):
        return np.vstack(
            [source.embed_for_task(data["sentence1"], meta, None), source.embed_for_task(data["sentence2"], meta, None)]
        )
    logger.info("%s: int8 ranges from each encoding call (no corpus or sentence pairs to calibrate on)", meta.name)
    return None


def _main_score(encoder: Any, task: Any, split: str, batch_size: int) -> float:
    from leaf_hub.evaluation.tasks import run_task

    return float(run_task(encoder, task, batch_size).get_score(splits=[split]))


def sweep_task(
    task: Any,
    sources: dict[str, EmbeddingSource],
    *,
    split: str,
    dims: Sequence[int],
    precisions: Sequence[Precision],
    batch_size: int = 32,
) -> list[SweepRecord]:
    """Score every (model, dim, precision) of one loaded task through mteb.

    Args:
        task: A loaded local task (symmetric settings; STS prompt types ``None``).
        sources: ``{"student": ..., "teacher": ...}`` (either may be absent).
        split: The evaluated split.
        dims: Requested Matryoshka dimensions (filtered per model, full dimension always added).
        precisions: Precisions to score.
        batch_size: Passed to mteb (vectors come from memory, so it hardly matters).

    Returns:
        One :class:`SweepRecord` per point, with retention against the full float32 score.
    """
    rows: list[SweepRecord] = []
    name = task.metadata.name
    for model, source in sources.items():
        base = RoutedEncoder(source, source, name=f"leaf-hub/{model}", revision=source.fingerprint[:16])
        calibration = calibration_vectors(task, source, split)
        points: dict[tuple[int, str], float] = {}
        model_dims = sweep_dims(dims, source.dim)
        for dim in model_dims:
            for precision in dict.fromkeys(["float32", *precisions]) if dim == source.dim else precisions:
                encoder = CompressedEncoder(base, dim=dim, precision=precision, calibration=calibration)
                points[(dim, precision)] = _main_score(encoder, task, split, batch_size)
        baseline = points[(source.dim, "float32")]
        for (dim, precision), score in points.items():
            if precision not in precisions:
                continue
            rows.append(
                SweepRecord(
                    task=name,
                    model=model,  # type: ignore[arg-type]
                    dim=dim,
                    precision=precision,  # type: ignore[arg-type]
                    score=score,
                    retention=score / baseline if baseline else 0.0,
                )
            )
        logger.info("sweep %s/%s: %d points, full float32 %.4f", name, model, len(points), baseline)
    return rows


_COLOURS = {"float32": "#1f77b4", "int8": "#ff7f0e", "binary": "#2ca02c"}
_STYLES = {"student": "-", "teacher": "--"}
_MARKERS = {"student": "o", "teacher": "s"}


def plot_sweep(rows: Sequence[SweepRecord], path: str | Path, *, title: str | None = None) -> Path:
    """Plot retention vs dimension, one panel per task, one line per (model, precision).

    Args:
        rows: Sweep records.
        path: PNG to write.
        title: Figure title.

    Returns:
        The written path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r.task for r in rows))
    fig, axes = plt.subplots(1, max(len(tasks), 1), figsize=(4.6 * max(len(tasks), 1), 4.0), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=False):
        task_rows = [r for r in rows if r.task == task]
        for model in ("student", "teacher"):
            for precision in ("float32", "int8", "binary"):
                line = sorted((r.dim, r.retention) for r in task_rows if r.model == model and r.precision == precision)
                if not line:
                    continue
                ax.plot(
                    [d for d, _ in line],
                    [100 * v for _, v in line],
                    linestyle=_STYLES[model],
                    marker=_MARKERS[model],
                    color=_COLOURS[precision],
                    label=f"{model} {precision}",
                )
        dims = sorted({r.dim for r in task_rows})
        ax.set_xscale("log", base=2)
        ax.set_xticks(dims)
        ax.set_xticklabels([str(d) for d in dims])
        ax.set_xlabel("dimensions kept (Matryoshka truncation)")
        ax.set_ylabel("retention of full float32 score (%)")
        full = {
            r.model: r.score
            for r in task_rows
            if r.precision == "float32" and r.dim == max(x.dim for x in task_rows if x.model == r.model)
        }
        subtitle = ", ".join(f"{m} {100 * v:.2f}" for m, v in full.items())
        ax.set_title(task + (f"\n{subtitle} at full float32" if subtitle else ""), fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
