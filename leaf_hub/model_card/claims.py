"""The figure-backed sentences of a card's Highlights and Limitations.

:func:`card_claims` works out from the card inputs alone which statements the figures support;
a claim they do not support is dropped or turned into a limitation:

* **asymmetric use** (teacher documents, this model's queries) is recommended only for the tasks
  where its score beats this model's own symmetric score by more than the noise margin (the
  plain-LEAF seed range of the asymmetric score, :class:`~leaf_hub.model_card.evidence.Evidence`);
  a gain within the margin is reported as such, a loss is a limitation;
* **Matryoshka** behaviour (and the ``matryoshka`` tag) only when the recipe declares the teacher
  Matryoshka-trained (``teacher.matryoshka``) *and* the teacher's own card says so; otherwise the
  truncation sweep is shown without the claim;
* **speed** only from a dedicated uncached timing of both models on the same texts (``speed`` in
  ``results.json``, :mod:`leaf_hub.evaluation.speed`), never from evaluation wall times; "faster"
  (or "slower") only at a ratio of at least :data:`FASTER_MIN_RATIO` either way, printed with the
  ratio; the same margin for the CPU exports against PyTorch (:func:`export_speed_claims`);
* **tested versions**: the sentence-transformers releases the compatibility report tested, by
  their exact versions;
* **task families** (retrieval, semantic similarity, ...) only those evaluated, named from mteb's
  task metadata; vectors "interchangeable with the teacher's" only at a held-out alignment of at
  least :data:`INTERCHANGEABLE_MIN_ALIGNMENT`;
* a task where this model scores below its initialisation (``init`` mode) is a limitation, and a
  task family where it does is named at the top of the card; a use ("for information retrieval")
  only for a family where it holds its initialisation's score on every task evaluated
  (:attr:`Claims.families_held`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import EvalError
from leaf_hub.model_card.evidence import Evidence
from leaf_hub.records import MIN_REPEATS

if TYPE_CHECKING:
    from leaf_hub.model_card.inputs import CardInputs
    from leaf_hub.records import SpeedRecord
    from leaf_hub.task_meta import TaskFacts

logger = logging.getLogger(__name__)

__all__ = [
    "FASTER_MIN_RATIO",
    "INTERCHANGEABLE_MIN_ALIGNMENT",
    "Claims",
    "card_claims",
    "delta",
    "export_speed_claims",
    "speed_verdict",
    "matryoshka_supported",
    "pct",
    "task_facts_or_none",
    "task_type",
]

#: Held-out alignment (mean cosine between the student's and the teacher's vector of the same text)
#: from which a card calls the two models' vectors interchangeable. At 0.90 the two vectors of a text
#: are on average about 26 degrees apart; below it, mixing them is a measured trade-off (the
#: asymmetric scores), not a drop-in swap.
INTERCHANGEABLE_MIN_ALIGNMENT = 0.90

#: Throughput ratio from which a card calls one model (or export) faster or slower than another.
#: Below it the two timings are "about the same": repeated uncached timings on a shared CPU
#: machine move by more than a few percent between runs (reports/bench_eval.json keeps every pass).
FASTER_MIN_RATIO = 1.2

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


def pct(value: float | None, digits: int = 2) -> str:
    """A fraction as the card prints it (``0.6451`` -> ``64.51``); ``–`` for none."""
    return "–" if value is None else f"{value * 100:.{digits}f}"


def task_facts_or_none(task: str) -> TaskFacts | None:
    """The facts mteb gives for a task (:func:`leaf_hub.task_meta.task_facts`), ``None`` for a name it lacks."""
    from leaf_hub.task_meta import task_facts

    try:
        return task_facts(task)
    except EvalError:
        return None


def task_type(task: str) -> str:
    """The mteb type of a task (``metadata.type``: ``Retrieval``, ``STS``, ``Clustering``...), ``Other`` if unknown."""
    facts = task_facts_or_none(task)
    return facts.type if facts else "Other"


def delta(a: float, b: float) -> str:
    """``a - b`` x 100 with its sign: a loss reads as a loss (``-1.49``)."""
    return f"{(a - b) * 100:+.2f}"


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
        asym_recommended: Tasks where the asymmetric score beats this model's symmetric score by more
            than the noise margin (``task``, ``asym``, ``student``, ``gap``, ``margin``: x100 strings).
        asym_within_noise: Tasks where it is higher or equal, but by no more than the margin (or no
            margin is known): not recommended, not ruled out.
        asym_below: Tasks where it is lower, with the same fields (``gap`` negative).
        matryoshka: Matryoshka behaviour may be claimed (:func:`matryoshka_supported`).
        speed: The uncached timing (``ratio``, ``faster``, seconds, texts, repeats, loads), or ``None``.
        families: Evaluated task families, in words (``retrieval``, ``semantic similarity``).
        alignment: Held-out alignment after training (``"0.6600"``), or ``None``.
        interchangeable: ``alignment`` >= :data:`INTERCHANGEABLE_MIN_ALIGNMENT`.
        init_gains: Tasks where this model beats its initialisation (``task``, ``family``, ``student``,
            ``init``, ``delta``, ``subsampled``).
        init_losses: Tasks where it scores below its initialisation (``delta`` negative).
        families_held: Task families (in words) where it holds its initialisation's score on every task
            compared: the only families a card may name as the model's use.
        families_lost: Task families where it scores below its initialisation on some task.
        faster_min_ratio: :data:`FASTER_MIN_RATIO` as printed.
        exports: :func:`export_speed_claims` of the CPU exports.
        tested_sentence_transformers: The sentence-transformers versions the compatibility report
            tested (exact versions; empty when the report is not at hand).
    """

    asym_recommended: list[dict[str, str]]
    asym_within_noise: list[dict[str, str]]
    asym_below: list[dict[str, str]]
    matryoshka: bool
    speed: dict[str, Any] | None
    families: list[str]
    alignment: str | None
    interchangeable: bool
    init_gains: list[dict[str, Any]]
    init_losses: list[dict[str, Any]]
    families_held: list[str]
    families_lost: list[str]
    faster_min_ratio: str
    exports: dict[str, list[dict[str, str]]]
    tested_sentence_transformers: list[str]


