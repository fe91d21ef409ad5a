"""mteb tasks backed by the local copies of SciFact, NFCorpus and STS-B.

Each class subclasses mteb's own task class (``mteb.tasks...SciFact`` and friends), so it carries
the official :class:`~mteb.abstasks.task_metadata.TaskMetadata` unchanged: the same name, main
score (``ndcg_at_10`` for retrieval, ``cosine_spearman`` for STS), splits, citation and pinned
dataset revision. Only ``load_data`` differs: it reads ``../shared/data`` (see
:mod:`leaf_hub.evaluation.data`) instead of downloading from the Hub, and can sub-sample.
Everything else (dataloaders, the ``title + " " + text`` document text, search, pytrec_eval
metrics, the result JSON) is mteb's.

Example:
    >>> from leaf_hub.evaluation.tasks import get_tasks
    >>> tasks = get_tasks(["SciFact"], corpus_limit=600)  # doctest: +SKIP
    >>> tasks[0].metadata.main_score
    'ndcg_at_10'
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

from datasets import Dataset
from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData
from mteb.tasks.retrieval.eng.nf_corpus_retrieval import NFCorpus
from mteb.tasks.retrieval.eng.sci_fact_retrieval import SciFact
from mteb.tasks.sts.eng.sts_benchmark_sts import STSBenchmarkSTS

from leaf_hub.errors import EvalError
from leaf_hub.evaluation.data import SampleInfo, read_beir, read_sts, subsample_retrieval, subsample_sts

logger = logging.getLogger(__name__)

__all__ = ["LOCAL_TASKS", "LocalNFCorpus", "LocalSTSBenchmark", "LocalSciFact", "get_tasks"]


class _LocalTask:
    """Constructor and bookkeeping shared by the local tasks.

    Args:
        data_root: Data folder (``None``: ``$LEAF_HUB_DATA`` or ``../shared/data``).
        split: Split to evaluate (``test`` unless choosing settings).
        corpus_limit: Retrieval: documents to keep (all judged ones are always kept).
        query_limit: Retrieval: queries to keep; STS: sentence pairs to keep.
        seed: Seed of the sub-samples.

    Attributes:
        sample_info: Split -> sizes of what was loaded and whether it is a sub-sample.
    """

    metadata: Any
    data_loaded: bool
    dataset: Any

    def __init__(
        self,
        *,
        data_root: str | Path | None = None,
        split: str = "test",
        corpus_limit: int | None = None,
        query_limit: int | None = None,
        seed: int = 42,
    ) -> None:
        super().__init__(seed=seed)  # type: ignore[call-arg]
        self.data_root = data_root
        self.corpus_limit = corpus_limit
        self.query_limit = query_limit
        self.sample_seed = seed
        self.sample_info: dict[str, SampleInfo] = {}
        self.filter_eval_splits([split])  # type: ignore[attr-defined]

    def check_if_dataset_is_superseded(self) -> None:
        """Log (not warn) that a newer version exists: the reference figures are on this version."""
        if self.metadata.superseded_by:
            logger.debug("%s is superseded by %s upstream", self.metadata.name, self.metadata.superseded_by)


class _LocalRetrieval(_LocalTask):
    folder: ClassVar[str]

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        """Read the BEIR files (and sub-sample) into mteb's ``RetrievalSplitData`` layout."""
        if self.data_loaded:
            return
        self.dataset = {"default": {}}
        for split in self.eval_splits:  # type: ignore[attr-defined]
            data = subsample_retrieval(
                read_beir(self.folder, split, self.data_root),
                corpus_limit=self.corpus_limit,
                query_limit=self.query_limit,
                seed=self.sample_seed,
            )
            self.dataset["default"][split] = RetrievalSplitData(
                corpus=Dataset.from_list(data.corpus),
                queries=Dataset.from_list(data.queries),
                relevant_docs=data.qrels,
                top_ranked=None,
            )
            assert data.info is not None
            self.sample_info[split] = data.info
            logger.info(
                "%s/%s: %d queries, %d documents%s",
                self.metadata.name,
                split,
                data.info.n_queries,
                data.info.n_docs,
                " (sub-sample)" if data.info.subsampled else "",
            )
        self.data_loaded = True


class LocalSciFact(_LocalRetrieval, SciFact):
    """mteb's ``SciFact`` (BEIR, nDCG@10) read from ``<data>/scifact``."""

    folder = "scifact"


class LocalNFCorpus(_LocalRetrieval, NFCorpus):
    """mteb's ``NFCorpus`` (BEIR, nDCG@10, graded 1/2) read from ``<data>/nfcorpus``."""

    folder = "nfcorpus"


class LocalSTSBenchmark(_LocalTask, STSBenchmarkSTS):
    """mteb's ``STSBenchmark`` (Spearman of cosine) read from ``<data>/stsb``."""

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        """Read the TSV split (and sub-sample pairs with ``query_limit``)."""
        if self.data_loaded:
            return
        self.dataset = {}
        for split in self.eval_splits:  # type: ignore[attr-defined]
            data = subsample_sts(read_sts(split, self.data_root), pair_limit=self.query_limit, seed=self.sample_seed)
            self.dataset[split] = Dataset.from_dict(
                {"sentence1": data.sentence1, "sentence2": data.sentence2, "score": data.score}
            )
            assert data.info is not None
            self.sample_info[split] = data.info
        self.data_loaded = True


#: Task name (as mteb spells it) -> local task class.
LOCAL_TASKS: dict[str, type[_LocalTask]] = {
    "SciFact": LocalSciFact,
    "NFCorpus": LocalNFCorpus,
    "STSBenchmark": LocalSTSBenchmark,
}


def get_tasks(
    names: list[str],
    *,
    data_root: str | Path | None = None,
    split: str = "test",
    corpus_limit: int | None = None,
    query_limit: int | None = None,
    seed: int = 42,
) -> list[Any]:
    """Build local mteb tasks by name.

    Args:
        names: Task names (``SciFact``, ``NFCorpus``, ``STSBenchmark``).
        data_root: Data folder (``None``: ``$LEAF_HUB_DATA`` or ``../shared/data``).
        split: Split to evaluate.
        corpus_limit: Retrieval corpus sub-sample size (``None``: full corpus).
        query_limit: Retrieval queries / STS pairs to keep (``None``: all).
        seed: Seed of the sub-samples.

    Returns:
        One task instance per name, data not yet loaded.

    Raises:
        EvalError: If a name is not a known local task.
    """
    unknown = [n for n in names if n not in LOCAL_TASKS]
    if unknown:
        raise EvalError(f"unknown task {unknown[0]!r}; known: {', '.join(sorted(LOCAL_TASKS))}")
    return [
        LOCAL_TASKS[n](data_root=data_root, split=split, corpus_limit=corpus_limit, query_limit=query_limit, seed=seed)
        for n in names
    ]
