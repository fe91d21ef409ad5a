"""What a card shows, from its inputs: the Hub metadata and the templates' variables.

:func:`build_card_data` makes the YAML front matter (``license``, ``library_name``,
``base_model``, ``datasets``, ``model-index``...) and :func:`card_context` every variable the
templates render: benchmark rows grouped by task type, the sweep tables, training figures,
licences, citations and the claims of :func:`leaf_hub.model_card.claims.card_claims`. Every number
comes from the records; nothing is typed by hand.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from leaf_hub.citations import LEAF, LEAF_CITATION, SBERT, SBERT_CITATION
from leaf_hub.model_card.claims import (
    INTERCHANGEABLE_MIN_ALIGNMENT,
    card_claims,
    delta,
    matryoshka_supported,
    pct,
    task_facts_or_none,
    task_type,
)
from leaf_hub.models.portable import (
    ASYM_MIN_SENTENCE_TRANSFORMERS,
    STATIC_MIN_SENTENCE_TRANSFORMERS,
    SUPPORTED_SENTENCE_TRANSFORMERS,
)
from leaf_hub.task_meta import metric_label
from leaf_hub.version import __version__

if TYPE_CHECKING:
    from huggingface_hub import ModelCardData

    from leaf_hub.model_card.inputs import CardInputs
    from leaf_hub.records import ScoreRecord

logger = logging.getLogger(__name__)

__all__ = ["DATA_ORIGINS", "build_card_data", "card_context"]


#: Hub ids of the public datasets the shared distillation files were drawn from (see their SOURCE.md).
DATA_ORIGINS: dict[str, list[str]] = {
    "distill/queries_en.txt": [
        "microsoft/ms_marco",
        "mandarjoshi/trivia_qa",
        "rajpurkar/squad",
        "google-research-datasets/natural_questions",
    ],
    "distill/corpus_en.txt": ["stanfordnlp/snli", "fancyzhx/ag_news", "stanfordnlp/sst"],
    "distill/passages_en.txt": [],
}

_MODE_LABELS = {
    "student": "this model (queries and documents)",
    "teacher": "teacher (queries and documents)",
    "asymmetric": "asymmetric (queries: this model, documents: teacher)",
    "init": "student initialisation, before distillation",
}


def _subsample_note(score: ScoreRecord) -> str:
    if task_type(score.task) != "Retrieval":
        return f"{score.n_queries} pairs" if score.n_queries else "sub-sampled"
    parts = [
        f"{score.n_docs} documents" if score.n_docs else "",
        f"{score.n_queries} queries" if score.n_queries else "",
    ]
    return ", ".join(p for p in parts if p) or "sub-sampled"


def _dataset_label(score: ScoreRecord) -> str:
    return f"{score.task} (sub-sampled: {_subsample_note(score)})" if score.subsampled else score.task


def build_card_data(inputs: CardInputs) -> ModelCardData:
    """Build the card's Hub metadata (the YAML front matter).

    Every evaluated (task, mode) becomes one ``model-index`` metric whose ``config`` is the mode
    (``student``, ``teacher``, ``asymmetric``, ``init``) and whose name spells it out, so teacher
    and asymmetric scores are never mistaken for this model's own. Values are the results'
    fractions x 100, as the card body shows them.

    Args:
        inputs: The card inputs.

    Returns:
        A ``huggingface_hub.ModelCardData``.
    """
    from huggingface_hub import EvalResult, ModelCardData

    recipe = inputs.recipe
    res = inputs.results
    eval_results = []
    for score in inputs.results.scores:
        info = task_facts_or_none(score.task)
        kind = task_type(score.task)
        metric_args = {"teacher": recipe.teacher.id} if score.mode in ("teacher", "asymmetric") else None
        if score.mode == "init":
            metric_args = {"model": recipe.student.id}
        eval_results.append(
            EvalResult(
                task_type=kind,
                task_name=kind,
                dataset_type=info.dataset if info else score.task,
                dataset_name=_dataset_label(score),
                dataset_config="default",
                dataset_split=score.split,
                dataset_revision=score.dataset_revision or (info.revision if info else None),
                dataset_args={"corpus_limit": score.n_docs or res.corpus_limit} if score.subsampled else None,
                metric_type=score.main_metric,
                metric_name=f"{metric_label(score.main_metric)} ({_MODE_LABELS.get(score.mode, score.mode)})",
                metric_config=score.mode,
                metric_args=metric_args,
                metric_value=round(score.main_score * 100, 4),
            )
        )
    datasets: list[str] = []
    for source in recipe.data.sources:
        for hub_id in DATA_ORIGINS.get(source.path, []):
            if hub_id not in datasets:
                datasets.append(hub_id)
    tags = ["sentence-transformers", "sentence-similarity", "feature-extraction", "leaf", "knowledge-distillation"]
    tags += [t for t in recipe.card.tags if t not in tags and t != "matryoshka"]
    if matryoshka_supported(inputs):
        tags.append("matryoshka")
    elif "matryoshka" in recipe.card.tags:
        logger.warning("card: tag 'matryoshka' dropped: the teacher is not declared and documented Matryoshka-trained")
    return ModelCardData(
        model_name=inputs.model_name,
        license=recipe.card.license,
        library_name="sentence-transformers",
        pipeline_tag=recipe.card.pipeline_tag,
        language=list(recipe.card.language),
        tags=tags,
        base_model=recipe.student.id,
        base_model_relation="finetune",
        datasets=datasets or None,
        metrics=sorted({s.main_metric for s in inputs.results.scores}),
        eval_results=eval_results,
    )


def _benchmark_rows(inputs: CardInputs) -> list[dict[str, Any]]:
    res = inputs.results
    rows = []
    for task in res.tasks:
        teacher, student = res.row(task, "teacher"), res.row(task, "student")
        asym, init = res.row(task, "asymmetric"), res.row(task, "init")
        ref = teacher.main_score if teacher else None
        any_score = next(s for s in res.scores if s.task == task)
        rows.append(
            {
                "task": task,
                "type": task_type(task),
                "metric": metric_label(any_score.main_metric),
                "subsampled": any(s.subsampled for s in res.scores if s.task == task),
                "n_docs": any_score.n_docs,
                "n_queries": any_score.n_queries,
                "init": pct(init.main_score) if init else None,
                "teacher": pct(ref),
                "student": pct(student.main_score if student else None),
                "asym": pct(asym.main_score if asym else None),
                "student_retention": f"{pct(student.main_score / ref, 1)}%" if student and ref else "–",
                "asym_retention": f"{pct(asym.main_score / ref, 1)}%" if asym and ref else "–",
                "delta_init": delta(student.main_score, init.main_score) if student and init else None,
            }
        )
    return rows


def _comparison(inputs: CardInputs) -> list[dict[str, Any]]:
    """The "Compared with" rows: this model, the init and teacher as evaluated here, then the peers.

    The peers are read from mteb result files (:attr:`CardInputs.peers`), one row per model and revision.

    Each row: ``model``, ``link`` (a Hub id to link, or ``None``), ``source``, ``split``, ``cells`` (one per
    task of the evaluation: the score ×100, ``†`` when sub-sampled, ``–`` when the source has none), ``own``.
    """
    res = inputs.results
    own = "this release's evaluation" + (f" (mteb {res.mteb_version})" if res.mteb_version else "")

    def cell(score: float | None, subsampled: bool | None) -> str:
        return "–" if score is None else f"{pct(score)}{' †' if subsampled else ''}"

    def mode_row(mode: str, model: str, link: str | None, is_own: bool = False) -> dict[str, Any] | None:
        found = [res.row(task, mode) for task in res.tasks]
        if not any(found):
            return None
        cells = [cell(r.main_score, r.subsampled) if r else "–" for r in found]
        source = own if is_own else f"{own}, {mode} mode"
        return {"model": model, "link": link, "source": source, "split": res.split, "cells": cells, "own": is_own}

    teacher = inputs.recipe.teacher
    rows = [
        mode_row("student", inputs.model_name, None, is_own=True),
        mode_row("init", inputs.recipe.student.id, inputs.recipe.student.id),
        mode_row("teacher", teacher.id, None if teacher.black_box else teacher.id),
    ]
    grouped: dict[tuple[str, str | None, str, str], dict[str, Any]] = {}
    for peer in inputs.peers:
        key = (peer.model, peer.revision, peer.source, peer.split)
        entry = grouped.setdefault(key, {})
        entry[peer.task] = peer
    for (model, revision, source, split), by_task in grouped.items():
        versions = sorted({p.mteb_version for p in by_task.values() if p.mteb_version})
        shown = source + (f" (mteb {', '.join(versions)})" if versions else "")
        cells = [cell(by_task[t].main_score, by_task[t].subsampled) if t in by_task else "–" for t in res.tasks]
        link = model if "/" in model else None
        label = f"{model}@{revision[:12]}" if revision and revision not in ("no_revision_available", "main") else model
        rows.append({"model": label, "link": link, "source": shown, "split": split, "cells": cells, "own": False})
    return [r for r in rows if r is not None]


def _benchmark_groups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The benchmark rows grouped by mteb task type, in the order the types first appear."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["type"], []).append(row)
    return [{"type": kind, "rows": members} for kind, members in groups.items()]


def _sweep_tables(inputs: CardInputs) -> list[dict[str, Any]]:
    tables = []
    sweep = inputs.results.sweep
    for task in dict.fromkeys(p.task for p in sweep):
        for model in dict.fromkeys(p.model for p in sweep if p.task == task):
            points = [p for p in sweep if p.task == task and p.model == model]
            precisions = list(dict.fromkeys(p.precision for p in points))
            dims = sorted({p.dim for p in points}, reverse=True)
            rows = []
            for dim in dims:
                cells = []
                for precision in precisions:
                    point = next((p for p in points if p.dim == dim and p.precision == precision), None)
                    if point is None:
                        cells.append("–")
                    elif point.retention is None:
                        cells.append(pct(point.score))
                    else:
                        cells.append(f"{pct(point.score)} ({pct(point.retention, 1)}%)")
                rows.append({"dim": dim, "cells": cells})
            tables.append({"task": task, "model": model, "precisions": precisions, "rows": rows})
    return tables


def _citations(inputs: CardInputs) -> list[tuple[str, str]]:
    """BibTeX of the loss that was built (``citations`` in ``metrics.json``), Sentence-BERT, then the tasks.

    Distillation records the built loss's methods (:func:`leaf_hub.losses.loss_citations`); a run
    without that record (made before it was kept) cites LEAF alone. Task entries are mteb's.
    """
    recorded = inputs.report.citations if inputs.report else None
    citations: list[tuple[str, str]]
    if recorded:
        citations = [(str(label), str(bibtex)) for label, bibtex in recorded.items() if bibtex]
    else:
        citations = [(LEAF, LEAF_CITATION)]
    citations.append((SBERT, SBERT_CITATION))
    for task in inputs.results.tasks:
        facts = task_facts_or_none(task)
        if facts and facts.citation:
            citations.append((task, facts.citation))
    return citations


def _training(inputs: CardInputs) -> dict[str, Any]:
    metrics = dataclasses.asdict(inputs.report) if inputs.report else {}
    tr = inputs.recipe.training
    student = inputs.recipe.student

    def _f(key: str, fmt: str) -> str | None:
        value = metrics.get(key)
        return None if value is None else format(value, fmt)

    by_kind = [
        {"kind": kind, "n": int(fig["n"]), "before": format(fig["before"], ".4f"), "after": format(fig["after"], ".4f")}
        for kind, fig in (metrics.get("alignment_by_kind") or {}).items()
    ]
    query = next((row for row in by_kind if row["kind"] == "query"), None)
    hardware = metrics.get("hardware") or {}
    hw_text = ", ".join(f"{k}: {v}" for k, v in hardware.items() if v not in (None, "", [])) or None
    return {
        "has_metrics": bool(metrics),
        "n_train_texts": _f("n_train_texts", ","),
        "n_heldout": _f("n_heldout", ","),
        "steps": _f("steps", ","),
        "train_seconds": _f("train_seconds", ".0f"),
        "wall_seconds": _f("wall_seconds", ".0f"),
        "teacher_seconds": _f("teacher_seconds", ".0f") if metrics.get("teacher_texts_encoded") else None,
        "teacher_cached": metrics.get("teacher_texts_encoded") == 0 and bool(metrics.get("teacher_cache_hits")),
        "texts_per_s": _f("train_texts_per_s", ".1f"),
        "alignment_before": _f("alignment_before", ".4f"),
        "alignment_after": _f("alignment_after", ".4f"),
        "alignment_by_kind": by_kind,
        "query_alignment": query["after"] if query else None,
        "n_heldout_queries": query["n"] if query else None,
        "teacher_fingerprint": metrics.get("teacher_fingerprint"),
        "recipe_fingerprint": metrics.get("recipe_fingerprint"),
        "hardware": hw_text,
        "score_distill": tr.score_distill_weight or None,
        "hyper": [
            ("loss", tr.loss),
            ("batch size", tr.batch_size),
            ("learning rate", tr.learning_rate),
            ("projection lr multiplier", tr.projection_lr_multiplier),
            ("epochs", tr.epochs),
            ("max steps", tr.max_steps if tr.max_steps is not None else "–"),
            ("warm-up ratio", tr.warmup_ratio),
            ("weight decay", tr.weight_decay),
            ("seed", tr.seed),
            ("projection", f"Dense → {student.projection_dim}, init {student.projection_init}"),
            *_static_rows(student, tr),
            *_option_rows(tr),
        ],
    }


def _static_rows(student: Any, tr: Any) -> list[tuple[str, Any]]:
    """A static student's table and optimizer (nothing for a transformer student)."""
    if getattr(student, "kind", "transformer") != "static":
        return []
    pca = f"PCA to {student.pca_dims}" if student.pca_dims else "no PCA"
    return [
        ("student", f"static token table (model2vec of {student.id}, {pca}), the projection folded into it"),
        ("optimizer", tr.optimizer),
    ]


