"""What mteb's metadata says about a task or a benchmark: the one source of task facts.

mteb's :class:`~mteb.abstasks.task_metadata.TaskMetadata` and its benchmark lists ship with the
package, so everything here works offline. The recipe (task names), the evaluation, the card and
the reports read task facts from here; nothing in leaf_hub keeps its own table of tasks.

* :func:`task_facts`: type, main score, dataset id and revision, splits, languages, citation;
* :func:`metric_label`: how a card or a report names an mteb metric (``ndcg_at_10`` -> ``nDCG@10``);
* :func:`resolve_task_names`: benchmark names (``BEIR``, ``MTEB(eng, v2)``) expanded into their tasks;
* :func:`benchmark_average`: mteb's "Mean (Task)" over a benchmark, only when every task ran in full.

Importing this module does not import mteb; each function does.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import EvalError

if TYPE_CHECKING:
    from leaf_hub.records import EvalResults

__all__ = ["TaskFacts", "benchmark_average", "metric_label", "mteb_task", "resolve_task_names", "task_facts"]


@dataclass(frozen=True)
class TaskFacts:
    """What mteb's ``TaskMetadata`` says about a task (for cards and reports).

    Attributes:
        name: mteb's task name.
        type: Task type (``Retrieval``, ``STS``, ``Classification``, ...).
        main_score: The metric the leaderboard ranks by (``ndcg_at_10``, ``cosine_spearman``, ...).
        dataset: Hub dataset id mteb loads.
        revision: The dataset revision mteb pins.
        eval_splits: Splits mteb evaluates.
        languages: ISO language-script codes.
        reference: URL of the dataset's page or paper.
        citation: BibTeX.
        description: mteb's one-paragraph description.
    """

    name: str
    type: str
    main_score: str
    dataset: str
    revision: str
    eval_splits: tuple[str, ...]
    languages: tuple[str, ...]
    reference: str | None
    citation: str | None
    description: str

    @property
    def metric(self) -> str:
        """How a card or a report names the main score (:func:`metric_label`)."""
        return metric_label(self.main_score)


#: Display words of the parts of mteb's metric names (``ndcg`` -> ``nDCG``); a part not listed is kept as it is.
_METRIC_WORDS = {
    "ndcg": "nDCG",
    "map": "MAP",
    "mrr": "MRR",
    "recall": "Recall",
    "precision": "Precision",
    "hit_rate": "Hit rate",
    "accuracy": "Accuracy",
    "f1": "F1",
    "ap": "AP",
    "v_measure": "V-measure",
    "nmi": "NMI",
    "ami": "AMI",
    "lrap": "LRAP",
    "spearman": "Spearman",
    "pearson": "Pearson",
}


def metric_label(main_score: str) -> str:
    """The display name of an mteb metric: ``ndcg_at_10`` -> ``nDCG@10``, ``cosine_spearman`` -> ``Spearman (cosine)``.

    The one place a metric's name is turned into words: the card and the reports call this with the
    ``main_score`` mteb's metadata gives (:func:`task_facts`) or the one a score was recorded with.
    ``<metric>_at_<k>`` becomes ``<Metric>@<k>``; ``<similarity>_<correlation>`` (mteb's STS and
    pair-classification names) becomes ``<Correlation> (<similarity>)``; ``max_<metric>`` becomes
    ``<Metric> (best similarity)``; any other name is returned with its known parts spelled out.

    Args:
        main_score: mteb's metric name.

    Returns:
        The label.
    """
    name = main_score.strip()
    if "_at_" in name:
        stem, _, k = name.rpartition("_at_")
        return f"{metric_label(stem)}@{k}"
    if name in _METRIC_WORDS:
        return _METRIC_WORDS[name]
    for similarity in ("cosine", "euclidean", "manhattan", "dot", "max"):
        if name.startswith(similarity + "_") and name.removeprefix(similarity + "_") in _METRIC_WORDS:
            inner = _METRIC_WORDS[name.removeprefix(similarity + "_")]
            return f"{inner} ({'best similarity' if similarity == 'max' else similarity})"
    return name


def mteb_task(name: str) -> Any:
    """Mteb's task object of that name (``mteb.get_task``).

    Raises:
        EvalError: If mteb has no task of that name (mteb's hint included).
    """
    import mteb

    try:
        return mteb.get_task(name)
    except (KeyError, ValueError) as e:
        hint = str(e).strip("'\"").removeprefix("KeyError: ").strip("'\"")
        raise EvalError(f"unknown mteb task {name!r} ({hint})") from None


@functools.lru_cache(maxsize=512)
def task_facts(name: str) -> TaskFacts:
    """The facts mteb's metadata gives for a task, offline (cached per name).

    Raises:
        EvalError: If mteb has no task of that name.
    """
    meta = mteb_task(name).metadata
    return TaskFacts(
        name=meta.name,
        type=str(meta.type),
        main_score=str(meta.main_score),
        dataset=str(meta.dataset["path"]),
        revision=str(meta.dataset["revision"]),
        eval_splits=tuple(meta.eval_splits),
        languages=tuple(meta.languages),
        reference=meta.reference,
        citation=(meta.bibtex_citation or "").strip() or None,
        description=str(meta.description),
    )


def resolve_task_names(names: Sequence[str]) -> list[str]:
    """Task names with every benchmark name replaced by its tasks (in mteb's order, duplicates dropped).

    Works offline: mteb's task and benchmark metadata ship with the package.

    Raises:
        EvalError: On a name that is neither an mteb task nor an mteb benchmark (mteb's suggestion included).
    """
    import mteb

    out: list[str] = []
    for name in names:
        try:
            mteb.get_task(name)
            out.append(name)
            continue
        except (KeyError, ValueError):
            pass
        try:
            benchmark = mteb.get_benchmark(name)
        except (KeyError, ValueError):
            raise EvalError(
                f"unknown task {name!r}: neither an mteb task nor an mteb benchmark (mteb {mteb.__version__}; "
                "see mteb.get_tasks() and mteb.get_benchmarks())"
            ) from None
        out += [t.metadata.name for t in benchmark.tasks]
    return list(dict.fromkeys(out))


def benchmark_average(benchmark: str, results: EvalResults, mode: str = "student") -> float | None:
    """Mean main score over a benchmark's tasks (mteb's "Mean (Task)"), only when every task ran on full splits.

    Args:
        benchmark: mteb benchmark name (``BEIR``, ``MTEB(eng, v2)``).
        results: An evaluation's results.
        mode: Which rows (``student``, ``teacher``, ...).

    Returns:
        The mean (a fraction), or ``None`` when a task of the benchmark is missing, sub-sampled or
        scored on a split the benchmark does not select.

    Raises:
        EvalError: If mteb has no benchmark of that name.
    """
    import mteb

    rows = {r.task: r for r in results.scores if r.mode == mode}
    try:
        selected = mteb.get_benchmark(benchmark).tasks
    except (KeyError, ValueError):
        raise EvalError(f"unknown mteb benchmark {benchmark!r}") from None
    scores = []
    for task in selected:
        row = rows.get(task.metadata.name)
        if row is None or row.subsampled or row.split not in task.eval_splits:
            return None
        scores.append(row.main_score)
    return sum(scores) / len(scores) if scores else None
