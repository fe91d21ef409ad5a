"""Rich tables of evaluation results (the ``leaf-hub evaluate`` screen output)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leaf_hub.errors import EvalError

if TYPE_CHECKING:
    from rich.table import Table

    from leaf_hub.records import EvalResults, ScoreRecord

__all__ = ["scores_table", "sweep_table", "task_type"]


def task_type(row: ScoreRecord) -> str:
    """The mteb type of the row's task: recorded with the score, else read from mteb's metadata."""
    if row.task_type:
        return row.task_type
    from leaf_hub.task_meta import task_facts

    try:
        return task_facts(row.task).type
    except EvalError:
        return "?"


def scores_table(results: EvalResults) -> Table:
    """One row per task, grouped by mteb task type, one column per mode; scores ×100, sub-samples marked ``*``.

    The metric is the task's main score as mteb names it (``ndcg_at_10``, ``cosine_spearman``, ...).
    """
    from rich.table import Table

    modes = list(dict.fromkeys(s.mode for s in results.scores))
    types = {s.task: task_type(s) for s in results.scores}
    order = list(dict.fromkeys(types.values()))
    tasks = sorted(dict.fromkeys(s.task for s in results.scores), key=lambda t: order.index(types[t]))
    table = Table(title=f"mteb {results.mteb_version}, split {results.split} (×100; * = sub-sampled)")
    table.add_column("type")
    table.add_column("task")
    table.add_column("metric")
    table.add_column("queries / docs", justify="right")
    for mode in modes:
        table.add_column(mode, justify="right")
    table.add_column("seconds", justify="right")
    for task in tasks:
        rows = {s.mode: s for s in results.scores if s.task == task}
        first = next(iter(rows.values()))
        cells = [
            f"{100 * rows[m].main_score:.2f}{'*' if rows[m].subsampled else ''}" if m in rows else "-" for m in modes
        ]
        seconds = sum(r.seconds for r in rows.values())
        size = f"{first.n_queries} / {first.n_docs}"
        table.add_row(types[task], task, first.main_metric, size, *cells, f"{seconds:.1f}")
    table.caption = (
        f"wall {results.wall_seconds:.1f} s; teacher corpus vectors from cache: {results.teacher_corpus_cache_hits}"
    )
    return table


def sweep_table(results: EvalResults) -> Table:
    """Retention (% of the full float32 score) per task, model and dimension, one column per precision."""
    from rich.table import Table

    precisions = list(dict.fromkeys(p.precision for p in results.sweep))
    table = Table(title="Matryoshka × quantisation sweep: retention % (score ×100)")
    for name in ("task", "model", "dim"):
        table.add_column(name, justify="right" if name == "dim" else "left")
    for precision in precisions:
        table.add_column(precision, justify="right")
    keys = list(dict.fromkeys((p.task, p.model, p.dim) for p in results.sweep))
    for task, model, dim in keys:
        points = {p.precision: p for p in results.sweep if (p.task, p.model, p.dim) == (task, model, dim)}
        cells = [
            f"{100 * points[q].retention:.1f} ({100 * points[q].score:.2f})" if q in points else "-" for q in precisions
        ]
        table.add_row(task, model, str(dim), *cells)
    return table