def _speed_claim(speed: SpeedRecord | None) -> dict[str, Any] | None:
    """The speed claim of a dedicated uncached timing of both models with enough interleaved repeats."""
    if speed is None:
        return None
    student_s, teacher_s = speed.seconds.get("student", 0.0), speed.seconds.get("teacher", 0.0)
    if speed.repeats < MIN_REPEATS or not (student_s > 0 and teacher_s > 0):
        logger.warning("speed record ignored: it needs student and teacher timings of >= %d repeats", MIN_REPEATS)
        return None
    ratio = teacher_s / student_s
    loads = [x for x in (speed.load_average_before, speed.load_average_after) if x is not None]
    verdict = speed_verdict(ratio)
    return {
        "ratio": f"{ratio if ratio >= 1 else 1 / ratio:.1f}",
        "measured_ratio": f"{ratio:.2f}",
        "verdict": verdict,
        "faster": verdict == "faster",
        "texts": speed.texts,
        "kind": "queries" if speed.kind == "query" else "documents",
        "source": speed.source,
        "repeats": speed.repeats,
        "student_seconds": f"{student_s:.2f}",
        "teacher_seconds": f"{teacher_s:.2f}",
        "load": f"{max(loads):.2f}" if loads else None,
    }


def speed_verdict(ratio: float) -> str:
    """``faster``, ``slower`` or ``similar``: a throughput ratio (this / other) against :data:`FASTER_MIN_RATIO`."""
    if ratio >= FASTER_MIN_RATIO:
        return "faster"
    if ratio <= 1 / FASTER_MIN_RATIO:
        return "slower"
    return "similar"