def _option_rows(tr: Any) -> list[tuple[str, Any]]:
    """Training options beyond plain LEAF, listed only when on (see ``scripts/ablation.py``)."""
    rows: list[tuple[str, Any]] = []
    for i, stage in enumerate(getattr(tr, "stages", None) or []):
        rate = stage.learning_rate or tr.learning_rate
        rows.append((f"stage {i + 1}", f"{' + '.join(stage.kinds)} texts, {stage.epochs} epochs, learning rate {rate}"))
    if tr.focal_gamma:
        rows.append(("focal reweighting γ (KaLM-Embedding-V2)", tr.focal_gamma))
    if tr.score_distill_weight:
        rows.append(
            (
                "in-batch score distillation (LG-ANNA)",
                f"weight {tr.score_distill_weight}, temperature {tr.score_distill_temperature}",
            )
        )
    return rows


def card_context(inputs: CardInputs) -> dict[str, Any]:
    """The variables the card templates render (every figure formatted as the card prints it)."""
    recipe = inputs.recipe
    res = inputs.results
    subsampled = [s for s in res.scores if s.subsampled]
    retrieval = [t for t in res.tasks if task_type(t) == "Retrieval"]
    query_prompt = inputs.model.prompts.get("query")
    teacher_params = inputs.teacher.n_parameters if inputs.teacher else None
    data = inputs.licenses.data if inputs.licenses else []
    benchmark = _benchmark_rows(inputs)
    return {
        "model_name": inputs.model_name,
        "repo_id": inputs.repo_id,
        "asym_repo_id": inputs.asym_repo_id,
        "description": recipe.description,
        "teacher_id": recipe.teacher.id,
        "teacher_revision": recipe.teacher.revision,
        "teacher_kind": recipe.teacher.kind,
        "teacher_black_box": recipe.teacher.black_box,
        "exports": inputs.exports,
        "student_id": recipe.student.id,
        "student_revision": recipe.student.revision,
        "n_parameters": f"{inputs.model.n_parameters / 1e6:.1f}M",
        "teacher_parameters": f"{teacher_params / 1e6:.1f}M" if teacher_params else None,
        "size_ratio": f"{teacher_params / inputs.model.n_parameters:.1f}" if teacher_params else None,
        "embedding_dim": inputs.model.embedding_dim,
        "teacher_dim": inputs.teacher.embedding_dim if inputs.teacher else None,
        "max_seq_length": inputs.model.max_seq_length,
        "similarity": inputs.model.similarity or "cosine",
        "modules": " → ".join(inputs.model.module_types),
        "has_query_prompt": query_prompt is not None,
        "query_prompt": query_prompt or "",
        "task_prompts": {k: v for k, v in inputs.model.prompts.items() if k not in ("query", "document")},
        "claims": card_claims(inputs),
        "interchangeable_min": f"{INTERCHANGEABLE_MIN_ALIGNMENT:.2f}",
        "benchmark": benchmark,
        "benchmark_groups": _benchmark_groups(benchmark),
        "comparison": _comparison(inputs),
        "has_peers": bool(inputs.peers),
        "has_init": any(s.mode == "init" for s in res.scores),
        "has_asym": any(s.mode == "asymmetric" for s in res.scores),
        "has_teacher": any(s.mode == "teacher" for s in res.scores),
        "sweep": _sweep_tables(inputs),
        "sweep_dims": sorted({p.dim for p in res.sweep}, reverse=True),
        "plot": inputs.plot,
        "split": res.split,
        "mteb_version": res.mteb_version,
        "corpus_limit": res.corpus_limit,
        "query_limit": res.query_limit,
        "subsampled_tasks": list(dict.fromkeys(s.task for s in subsampled)),
        "subsample_notes": list(dict.fromkeys(f"{s.task}: {_subsample_note(s)}" for s in subsampled)),
        "tasks": res.tasks,
        "retrieval_tasks": retrieval,
        "eval_wall_seconds": f"{res.wall_seconds:.0f}" if res.wall_seconds is not None else None,
        "training": _training(inputs),
        "data": data,
        "research_only": [d for d in data if d.research_only],
        "license_override": bool(inputs.licenses and inputs.licenses.override),
        "license": recipe.card.license,
        "teacher_license": next(
            (c.license for c in (inputs.licenses.components if inputs.licenses else []) if c.role == "teacher"),
            recipe.teacher.license,
        ),
        "supported_st": SUPPORTED_SENTENCE_TRANSFORMERS,
        "asym_min_st": ASYM_MIN_SENTENCE_TRANSFORMERS,
        "static": recipe.student.kind == "static",
        "static_min_st": STATIC_MIN_SENTENCE_TRANSFORMERS,
        "saved_with": inputs.versions,
        "recipe_name": recipe.name,
        "recipe_version": recipe.version,
        "leaf_hub_version": __version__,
        "citations": _citations(inputs),
    }
