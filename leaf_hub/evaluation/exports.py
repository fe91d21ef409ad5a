"""Check and measure a run's exports against its torch model (what publishing records and the card shows).

:func:`measure_exports` runs each export (:class:`~leaf_hub.models.exported.ExportedStudent`)
beside the torch model: the cosine of their vectors (an fp32 export below
:data:`~leaf_hub.models.exported.MIN_EXPORT_COSINE` is refused), the STS-B score of each through
this package's evaluation, and the uncached query throughput of each
(:func:`leaf_hub.evaluation.speed.time_models`). The orchestrator hands it to
:func:`leaf_hub.export.prepare_exports`, which keeps the record beside the exports.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import AssetError, EvalError, ExportError
from leaf_hub.hashing import sha256_file
from leaf_hub.models.exported import MIN_EXPORT_COSINE, ExportedStudent, export_cosines

if TYPE_CHECKING:
    from leaf_hub.models.exported import ExportFile

__all__ = ["CHECK_SPEED_TEXTS", "CHECK_STS_PAIRS", "measure_exports"]

#: STS-B test pairs each export is scored on before publishing (torch on the same pairs).
CHECK_STS_PAIRS = 300
#: Query texts each export is timed on before publishing.
CHECK_SPEED_TEXTS = 64


def _file_facts(root: Path, export: ExportFile) -> dict[str, Any]:
    return {rel: {"size": (root / rel).stat().st_size, "sha256": sha256_file(root / rel)} for rel in export.files}


def _sts_sentences(data_root: Path, limit: int) -> list[str]:
    from leaf_hub.evaluation.tasks import get_tasks, load_task

    task = get_tasks(["STSBenchmark"], data_root=data_root, split="test", query_limit=limit)[0]
    load_task(task)
    return list(task.dataset["test"]["sentence1"])[:limit]


def _sts_scores(
    model_dir: Path, variants: Mapping[str, ExportedStudent], data_root: Path, pairs: int, work: Path
) -> dict[str, Any]:
    """STS-B main score (test, first ``pairs`` pairs) of torch and of each export, through leaf_hub's evaluation."""
    from leaf_hub.evaluation.run import evaluate_models
    from leaf_hub.recipe import EvalSpec

    torch_score: float | None = None
    scores: dict[str, float | None] = {}
    for name, variant in variants.items():
        settings = EvalSpec(tasks=["STSBenchmark"], modes=["student", "teacher"], query_limit=pairs)
        results = evaluate_models(
            model_dir,
            output_dir=work / name.replace("/", "_"),
            teacher=variant,
            teacher_id=name,
            settings=settings,
            data_root=data_root,
            sweep=False,
            progress=False,
        )
        torch_score = results.score("STSBenchmark", "student")
        scores[name] = results.score("STSBenchmark", "teacher")
    return {"task": "STSBenchmark", "split": "test", "pairs": pairs, "torch": torch_score, "exports": scores}


def measure_exports(
    model_dir: str | Path,
    root: str | Path,
    exports: Sequence[ExportFile],
    *,
    data_root: str | Path | None = None,
    sts_pairs: int = CHECK_STS_PAIRS,
    speed_texts: int = CHECK_SPEED_TEXTS,
    repeats: int = 5,
) -> dict[str, Any]:
    """Check each export against the torch model and measure what the card says about it.

    * cosine with the torch model's vectors of the probe texts (and, when the data is at hand,
      STS-B sentences), as queries and as documents: an fp32 export below
      :data:`MIN_EXPORT_COSINE` is refused;
    * STS-B main score (test split, first ``sts_pairs`` pairs) of torch and of each export;
    * uncached query throughput of torch and of each export on the same texts
      (:func:`leaf_hub.evaluation.speed.time_models`: interleaved repeats, fastest kept).

    Args:
        model_dir: The student folder the exports were made from.
        root: Folder the exports' paths are relative to.
        exports: What :func:`leaf_hub.export.export_student` wrote.
        data_root: Data folder with ``stsb/`` (``None``: the usual lookup; scores are left out,
            with the reason, when it is missing).
        sts_pairs: STS-B pairs scored.
        speed_texts: Texts timed.
        repeats: Timed repeats per model.

    Returns:
        The record (JSON-ready): model fingerprint, one entry per export, scores and speed.

    Raises:
        ExportError: If an fp32 export's vectors differ from torch's (cosine < :data:`MIN_EXPORT_COSINE`).
    """
    from leaf_hub.assets import data_root as find_data_root
    from leaf_hub.assets import model_fingerprint
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.evaluation.speed import time_models
    from leaf_hub.hub import PROBE_TEXTS

    model_dir, root = Path(model_dir), Path(root)
    texts = list(PROBE_TEXTS)
    source = "leaf_hub.hub.PROBE_TEXTS"
    data: Path | None
    skipped: str | None = None
    try:
        data = find_data_root(data_root)
        texts = _sts_sentences(data, max(speed_texts, 16))
        source = "STS-B test first sentences"
    except (AssetError, EvalError) as e:
        data, skipped = None, f"no STS-B data ({e})"
    record: dict[str, Any] = {"model_fingerprint": model_fingerprint(model_dir), "exports": []}
    variants: dict[str, ExportedStudent] = {}
    for export in exports:
        variant = ExportedStudent(model_dir, export.path_in(root))
        cosine = export_cosines(model_dir, export.path_in(root), list(PROBE_TEXTS) + texts[:32])
        if export.precision == "fp32" and cosine["min"] < MIN_EXPORT_COSINE:
            raise ExportError(
                f"{export.path} embeds texts differently from the torch model: "
                f"min cosine {cosine['min']:.4f} < {MIN_EXPORT_COSINE}"
            )
        variants[export.path] = variant
        entry = export.to_dict()
        entry.update(files=_file_facts(root, export), cosine_to_torch={k: round(v, 6) for k, v in cosine.items()})
        record["exports"].append(entry)
    if data is not None:
        with tempfile.TemporaryDirectory(prefix="leaf-hub-export-eval-") as tmp:
            record["score"] = _sts_scores(model_dir, variants, data, sts_pairs, Path(tmp))
    else:
        record["score"] = {"skipped": skipped}
    torch_model = SentenceTransformerTeacher(model_dir, query_prompt=next(iter(variants.values())).query_prompt)
    speed = time_models(
        {"torch": torch_model, **variants}, texts[:speed_texts], kind="query", repeats=repeats, source=source
    )
    record["speed"] = speed.model_dump(mode="json")
    return record