def export_speed_claims(exports: dict[str, Any] | None) -> dict[str, list[dict[str, str]]]:
    """The CPU exports that were faster than PyTorch beyond :data:`FASTER_MIN_RATIO`, and the rest.

    Args:
        exports: What the card shows of the exports (:func:`leaf_hub.export.card_rows`); each row's
            ``speedup`` is its query throughput over PyTorch's on the same machine.

    Returns:
        ``{"faster": [...], "not_faster": [...]}``, rows of ``path`` and ``ratio``; exports without a
        timing are in neither.
    """
    claims: dict[str, list[dict[str, str]]] = {"faster": [], "not_faster": []}
    for row in (exports or {}).get("rows", []):
        ratio = row.get("speedup_value")
        if ratio is None and row.get("speedup") is not None:
            ratio = float(row["speedup"])
        if ratio is None:
            continue
        verdict = speed_verdict(ratio)
        claims["faster" if verdict == "faster" else "not_faster"].append(
            {"path": row["path"], "ratio": f"{ratio:.2f}", "verdict": verdict}
        )
    return claims


def _family(task: str) -> str:
    kind = task_type(task)
    return _FAMILY_WORDS.get(kind, kind)


def card_claims(inputs: CardInputs) -> Claims:
    """Work out which claims the run's figures support (pure; reads only ``inputs``).

    Args:
        inputs: The card inputs.

    Returns:
        The :class:`Claims` the templates render into Highlights and Limitations.
    """
    res = inputs.results
    evidence = inputs.evidence or Evidence()
    recommended: list[dict[str, str]] = []
    within: list[dict[str, str]] = []
    below: list[dict[str, str]] = []
    gains: list[dict[str, str]] = []
    losses: list[dict[str, str]] = []
    for task in res.tasks:
        student, asym, init = res.row(task, "student"), res.row(task, "asymmetric"), res.row(task, "init")
        if student and asym:
            gap = asym.main_score - student.main_score
            noise = evidence.noise(task)
            row = {
                "task": task,
                "asym": pct(asym.main_score),
                "student": pct(student.main_score),
                "gap": delta(asym.main_score, student.main_score),
                "margin": pct(noise) if noise is not None else "not measured",
            }
            if gap < 0:
                below.append(row)
            elif noise is not None and gap > noise:
                recommended.append(row)
            else:
                within.append(row)
        if student and init:
            row = {
                "task": task,
                "family": _family(task),
                "student": pct(student.main_score),
                "init": pct(init.main_score),
                "delta": delta(student.main_score, init.main_score),
                "subsampled": student.subsampled or init.subsampled,
            }
            (gains if student.main_score >= init.main_score else losses).append(row)
    families = list(dict.fromkeys(_family(x) for x in res.tasks))
    compared = {row["family"] for row in gains + losses}
    lost = {row["family"] for row in losses}
    held = [f for f in families if f in compared and f not in lost]
    after = inputs.report.alignment_after if inputs.report else None
    alignment = float(after) if after is not None and math.isfinite(after) else None
    return Claims(
        asym_recommended=recommended,
        asym_within_noise=within,
        asym_below=below,
        matryoshka=matryoshka_supported(inputs),
        speed=_speed_claim(res.speed),
        families=families,
        alignment=f"{alignment:.4f}" if alignment is not None else None,
        interchangeable=alignment is not None and alignment >= INTERCHANGEABLE_MIN_ALIGNMENT,
        init_gains=gains,
        init_losses=losses,
        families_held=held,
        families_lost=[f for f in families if f in lost],
        faster_min_ratio=f"{FASTER_MIN_RATIO:.1f}",
        exports=export_speed_claims(inputs.exports),
        tested_sentence_transformers=list(evidence.tested_sentence_transformers),
    )
