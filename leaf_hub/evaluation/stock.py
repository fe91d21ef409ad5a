"""Stock mteb on a saved folder: the scores the MTEB leaderboard would compute, to check leaf-hub's against.

leaf-hub scores a model through its own encoder (:class:`~leaf_hub.evaluation.encoders.RoutedEncoder`
over cached vectors). The leaderboard runs mteb's own ``SentenceTransformerEncoderWrapper`` (the
loader of the model's ``ModelMeta``) on the published folder. :func:`stock_scores` runs exactly that,
``mteb.evaluate`` on the saved folder with the wrapper and the prompts the ``ModelMeta`` hands it
(``loader_kwargs["model_prompts"]``), on the same task objects leaf-hub evaluates (mteb's own task
classes reading the local copies, :func:`~leaf_hub.evaluation.tasks.get_tasks`), on their full split:
no leaf-hub encoder, cache or prompt resolution is involved. :func:`compare_scores` (from
:mod:`leaf_hub.records.agreement`) puts the two side by side; scores agree when they differ by at
most :data:`~leaf_hub.records.agreement.MTEB_TOLERANCE` (1e-4).

Example:
    >>> from leaf_hub.evaluation.stock import compare_scores, stock_scores
    >>> theirs = stock_scores("runs/leaf-ir-mini/model", ["STSBenchmark"])  # doctest: +SKIP
    >>> compare_scores({"STSBenchmark": 0.8203}, theirs)[0].agree  # doctest: +SKIP
    True
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from leaf_hub.assets import data_root as resolve_data_root
from leaf_hub.assets import require_model_folder
from leaf_hub.errors import EvalError
from leaf_hub.records.agreement import MTEB_TOLERANCE, ScoreAgreement, compare_scores, require_agreement

logger = logging.getLogger(__name__)

__all__ = ["MTEB_TOLERANCE", "ScoreAgreement", "compare_scores", "require_agreement", "stock_scores"]


def stock_scores(
    model_dir: str | Path,
    tasks: Sequence[str],
    *,
    prompts: Mapping[str, str] | None = None,
    data_root: str | Path | None = None,
    local: Mapping[str, str | Path] | None = None,
    split: str = "test",
    batch_size: int = 32,
    device: str | None = None,
    output_dir: str | Path | None = None,
) -> dict[str, float]:
    """Score a saved sentence-transformers folder with stock ``mteb.evaluate`` and mteb's own wrapper.

    The encoder is ``SentenceTransformerEncoderWrapper(str(model_dir), device=device,
    model_prompts=prompts)``, as a ``ModelMeta`` with that loader and ``loader_kwargs`` builds it.
    The tasks are the ones leaf-hub evaluates (local copies where there are any, never sub-sampled).

    Args:
        model_dir: The saved folder (the weights that were evaluated and published).
        tasks: mteb task or benchmark names.
        prompts: The ``model_prompts`` given to the wrapper (a ``ModelMeta``'s
            ``loader_kwargs["model_prompts"]``); ``None``: the folder's own saved prompts, as the
            wrapper reads them.
        data_root: Data folder of the local copies (``None``: ``$LEAF_HUB_DATA`` or ``../shared/data``).
        local: Task name -> BEIR- or STS-layout folder standing for that task (a recipe's ``evaluation.local``).
        split: The split (leaf-hub evaluates one; ``test``).
        batch_size: Encoding batch size (a score does not depend on it beyond float rounding).
        device: Torch device (``None``: sentence-transformers' choice, as leaf-hub's evaluation).
        output_dir: Where to write mteb's ``<Task>.json`` results (``None``: not written).

    Returns:
        Task name -> main score (a fraction), in task order.

    Raises:
        ModelFolderError: If ``model_dir`` is not a sentence-transformers folder.
        AssetError: If a local data file is missing.
        EvalError: On an unknown task, or a task that would not be evaluated on its full split.
    """
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

    from leaf_hub.evaluation.tasks import get_tasks, run_task, task_split

    folder = require_model_folder(Path(model_dir).expanduser())
    built = get_tasks(list(dict.fromkeys(tasks)), local=local, data_root=resolve_data_root(data_root), split=split)
    for task in built:  # data first: a missing file fails before the model loads
        task.load_data()
        info = task.sample_info.get(task_split(task))
        if info is not None and info.subsampled:
            raise EvalError(f"{task.metadata.name}: stock mteb is run on the full split only; this one is sub-sampled")
    encoder = SentenceTransformerEncoderWrapper(
        str(folder), device=device, model_prompts=dict(prompts) if prompts else None
    )
    out = Path(output_dir) if output_dir is not None else None
    scores: dict[str, float] = {}
    for task in built:
        name = task.metadata.name
        tick = time.perf_counter()
        result = run_task(encoder, task, batch_size)
        scores[name] = float(result.get_score(splits=[task_split(task)]))
        logger.info(
            "stock mteb %s: %s = %.6f (%.1f s)",
            name,
            task.metadata.main_score,
            scores[name],
            time.perf_counter() - tick,
        )
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            result.to_disk(out / f"{name}.json")
    return scores
