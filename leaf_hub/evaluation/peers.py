"""Other models' scores from mteb result files, for the card's "Compared with" table.

:func:`peer_scores` reads one source per call, with mteb's own reader (``TaskResult.from_disk``
and its ``get_score``: the main score, averaged over subsets as mteb averages it):

- a local folder in mteb's results layout, ``<model>/<revision>/<Task>.json`` (a clone of
  https://github.com/embeddings-benchmark/results, its ``results/`` folder, a ``leaf-hub
  leaderboard`` tree or ``mteb.ResultCache``'s folder): every model in it; offline;
- a model name (``org/name``): that model's files in mteb's results cache (``mteb.ResultCache``),
  which online is first brought up to date from the results repository
  (``ResultCache.download_from_remote``); offline (``HF_HUB_OFFLINE`` or ``HF_DATASETS_OFFLINE`` set,
  :func:`leaf_hub.evaluation.tasks.offline_flag`) only what is already cached.

Only the card's tasks and split are read. A source that yields no row is refused in one line
(:class:`~leaf_hub.errors.EvalError`), so a misspelt model or folder never publishes a card that
silently compares with nothing.

Example:
    >>> rows = peer_scores("results/", ["SciFact", "STSBenchmark"], split="test")  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from leaf_hub.errors import EvalError
from leaf_hub.records.comparison import PeerScore

__all__ = ["peer_scores"]

#: What a card names as the source of rows read from mteb's results cache.
RESULTS_REPOSITORY = "mteb results repository (embeddings-benchmark/results)"


def peer_scores(source: str | Path, tasks: Sequence[str], *, split: str = "test") -> list[PeerScore]:
    """Main scores on ``tasks`` (``split``) read from one source: a results folder or a model name.

    Args:
        source: A local folder in mteb's results layout, or a model name ``org/name``.
        tasks: The mteb task names to read (the card's tasks).
        split: The split whose scores are read.

    Returns:
        One row per (model, revision, task) found, in file order (model, revision, task).

    Raises:
        EvalError: If the source is neither a folder nor a model name, cannot be read, or has no
            score for any of ``tasks`` on ``split``.
    """
    text = str(source)
    folder = Path(text).expanduser()
    if folder.is_dir():
        root = folder / "results" if (folder / "results").is_dir() else folder
        paths = sorted(p for p in root.glob("*/*/*.json") if p.name != "model_meta.json")
        rows = _read(paths, tasks, split, source=text)
        where = "its mteb result files"
    elif _is_model_name(text):
        paths, where = _cached_paths(text, tasks)
        rows = _read(paths, tasks, split, source=RESULTS_REPOSITORY)
    else:
        raise EvalError(f"compare-with {text}: not a results folder nor a model name (org/name)")
    if not rows:
        raise EvalError(f"compare-with {text}: no {split} score for {', '.join(tasks)} in {where}")
    return rows


def _is_model_name(text: str) -> bool:
    parts = text.split("/")
    return len(parts) == 2 and all(p and not p.startswith(".") and p.strip() == p for p in parts) and ".." not in text


def _model_of(folder: Path) -> str:
    """The model's name: its folder's ``model_meta.json``, else the folder name (``org__name``)."""
    meta = folder / "model_meta.json"
    if meta.is_file():
        try:
            name = json.loads(meta.read_text(encoding="utf-8")).get("name")
        except (OSError, ValueError):
            name = None
        if name:
            return str(name)
    return folder.parent.name.replace("__", "/")


def _read(paths: Iterable[Path], tasks: Sequence[str], split: str, *, source: str) -> list[PeerScore]:
    from mteb.results import TaskResult

    wanted = set(tasks)
    rows: list[PeerScore] = []
    for path in paths:
        task = path.stem
        if task not in wanted:
            continue
        try:
            result = TaskResult.from_disk(path)
        except Exception as e:  # mteb raises pydantic, JSON and key errors for a file it cannot read
            raise EvalError(f"compare-with: {path} is not an mteb result file ({type(e).__name__})") from e
        if split not in result.scores:
            continue
        rows.append(
            PeerScore(
                model=_model_of(path.parent),
                task=result.task_name,
                split=split,
                main_score=float(result.get_score(splits=[split])),
                source=source,
                revision=path.parent.name,
                mteb_version=result.mteb_version,
            )
        )
    return rows


def _cached_paths(model: str, tasks: Sequence[str]) -> tuple[list[Path], str]:
    """Result files of ``model`` in mteb's results cache (brought up to date first when online), and where."""
    import mteb

    from leaf_hub.evaluation.tasks import offline_flag

    cache = mteb.ResultCache()
    offline = offline_flag() is not None
    if not offline:
        try:
            cache.download_from_remote()
        except Exception as e:  # git / network failures, surfaced in one line
            raise EvalError(f"compare-with {model}: could not update mteb's results cache ({type(e).__name__})") from e
    where = f"mteb's results cache ({cache.cache_path}{', offline: not updated' if offline else ''})"
    try:
        return sorted(cache.get_cache_paths(models=[model], tasks=list(tasks), require_model_meta=False)), where
    except Exception as e:
        raise EvalError(f"compare-with {model}: mteb's results cache cannot be read ({type(e).__name__})") from e
