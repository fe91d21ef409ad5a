"""mteb tasks by name: mteb's own tasks, read from local copies when there are any, else downloaded by mteb.

mteb's :class:`~mteb.abstasks.task_metadata.TaskMetadata` is the one source of task facts
(:mod:`leaf_hub.task_meta`); nothing here keeps its own table of tasks.

* :func:`get_tasks` builds one task per name. A task with a local copy (the shipped SciFact,
  NFCorpus and STS-B in ``../shared/data``, or any BEIR-layout or STS-layout folder a recipe maps to
  a task name with ``evaluation.local``) is a subclass of mteb's own class for that name: it carries
  the official metadata unchanged, so its scores are that task's scores, and only ``load_data``
  differs (it reads the folder, can sub-sample, and records the files' checksum). Any other task is
  mteb's own, loaded by mteb from the Hub; when the Hub is not reachable (``HF_HUB_OFFLINE``,
  ``HF_DATASETS_OFFLINE``, or no connection) it is refused before any model loads.

Example:
    >>> from leaf_hub.evaluation.tasks import get_tasks
    >>> tasks = get_tasks(["SciFact"], corpus_limit=600)  # doctest: +SKIP
    >>> tasks[0].metadata.main_score
    'ndcg_at_10'
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse

from leaf_hub.assets import SHIPPED_DATA
from leaf_hub.assets import data_root as resolve_data_root
from leaf_hub.errors import EvalError
from leaf_hub.evaluation.data import (
    SampleInfo,
    beir_files,
    data_checksum,
    detect_layout,
    read_beir,
    read_sts,
    sts_files,
    subsample_retrieval,
    subsample_sts,
)
from leaf_hub.task_meta import mteb_task, resolve_task_names

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

__all__ = [
    "get_tasks",
    "has_two_sides",
    "hub_unreachable_reason",
    "load_task",
    "run_task",
    "task_split",
]

#: mteb task types a local folder can stand for, and the layout it must have.
_LOCAL_LAYOUT = {"Retrieval": "beir", "STS": "sts"}


@functools.lru_cache(maxsize=8)
def _probe(host: str, port: int) -> str | None:
    try:
        socket.getaddrinfo(host, port)
        with socket.create_connection((host, port), timeout=3):
            return None
    except OSError as e:
        return f"{host}:{port} is unreachable ({e.strerror or type(e).__name__})"


def offline_flag() -> str | None:
    """The offline switch that is set (``HF_HUB_OFFLINE`` or ``HF_DATASETS_OFFLINE``), or ``None``."""
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return var
    return None


def hub_unreachable_reason() -> str | None:
    """Why mteb cannot download datasets now (``None``: it can, as far as a TCP connection shows).

    Offline when ``HF_HUB_OFFLINE`` or ``HF_DATASETS_OFFLINE`` is set (:func:`offline_flag`), or when the
    Hub endpoint (``HF_ENDPOINT``, default ``https://huggingface.co``) does not accept a connection.
    """
    flag = offline_flag()
    if flag:
        return f"{flag} is set"
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    if not url.hostname:
        return f"HF_ENDPOINT {url.geturl()!r} has no host"
    return _probe(url.hostname, url.port or (443 if url.scheme == "https" else 80))


#: Task types whose texts split into a query side and a document side (or two sides of a pair).
_TWO_SIDED = ("Retrieval", "Reranking", "InstructionRetrieval", "InstructionReranking", "STS", "PairClassification")


def run_task(encoder: Any, task: Any, batch_size: int) -> Any:
    """Run ``mteb.evaluate`` on one task, the way every score here is made, and return mteb's ``TaskResult``.

    No result cache (the caller writes mteb's files), every existing result overwritten, no CO2
    tracking, errors raised, encoding in batches of ``batch_size`` without mteb's progress bars.
    """
    import mteb

    result = mteb.evaluate(
        encoder,
        task,
        cache=None,
        overwrite_strategy="always",
        encode_kwargs={"batch_size": batch_size, "show_progress_bar": False},
        show_progress_bar=False,
        co2_tracker=False,
        raise_error=True,
    )
    return result.task_results[0]


def has_two_sides(task: Any) -> bool:
    """Whether the asymmetric mode (student on one side, teacher on the other) means anything for the task."""
    return str(task.metadata.type) in _TWO_SIDED


def task_split(task: Any) -> str:
    """The one split a task built by :func:`get_tasks` evaluates."""
    return str(task.eval_splits[0])


# ---------------------------------------------------------------------------
# local tasks
# ---------------------------------------------------------------------------


class _LocalTask:
    """Constructor and bookkeeping shared by the local tasks (mixed in before mteb's task class).

    Args:
        data_root: Data root that relative folders are read from.
        split: Split to evaluate (``test`` unless choosing settings).
        corpus_limit: Retrieval: documents to keep (all judged ones are always kept).
        query_limit: Retrieval: queries to keep; STS: sentence pairs to keep.
        seed: Seed of the sub-samples.

    Attributes:
        folder: The folder read (relative to ``data_root``, or absolute).
        sample_info: Split -> sizes of what was loaded, sub-sampling and the data checksum.
    """

    folder: ClassVar[str]
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

    def _folder_path(self) -> Path:
        path = Path(self.folder)
        return path if path.is_absolute() else resolve_data_root(self.data_root) / path

    def _record(self, split: str, info: SampleInfo, files: list[Path]) -> None:
        folder = self._folder_path()
        info.data_sha256 = data_checksum(files, folder)
        info.data_path = str(folder)
        self.sample_info[split] = info


class _LocalRetrieval(_LocalTask):
    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        """Read the BEIR files (and sub-sample) into mteb's ``RetrievalSplitData`` layout."""
        from datasets import Dataset
        from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData

        if self.data_loaded:
            return
        self.dataset = {"default": {}}
        for split in self.eval_splits:  # type: ignore[attr-defined]
            files = beir_files(self.folder, split, self.data_root)
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
            self._record(split, data.info, files)
            logger.info(
                "%s/%s: %d queries, %d documents%s from %s",
                self.metadata.name,
                split,
                data.info.n_queries,
                data.info.n_docs,
                " (sub-sample)" if data.info.subsampled else "",
                self.folder,
            )
        self.data_loaded = True


class _LocalSTS(_LocalTask):
    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        """Read the TSV split (and sub-sample pairs with ``query_limit``)."""
        from datasets import Dataset

        if self.data_loaded:
            return
        self.dataset = {}
        for split in self.eval_splits:  # type: ignore[attr-defined]
            files = sts_files(split, self.data_root, self.folder)
            data = subsample_sts(
                read_sts(split, self.data_root, self.folder), pair_limit=self.query_limit, seed=self.sample_seed
            )
            self.dataset[split] = Dataset.from_dict(
                {"sentence1": data.sentence1, "sentence2": data.sentence2, "score": data.score}
            )
            assert data.info is not None
            self._record(split, data.info, files)
        self.data_loaded = True


@functools.lru_cache(maxsize=256)
def _local_class(name: str, folder: str) -> type:
    official = type(mteb_task(name))
    meta = official.metadata
    layout = _LOCAL_LAYOUT.get(str(meta.type))
    if layout is None:
        raise EvalError(
            f"{name} is an mteb {meta.type} task; a local folder can stand only for a Retrieval task "
            "(BEIR layout) or an STS task (STS layout): drop evaluation.local.{name} to let mteb download it"
        )
    if list(meta.hf_subsets) != ["default"]:
        raise EvalError(
            f"{name} has {len(meta.hf_subsets)} subsets in mteb ({', '.join(meta.hf_subsets[:3])}, ...); "
            "a local folder can stand only for a single-subset task"
        )
    mixin = _LocalRetrieval if layout == "beir" else _LocalSTS
    return type(
        f"Local{name}",
        (mixin, official),
        {"folder": folder, "__doc__": f"mteb's ``{name}`` ({meta.type}, {meta.main_score}) read from ``{folder}``."},
    )


def _check_folder(name: str, folder: str, root: str | Path | None) -> None:
    path = Path(folder) if Path(folder).is_absolute() else resolve_data_root(root) / folder
    want = _LOCAL_LAYOUT.get(str(mteb_task(name).metadata.type))
    found = detect_layout(path)
    if not path.is_dir():
        raise EvalError(f"evaluation.local.{name}: {path} is not a folder")
    if want is not None and found != want:
        layout = "BEIR: corpus.jsonl, queries.jsonl, qrels/<split>.tsv" if want == "beir" else "STS: <split>.tsv"
        raise EvalError(f"evaluation.local.{name}: {path} is not in {layout} layout")


class _Counted:
    """mteb's own task (downloaded by mteb), recording the sizes it evaluates."""

    metadata: Any
    dataset: Any
    eval_splits: list[str]

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        """Load with mteb's own loader, then record the sizes of what it loaded."""
        super().load_data(num_proc=num_proc, **kwargs)  # type: ignore[misc]
        self.sample_info = {split: _count(self, split) for split in self.eval_splits}


def _count(task: Any, split: str) -> SampleInfo:
    """Sizes of a downloaded split: queries and documents (retrieval), else evaluated rows (sentences)."""
    n_q = n_d = 0
    subsets = task.dataset.values() if isinstance(task.dataset, Mapping) else []
    for subset in subsets:
        data = subset.get(split) if isinstance(subset, Mapping) else None
        if data is None:
            continue
        if isinstance(data, Mapping) and "queries" in data:
            n_q += len(data["queries"])
            n_d += len(data["corpus"]) if data.get("corpus") is not None else 0
        elif hasattr(data, "__len__"):
            n_q += len(data)
    if not n_q and isinstance(task.dataset, Mapping) and hasattr(task.dataset.get(split), "__len__"):
        n_q = len(task.dataset[split])
    return SampleInfo(n_queries=n_q, n_docs=n_d, n_queries_total=n_q, n_docs_total=n_d, subsampled=False)


def _online_task(name: str, split: str, seed: int, template: Any | None = None) -> Any:
    """The mteb task, as a benchmark selects it (``template``: its splits and subsets) or whole."""
    official = template if template is not None else mteb_task(name)
    splits = list(official.eval_splits)
    chosen = split if split in splits else (splits[0] if split == "test" else None)
    if chosen is None:
        raise EvalError(f"{name} has no split {split!r} in mteb (it has {', '.join(splits)})")
    cls = _online_class(type(official))
    task = cls.__new__(cls)
    task.__dict__.update(copy.deepcopy(official.__dict__))
    task.filter_eval_splits([chosen])
    task.sample_info = {}
    return task


def _benchmark_selections(names: Sequence[str]) -> dict[str, Any]:
    """Task name -> the task object a named benchmark selects (its splits and language subsets)."""
    import mteb

    out: dict[str, Any] = {}
    for name in names:
        try:
            mteb.get_task(name)
            continue
        except (KeyError, ValueError):
            pass
        for task in mteb.get_benchmark(name).tasks:
            out.setdefault(task.metadata.name, task)
    return out


@functools.lru_cache(maxsize=256)
def _online_class(official: type) -> type:
    return type(f"Hub{official.metadata.name}", (_Counted, official), {})


def load_task(task: Any) -> None:
    """Load a task's data (local folder or mteb's download) and its ``sample_info``."""
    task.load_data()


def get_tasks(
    names: Sequence[str],
    *,
    local: Mapping[str, str | Path] | None = None,
    data_root: str | Path | None = None,
    split: str = "test",
    corpus_limit: int | None = None,
    query_limit: int | None = None,
    seed: int = 42,
) -> list[Any]:
    """Build mteb tasks by task or benchmark name, local where a copy exists, refusing unreachable ones.

    Args:
        names: mteb task or benchmark names (``SciFact``, ``ArguAna``, ``BEIR``, ``MTEB(eng, v2)``).
        local: Task name -> BEIR- or STS-layout folder (absolute or relative to ``data_root``)
            standing for that task; the shipped copies (:data:`SHIPPED_DATA`) are used for their
            names unless mapped here too.
        data_root: Data folder (``None``: ``$LEAF_HUB_DATA`` or ``../shared/data``).
        split: Split to evaluate. A downloaded task without it evaluates its own first split when
            ``split`` is ``test`` (MSMARCO: ``dev``).
        corpus_limit: Retrieval corpus sub-sample size of local copies (``None``: full corpus).
        query_limit: Retrieval queries / STS pairs of local copies to keep (``None``: all).
        seed: Seed of the sub-samples.

    Returns:
        One task instance per task name, data not yet loaded (:func:`load_task`).

    Raises:
        EvalError: On an unknown name, a local folder that cannot stand for its task, or a task
            with neither a local copy nor a reachable Hub (one line naming it and both ways out).
    """
    folders = {name: str(path) for name, path in SHIPPED_DATA.items()}
    for name, path in (local or {}).items():
        folders[name] = str(Path(path).expanduser())
        _check_folder(name, folders[name], data_root)
    expanded = resolve_task_names(list(names))
    for name in expanded:
        modalities = list(mteb_task(name).metadata.modalities)
        if modalities != ["text"]:
            raise EvalError(f"{name} is an mteb task on {'+'.join(modalities)}; leaf_hub evaluates text embeddings")
    selections = _benchmark_selections(names)
    remote = [n for n in expanded if n not in folders]
    if remote:
        reason = hub_unreachable_reason()
        if reason is not None:
            shown = ", ".join(remote[:3]) + (f" and {len(remote) - 3} more" if len(remote) > 3 else "")
            which = "it" if len(remote) == 1 else "each"
            raise EvalError(
                f"{shown}: no local copy and the Hub is unreachable ({reason}); map {which} to a BEIR- or STS-layout "
                f"folder (evaluation.local: {{{remote[0]}: path/to/folder}}) or evaluate online"
            )
    tasks = []
    for name in expanded:
        if name in folders:
            cls = _local_class(name, folders[name])
            tasks.append(
                cls(data_root=data_root, split=split, corpus_limit=corpus_limit, query_limit=query_limit, seed=seed)
            )
        else:
            if corpus_limit or query_limit:
                logger.info("%s is downloaded by mteb and evaluated in full (limits apply to local copies)", name)
            tasks.append(_online_task(name, split, seed, selections.get(name)))
    return tasks
