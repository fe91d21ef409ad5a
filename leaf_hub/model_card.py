"""Model cards rendered from a run's own result files.

The card is built in two steps, like sentence-transformers' ``model_card.py``: a loader reads
the run folder (``recipe.yaml``, ``metrics.json``, ``eval/results.json``, the model folder)
into a frozen :class:`CardInputs`, and the pure :func:`render_card` turns that into markdown
through ``huggingface_hub.ModelCard.from_template``, so the YAML front matter is valid Hub
metadata (``license``, ``library_name``, ``base_model``, ``datasets``, ``model-index``...).
Every number in a card comes from those files; nothing is typed by hand.

The Highlights and Limitations sentences are generated from the same figures (:func:`card_claims`),
and a claim the figures do not support is dropped or turned into a limitation:

* **asymmetric use** (teacher documents, this model's queries) is recommended only for the tasks
  where its score is at least this model's own symmetric score; elsewhere the measured gap is a
  limitation;
* **Matryoshka** behaviour (and the ``matryoshka`` tag) only when the recipe declares the teacher
  Matryoshka-trained (``teacher.matryoshka``) *and* the teacher's own card says so; otherwise the
  truncation sweep is shown without the claim;
* **speed** only from a dedicated uncached timing of both models on the same texts (``speed`` in
  ``results.json``, :mod:`leaf_hub.evaluation.speed`), never from evaluation wall times;
* **task families** (retrieval, semantic similarity, ...) only those evaluated, named from mteb's
  task metadata; vectors "interchangeable with the teacher's" only at a held-out alignment of at
  least :data:`INTERCHANGEABLE_MIN_ALIGNMENT`;
* a task where this model scores below its initialisation (``init`` mode) is a limitation.

Templates are Jinja files in the repository's ``model_cards/`` folder, shipped in the wheel as
``leaf_hub/_data/model_cards``.

Example:
    >>> from leaf_hub.model_card import load_card_inputs, render_card
    >>> inputs = load_card_inputs("runs/leaf-ir-mini", repo_id="org/leaf-ir-mini")  # doctest: +SKIP
    >>> markdown = render_card(inputs)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaf_hub.citations import LEAF, LEAF_CITATION, SBERT, SBERT_CITATION
from leaf_hub.errors import CardError, EvalError, RecipeError, RunFolderError
from leaf_hub.models.weights import count_parameters
from leaf_hub.recipe import Recipe
from leaf_hub.task_meta import metric_label
from leaf_hub.version import __version__

if TYPE_CHECKING:
    from huggingface_hub import ModelCardData

    from leaf_hub.licenses import LicenseReport
    from leaf_hub.records import DistillReport, EvalResults, ScoreRecord, SpeedRecord
    from leaf_hub.task_meta import TaskFacts

logger = logging.getLogger(__name__)

__all__ = [
    "ASYM_MIN_SENTENCE_TRANSFORMERS",
    "SUPPORTED_SENTENCE_TRANSFORMERS",
    "CardInputs",
    "ModelFacts",
    "INTERCHANGEABLE_MIN_ALIGNMENT",
    "Claims",
    "build_card_data",
    "card_claims",
    "license_text_path",
    "card_inputs",
    "load_card_inputs",
    "matryoshka_supported",
    "read_model_facts",
    "render_asym_card",
    "render_card",
    "task_type",
    "template_path",
]

#: sentence-transformers versions a published leaf model loads with (classic module types).
SUPPORTED_SENTENCE_TRANSFORMERS = ">=3.0,<7"
#: First sentence-transformers version with ``models.Router`` and ``encode_query``/``encode_document``.
ASYM_MIN_SENTENCE_TRANSFORMERS = "5.0"
#: Held-out alignment (mean cosine between the student's and the teacher's vector of the same text)
#: from which a card calls the two models' vectors interchangeable. At 0.90 the two vectors of a text
#: are on average about 26 degrees apart; below it, mixing them is a measured trade-off (the
#: asymmetric scores), not a drop-in swap.
INTERCHANGEABLE_MIN_ALIGNMENT = 0.90

#: Words for mteb task types in the card's prose.
_FAMILY_WORDS = {
    "Retrieval": "retrieval",
    "STS": "semantic similarity",
    "Clustering": "clustering",
    "Classification": "classification",
    "PairClassification": "pair classification",
    "Reranking": "reranking",
    "Summarization": "summarisation",
    "BitextMining": "bitext mining",
    "MultilabelClassification": "multi-label classification",
    "InstructionRetrieval": "instruction retrieval",
}


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


# ---------------------------------------------------------------------------
# RESULT FILES
# ---------------------------------------------------------------------------


def _read_json(path: Path, what: str, hint: str) -> Any:
    if not path.is_file():
        raise CardError(f"{what} not found: {path}; {hint}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CardError(f"{what} {path} is not valid JSON ({e})") from e


# ---------------------------------------------------------------------------
# MODEL FOLDER FACTS (read from files; no torch)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelFacts:
    """Facts about a sentence-transformers folder, read without loading it."""

    n_parameters: int
    embedding_dim: int | None
    max_seq_length: int | None
    module_types: list[str]
    prompts: dict[str, str]
    similarity: str | None


def read_model_facts(folder: str | Path) -> ModelFacts:
    """Read parameter count, output dimension, sequence length and prompts of a model folder.

    Args:
        folder: A sentence-transformers folder (``modules.json`` at its root).

    Returns:
        The facts.

    Raises:
        CardError: If ``modules.json`` is missing or unreadable.
    """
    root = Path(folder)
    modules = _read_json(root / "modules.json", "modules.json", "is this a sentence-transformers folder?")
    n_params = count_parameters(root)
    dim: int | None = None
    for module in modules:
        config = root / module.get("path", "") / "config.json"
        mtype = module.get("type", "")
        if not config.is_file() or not mtype:
            continue
        cfg = json.loads(config.read_text(encoding="utf-8"))
        if mtype.endswith("Dense") and "out_features" in cfg:
            dim = int(cfg["out_features"])
        elif mtype.endswith("Pooling") and "word_embedding_dimension" in cfg:
            dim = int(cfg["word_embedding_dimension"])
    max_len = None
    sbert = root / "sentence_bert_config.json"
    if sbert.is_file():
        max_len = json.loads(sbert.read_text(encoding="utf-8")).get("max_seq_length")
    tok = root / "tokenizer_config.json"
    if max_len is None and tok.is_file():
        limit = json.loads(tok.read_text(encoding="utf-8")).get("model_max_length")
        max_len = int(limit) if isinstance(limit, (int, float)) and limit < 1_000_000 else None
    st_config = root / "config_sentence_transformers.json"
    prompts: dict[str, str] = {}
    similarity = None
    if st_config.is_file():
        cfg = json.loads(st_config.read_text(encoding="utf-8"))
        prompts = dict(cfg.get("prompts") or {})
        similarity = cfg.get("similarity_fn_name")
    return ModelFacts(
        n_parameters=n_params,
        embedding_dim=dim,
        max_seq_length=max_len,
        module_types=[m.get("type", "").rsplit(".", 1)[-1] for m in modules],
        prompts=prompts,
        similarity=similarity,
    )


# ---------------------------------------------------------------------------
# INPUTS
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CardInputs:
    """Everything a card shows, read from one run folder.

    Attributes:
        recipe: The recipe of the release (the one the stages ran with).
        results: The evaluation's results.
        model: Facts of the published model folder.
        repo_id: Where the card is published (``org/name``).
        report: Distillation's report (``None`` for a run distilled elsewhere).
        teacher: Facts of the teacher folder, when it is available locally.
        licenses: The licence gate's report (for the data licence notes).
        asym_repo_id: The companion ``-asym`` repo, when one is published.
        plot: Path of the sweep plot inside the published repo (``None`` when there is none).
        versions: sentence-transformers / transformers / torch versions the model was saved with.
        teacher_card: Text of the teacher's own model card (``README.md`` of its folder), when at hand.
        exports: The checked CPU exports staged beside the weights (:func:`leaf_hub.export.card_rows`).
    """

    recipe: Recipe
    results: EvalResults
    model: ModelFacts
    repo_id: str
    report: DistillReport | None = None
    teacher: ModelFacts | None = None
    licenses: LicenseReport | None = None
    asym_repo_id: str | None = None
    plot: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    teacher_card: str | None = None
    exports: dict[str, Any] | None = None

    @property
    def model_name(self) -> str:
        """Display name: the recipe's ``card.model_name`` or the repo's name."""
        return self.recipe.card.model_name or self.repo_id.split("/")[-1]


def card_inputs(
    recipe: Recipe,
    results: EvalResults,
    model_dir: str | Path,
    *,
    report: DistillReport | None = None,
    repo_id: str | None = None,
    asym_repo_id: str | None = None,
    plot: str | None = None,
    teacher_folder: str | Path | None = None,
    licenses: LicenseReport | None = None,
) -> CardInputs:
    """Put together what a card shows from the records a release hands over (reads only model folders).

    Args:
        recipe: The recipe of the release.
        results: The evaluation's results.
        model_dir: The model folder being published.
        report: Distillation's report, when there is one.
        repo_id: Target repo (default: the recipe's ``hub.repo_id``).
        asym_repo_id: Companion asymmetric repo, when published.
        plot: Path of the sweep plot inside the published repo.
        teacher_folder: Local teacher folder (for its size in the highlights).
        licenses: Licence report; without one, data licences are classified from the recipe alone.

    Returns:
        The card inputs.

    Raises:
        CardError: If the model folder is missing or the results hold no score.
    """
    model_dir = Path(model_dir)
    if not (model_dir / "modules.json").is_file():
        raise CardError(f"{model_dir} has no modules.json; distil the run first")
    if not results.scores:
        raise CardError(f"the evaluation of {model_dir} has no scores; run `leaf-hub evaluate` first")
    if licenses is None:
        from leaf_hub.licenses import LicenseReport, classify_data

        licenses = LicenseReport(recipe.card.license, [], [classify_data(s, None) for s in recipe.data.sources])
    st_config = model_dir / "config_sentence_transformers.json"
    versions = {}
    if st_config.is_file():
        versions = dict(json.loads(st_config.read_text(encoding="utf-8")).get("__version__") or {})
    teacher = None
    teacher_card = None
    if teacher_folder is not None and (Path(teacher_folder) / "modules.json").is_file():
        teacher = read_model_facts(teacher_folder)
        readme = Path(teacher_folder) / "README.md"
        teacher_card = readme.read_text(encoding="utf-8", errors="replace") if readme.is_file() else None
    return CardInputs(
        recipe=recipe,
        results=results,
        model=read_model_facts(model_dir),
        repo_id=repo_id or recipe.hub.repo_id,
        report=report,
        teacher=teacher,
        licenses=licenses,
        asym_repo_id=asym_repo_id,
        plot=plot,
        versions=versions,
        teacher_card=teacher_card,
    )


def load_card_inputs(
    run_dir: str | Path,
    *,
    recipe: Recipe | None = None,
    repo_id: str | None = None,
    asym_repo_id: str | None = None,
    teacher_folder: str | Path | None = None,
    licenses: LicenseReport | None = None,
) -> CardInputs:
    """The card inputs of a run folder, its records loaded through :class:`~leaf_hub.run_folder.RunFolder`.

    Args:
        run_dir: ``runs/<name>`` with a model and evaluation results.
        recipe: The recipe of the release (default: the one the run folder recorded).
        repo_id: Target repo (default: the recipe's ``hub.repo_id``).
        asym_repo_id: Companion asymmetric repo, when published.
        teacher_folder: Local teacher folder (for its size in the highlights).
        licenses: Licence report; without one, data licences are classified from the recipe alone.

    Returns:
        The card inputs.

    Raises:
        CardError: If a record is missing or malformed.
    """
    from leaf_hub.run_folder import RunFolder

    run = RunFolder(run_dir)
    try:
        recipe, results, report = run.load_card_records(recipe)
        run.require_model()
    except (RunFolderError, RecipeError) as e:
        raise CardError(str(e)) from e
    return card_inputs(
        recipe,
        results,
        run.model_dir,
        report=report,
        repo_id=repo_id,
        asym_repo_id=asym_repo_id,
        plot=run.plot_in_repo(results),
        teacher_folder=teacher_folder,
        licenses=licenses,
    )


# ---------------------------------------------------------------------------
# CARD DATA (YAML front matter)
# ---------------------------------------------------------------------------


def _pct(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}"


def _facts(task: str) -> TaskFacts | None:
    """The facts mteb gives for a task (:func:`leaf_hub.task_meta.task_facts`), ``None`` for a name it lacks."""
    from leaf_hub.task_meta import task_facts

    try:
        return task_facts(task)
    except EvalError:
        return None


def task_type(task: str) -> str:
    """The mteb type of a task (``metadata.type``: ``Retrieval``, ``STS``, ``Clustering``...), ``Other`` if unknown."""
    facts = _facts(task)
    return facts.type if facts else "Other"


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
        info = _facts(score.task)
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


# ---------------------------------------------------------------------------
# TEMPLATE CONTEXT
# ---------------------------------------------------------------------------


def _delta(a: float, b: float) -> str:
    """``a - b`` x 100 with its sign: a loss reads as a loss (``-1.49``)."""
    return f"{(a - b) * 100:+.2f}"


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
                "init": _pct(init.main_score) if init else None,
                "teacher": _pct(ref),
                "student": _pct(student.main_score if student else None),
                "asym": _pct(asym.main_score if asym else None),
                "student_retention": f"{_pct(student.main_score / ref, 1)}%" if student and ref else "–",
                "asym_retention": f"{_pct(asym.main_score / ref, 1)}%" if asym and ref else "–",
                "delta_init": _delta(student.main_score, init.main_score) if student and init else None,
            }
        )
    return rows


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
                        cells.append(_pct(point.score))
                    else:
                        cells.append(f"{_pct(point.score)} ({_pct(point.retention, 1)}%)")
                rows.append({"dim": dim, "cells": cells})
            tables.append({"task": task, "model": model, "precisions": precisions, "rows": rows})
    return tables


def matryoshka_supported(inputs: CardInputs) -> bool:
    """Whether the card may claim Matryoshka behaviour and carry the ``matryoshka`` tag.

    Only when the recipe declares the teacher Matryoshka-trained (``teacher.matryoshka``) and the
    teacher's own card, when it is at hand, says so too; a declaration without the teacher's card
    to check it against is not enough.
    """
    if not inputs.recipe.teacher.matryoshka:
        return False
    card = inputs.teacher_card
    if card is None or "matryoshka" not in card.lower():
        logger.warning(
            "card: teacher.matryoshka is set but %s's own card %s; no Matryoshka claim",
            inputs.recipe.teacher.id,
            "is not at hand" if card is None else "does not mention Matryoshka",
        )
        return False
    return True


@dataclass(frozen=True)
class Claims:
    """The figure-backed statements of a card's Highlights and Limitations (see the module docstring).

    Attributes:
        asym_recommended: Tasks where the asymmetric score >= this model's symmetric score
            (``task``, ``asym``, ``student``, ``gap``: x100 strings).
        asym_below: Tasks where it is lower, with the same fields (``gap`` negative).
        matryoshka: Matryoshka behaviour may be claimed (:func:`matryoshka_supported`).
        speed: The uncached timing (``ratio``, ``faster``, seconds, texts, repeats, loads), or ``None``.
        families: Evaluated task families, in words (``retrieval``, ``semantic similarity``).
        alignment: Held-out alignment after training (``"0.6600"``), or ``None``.
        interchangeable: ``alignment`` >= :data:`INTERCHANGEABLE_MIN_ALIGNMENT`.
        init_gains: Tasks where this model beats its initialisation (``task``, ``student``, ``init``, ``delta``).
        init_losses: Tasks where it scores below its initialisation (``delta`` negative).
    """

    asym_recommended: list[dict[str, str]]
    asym_below: list[dict[str, str]]
    matryoshka: bool
    speed: dict[str, Any] | None
    families: list[str]
    alignment: str | None
    interchangeable: bool
    init_gains: list[dict[str, str]]
    init_losses: list[dict[str, str]]


def _speed_claim(speed: SpeedRecord | None) -> dict[str, Any] | None:
    """The speed claim of a dedicated uncached timing of both models with enough interleaved repeats."""
    from leaf_hub.evaluation.speed import MIN_REPEATS

    if speed is None:
        return None
    student_s, teacher_s = speed.seconds.get("student", 0.0), speed.seconds.get("teacher", 0.0)
    if speed.repeats < MIN_REPEATS or not (student_s > 0 and teacher_s > 0):
        logger.warning("speed record ignored: it needs student and teacher timings of >= %d repeats", MIN_REPEATS)
        return None
    ratio = teacher_s / student_s
    loads = [x for x in (speed.load_average_before, speed.load_average_after) if x is not None]
    return {
        "ratio": f"{ratio if ratio >= 1 else 1 / ratio:.1f}",
        "faster": ratio >= 1,
        "texts": speed.texts,
        "kind": "queries" if speed.kind == "query" else "documents",
        "source": speed.source,
        "repeats": speed.repeats,
        "student_seconds": f"{student_s:.2f}",
        "teacher_seconds": f"{teacher_s:.2f}",
        "load": f"{max(loads):.2f}" if loads else None,
    }


def card_claims(inputs: CardInputs) -> Claims:
    """Work out which claims the run's figures support (pure; reads only ``inputs``).

    Args:
        inputs: The card inputs.

    Returns:
        The :class:`Claims` the templates render into Highlights and Limitations.
    """
    res = inputs.results
    recommended: list[dict[str, str]] = []
    below: list[dict[str, str]] = []
    gains: list[dict[str, str]] = []
    losses: list[dict[str, str]] = []
    for task in res.tasks:
        student, asym, init = res.row(task, "student"), res.row(task, "asymmetric"), res.row(task, "init")
        if student and asym:
            row = {
                "task": task,
                "asym": _pct(asym.main_score),
                "student": _pct(student.main_score),
                "gap": _delta(asym.main_score, student.main_score),
            }
            (recommended if asym.main_score >= student.main_score else below).append(row)
        if student and init:
            row = {
                "task": task,
                "student": _pct(student.main_score),
                "init": _pct(init.main_score),
                "delta": _delta(student.main_score, init.main_score),
            }
            (gains if student.main_score >= init.main_score else losses).append(row)
    families = list(dict.fromkeys(_FAMILY_WORDS.get(t, t) for t in (task_type(x) for x in res.tasks)))
    after = inputs.report.alignment_after if inputs.report else None
    alignment = float(after) if after is not None and math.isfinite(after) else None
    return Claims(
        asym_recommended=recommended,
        asym_below=below,
        matryoshka=matryoshka_supported(inputs),
        speed=_speed_claim(res.speed),
        families=families,
        alignment=f"{alignment:.4f}" if alignment is not None else None,
        interchangeable=alignment is not None and alignment >= INTERCHANGEABLE_MIN_ALIGNMENT,
        init_gains=gains,
        init_losses=losses,
    )


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
        facts = _facts(task)
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
            *_option_rows(tr),
        ],
    }


def _option_rows(tr: Any) -> list[tuple[str, Any]]:
    """Training options beyond plain LEAF, listed only when on (see ``scripts/ablation.py``)."""
    rows: list[tuple[str, Any]] = []
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


def _context(inputs: CardInputs) -> dict[str, Any]:
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
        "saved_with": inputs.versions,
        "recipe_name": recipe.name,
        "recipe_version": recipe.version,
        "leaf_hub_version": __version__,
        "citations": _citations(inputs),
    }


# ---------------------------------------------------------------------------
# RENDERING
# ---------------------------------------------------------------------------


def _template_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent
    return [here.parent / "model_cards", here / "_data" / "model_cards"]


def template_path(name: str) -> Path:
    """Path of a card template (``leaf-ir``, ``leaf-mt``, ``generic`` or ``asym``).

    Raises:
        CardError: If no such template ships with leaf-hub.
    """
    for folder in _template_dirs():
        candidate = folder / f"{name}.md"
        if candidate.is_file():
            return candidate
    raise CardError(f"card template {name!r} not found in {', '.join(str(d) for d in _template_dirs())}")


def license_text_path() -> Path:
    """Path of the Apache-2.0 licence text shipped with leaf-hub (``model_cards/LICENSE-APACHE-2.0``)."""
    for folder in _template_dirs():
        candidate = folder / "LICENSE-APACHE-2.0"
        if candidate.is_file():
            return candidate
    raise CardError("LICENSE-APACHE-2.0 not found in the leaf-hub installation")


_INCLUDE = re.compile(r'^\{%-? include "([A-Za-z0-9_.-]+)" -?%\}\n?', re.MULTILINE)


def _expand_includes(template: Path, depth: int = 0) -> str:
    """Inline ``{% include "name" %}`` lines (``from_template`` renders without a loader)."""
    if depth > 4:
        raise CardError(f"card template {template.name}: includes nested too deeply")

    def _inline(match: re.Match[str]) -> str:
        return _expand_includes(template.parent / match.group(1), depth + 1)

    try:
        return _INCLUDE.sub(_inline, template.read_text(encoding="utf-8"))
    except OSError as e:
        raise CardError(f"card template {template.name}: cannot read ({e.strerror})") from e


def _render(template: Path, card_data: ModelCardData, context: dict[str, Any]) -> str:
    import jinja2
    from huggingface_hub import ModelCard

    source = _expand_includes(template)
    # Check every variable exists first: from_template renders leniently (undefined -> "").
    try:
        jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(source).render(card_data="", **context)
    except jinja2.TemplateError as e:
        raise CardError(f"card template {template.name}: {e}") from e
    card = ModelCard.from_template(card_data, template_str=source, **context)
    return str(card).rstrip() + "\n"


def render_card(inputs: CardInputs) -> str:
    """Render the model card of a run (pure: reads only the template).

    Args:
        inputs: The card inputs (see :func:`load_card_inputs`).

    Returns:
        The markdown, YAML front matter included.

    Raises:
        CardError: If the template is missing or refers to an unknown value.
    """
    return _render(template_path(inputs.recipe.card.template), build_card_data(inputs), _context(inputs))


def render_asym_card(inputs: CardInputs) -> str:
    """Render the card of the ``-asym`` companion repo (Router: queries -> student, documents -> teacher).

    Args:
        inputs: The card inputs of the run; ``asym_repo_id`` must be set.

    Returns:
        The markdown.

    Raises:
        CardError: If ``asym_repo_id`` is missing.
    """
    from huggingface_hub import EvalResult, ModelCardData

    if not inputs.asym_repo_id:
        raise CardError("render_asym_card needs inputs.asym_repo_id")
    base = build_card_data(inputs)
    asym_results = [r for r in (base.eval_results or []) if r.metric_config == "asymmetric"]
    data = ModelCardData(
        model_name=inputs.asym_repo_id.split("/")[-1],
        license=base.license,
        library_name="sentence-transformers",
        pipeline_tag=base.pipeline_tag,
        language=base.language,
        tags=[*(base.tags or []), "asymmetric"],
        base_model=[inputs.repo_id, inputs.recipe.teacher.id],
        datasets=base.datasets,
        metrics=base.metrics,
        eval_results=[EvalResult(**{k: v for k, v in vars(r).items() if k in _EVAL_FIELDS}) for r in asym_results]
        or None,
    )
    return _render(template_path("asym"), data, _context(inputs))


_EVAL_FIELDS = (
    "task_type",
    "dataset_type",
    "dataset_name",
    "metric_type",
    "metric_value",
    "task_name",
    "dataset_config",
    "dataset_split",
    "dataset_revision",
    "dataset_args",
    "metric_name",
    "metric_config",
    "metric_args",
)
