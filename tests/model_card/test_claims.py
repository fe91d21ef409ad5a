"""Each card claim follows its figures: it appears when they support it and disappears when they don't.

Pure rendering from given records (no model, no distillation): the recipe is the tiny test
recipe, the scores and speed records are written here, and every test renders the card twice,
once with figures that support the claim and once with figures that do not.
"""

from __future__ import annotations

import dataclasses
import re

from huggingface_hub import ModelCard

from leaf_hub.model_card import (
    INTERCHANGEABLE_MIN_ALIGNMENT,
    CardInputs,
    load_evidence,
    render_asym_card,
    render_card,
)
from leaf_hub.models.folder import ModelFacts
from leaf_hub.recipe import parse_recipe
from leaf_hub.records import EvalResults, SpeedRecord, SweepRecord
from tests.publish._run import TINY_RECIPE
from tests.support.recipes import with_changes
from tests.support.records import distill_report, score_record

MATRYOSHKA_CARD = "# Teacher\n\nTrained with MatryoshkaLoss on dims 768, 512, 256, 128 and 64.\n"
PLAIN_CARD = "# all-mpnet-base-v2\n\nThis is a sentence-transformers model: it maps sentences to a 768 dense space.\n"


def _recipe(**changes):
    return parse_recipe(with_changes(TINY_RECIPE, changes), "tiny")


def _speed(repeats: int = 5) -> SpeedRecord:
    return SpeedRecord(
        texts=64,
        kind="query",
        source="SciFact test queries",
        repeats=repeats,
        seconds={"student": 1.25, "teacher": 9.0},
        all_seconds={"student": [1.25] * repeats, "teacher": [9.0] * repeats},
        load_average_before=0.3,
        load_average_after=0.5,
    )


def _inputs(
    scores: dict[tuple[str, str], float],
    *,
    recipe=None,
    speed: SpeedRecord | None = None,
    alignment: float | None = 0.80,
    teacher_card: str | None = PLAIN_CARD,
    sweep: bool = False,
    citations: dict[str, str] | None = None,
) -> CardInputs:
    points = [SweepRecord(task="STSBenchmark", model="student", dim=768, precision="float32", score=0.8, retention=1.0)]
    results = EvalResults(
        model_path="model",
        teacher="sentence-transformers/all-mpnet-base-v2",
        mteb_version="2.26.24",
        split="test",
        corpus_limit=60,
        query_limit=12,
        scores=[score_record(t, m, v) for (t, m), v in scores.items()],
        sweep=points if sweep else [],
        plot=None,
        wall_seconds=10.0,
        speed=speed,
    )
    facts = ModelFacts(23_000_000, 768, 128, ["Transformer", "Pooling", "Dense", "Normalize"], {"query": ""}, "cosine")
    teacher = ModelFacts(109_000_000, 768, 128, ["Transformer", "Pooling", "Normalize"], {}, "cosine")
    report = None
    if alignment is not None or citations:
        after = 0.5 if alignment is None else alignment
        report = distill_report(alignment_after=after, citations=dict(citations or {}))
    return CardInputs(
        recipe=recipe or _recipe(),
        results=results,
        model=facts,
        repo_id="org/leaf-ir-tiny",
        report=report,
        teacher=teacher,
        teacher_card=teacher_card,
        evidence=load_evidence(),  # the committed reports: tested versions, asymmetric noise margin
    )


def _section(card: str, title: str) -> str:
    match = re.search(rf"^## {title}\n(.*?)(?=^## )", card, re.MULTILINE | re.DOTALL)
    assert match, f"no section {title}"
    return match.group(1)


BASE = {("SciFact", "student"): 0.70, ("SciFact", "teacher"): 0.75, ("STSBenchmark", "student"): 0.80}


def test_asymmetric_use_is_recommended_only_where_it_beats_the_student_beyond_the_noise_margin() -> None:
    margin = load_evidence().noise("SciFact")  # the plain seeds' range of SciFact's asymmetric score (ablation)
    assert margin is not None and 0 < margin < 0.02
    good = render_card(_inputs({**BASE, ("SciFact", "asymmetric"): 0.72, ("STSBenchmark", "asymmetric"): 0.71}))
    highlights, limits = _section(good, "Highlights"), _section(good, "Limitations")
    assert f"**Asymmetric use:** on SciFact (72.00 vs 70.00 alone, noise margin {100 * margin:.2f})" in highlights
    assert "STSBenchmark (71.00" not in highlights
    assert "Asymmetric use on STSBenchmark (teacher documents, this model's queries) scored -9.00" in limits
    assert "Asymmetric use on SciFact" not in limits
    assert "### Asymmetric use: teacher documents" in good and "document_model = SentenceTransformer" in good
    assert "its query vectors paired with the teacher's document vectors" in good

    # above the student, but by less than the margin: reported, not recommended
    within = render_card(_inputs({**BASE, ("SciFact", "asymmetric"): 0.70 + margin / 2}))
    assert "**Asymmetric use:**" not in _section(within, "Highlights")
    assert "document_model = SentenceTransformer" not in within and "not recommended" in within
    assert f"within the noise margin ({100 * margin:.2f}" in _section(within, "Limitations")

    bad = render_card(_inputs({**BASE, ("SciFact", "asymmetric"): 0.53, ("STSBenchmark", "asymmetric"): 0.71}))
    assert "Asymmetric use" not in _section(bad, "Highlights")
    limits = _section(bad, "Limitations")
    assert "Asymmetric use on SciFact (teacher documents, this model's queries) scored -17.00" in limits
    assert "(53.00 vs 70.00)" in limits
    assert "document_model = SentenceTransformer" not in bad
    assert "not recommended" in bad
    assert "paired with the teacher's document vectors" not in bad
    asym = render_asym_card(dataclasses.replace(_inputs({**BASE, ("SciFact", "asymmetric"): 0.53}), asym_repo_id="o/a"))
    assert "it scored below leaf-ir-tiny alone" in asym and "at least as well" not in asym

    # without the reports' evidence no margin is known, and nothing is recommended
    unknown = render_card(dataclasses.replace(_inputs({**BASE, ("SciFact", "asymmetric"): 0.72}), evidence=None))
    assert "**Asymmetric use:**" not in unknown and "within the noise margin (not measured" in unknown


def test_matryoshka_claim_and_tag_need_a_declared_and_documented_teacher() -> None:
    declared = _recipe(**{"teacher.matryoshka": True, "card.tags": ["leaf", "matryoshka"]})
    yes = render_card(_inputs(BASE, recipe=declared, teacher_card=MATRYOSHKA_CARD, sweep=True))
    assert "matryoshka" in ModelCard(yes).data.tags
    assert "**Matryoshka:** the teacher was trained with a Matryoshka loss" in yes
    assert "### Matryoshka dimensions × quantisation" in yes

    # the recipe's tag alone, a declaration the teacher's card does not back, or no card: no claim
    for recipe, card in (
        (_recipe(**{"card.tags": ["leaf", "matryoshka"]}), MATRYOSHKA_CARD),
        (declared, PLAIN_CARD),
        (declared, None),
    ):
        no = render_card(_inputs(BASE, recipe=recipe, teacher_card=card, sweep=True))
        assert "matryoshka" not in ModelCard(no).data.tags
        assert "**Matryoshka:**" not in no and "Matryoshka dimensions" not in no
        assert "### Truncated dimensions × quantisation" in no  # the sweep stands, without the claim


def test_speed_is_claimed_only_from_a_dedicated_timing() -> None:
    yes = render_card(_inputs(BASE, speed=_speed()))
    assert "**Speed:** encoded 64 SciFact test queries 7.2× faster than the teacher (1.25 s vs 9.00 s" in yes
    assert "fastest of 5 interleaved uncached passes" in yes and "load average up to 0.50" in yes
    assert "speed against the teacher was not measured" not in yes

    # evaluation wall times (seconds of each score) are no speed record: no claim from them
    timed = _inputs(BASE)
    timed = dataclasses.replace(
        timed,
        results=timed.results.model_copy(
            update={
                "scores": [
                    s.model_copy(update={"seconds": 10.0 if s.mode == "teacher" else 1.0}) for s in timed.results.scores
                ]
            }
        ),
    )
    no = render_card(timed)
    assert "**Speed:**" not in no and "faster" not in no
    assert "Encoding speed against the teacher was not measured for this card." in _section(no, "Limitations")


def test_speed_record_with_too_few_repeats_is_ignored() -> None:
    assert "**Speed:**" not in render_card(_inputs(BASE, speed=_speed(repeats=1)))
    assert "**Speed:** encoded 64 SciFact test queries 7.2× faster" in render_card(_inputs(BASE, speed=_speed()))


def test_task_families_and_interchangeability_follow_what_was_evaluated() -> None:
    mt = _recipe(**{"card.template": "leaf-mt"})
    sts_only = render_card(_inputs({("STSBenchmark", "student"): 0.8}, recipe=mt, alignment=0.66))
    intro = ModelCard(sts_only).text.split("## Highlights")[0]
    assert "evaluated here on semantic similarity, distilled" in intro
    for untested in ("clustering", "classification", "retrieval", "multi-task"):
        assert untested not in intro
    assert "interchangeable with the teacher's" not in intro
    assert "Held-out alignment to the teacher is 0.6600" in _section(sts_only, "Limitations")
    assert "### STS" in sts_only and "### Retrieval" not in sts_only

    both = render_card(_inputs(BASE, recipe=mt, alignment=INTERCHANGEABLE_MIN_ALIGNMENT + 0.03))
    intro = ModelCard(both).text.split("## Highlights")[0]
    assert "evaluated here on retrieval, semantic similarity, distilled" in intro
    assert "interchangeable with the teacher's (held-out alignment 0.9300)" in intro
    assert "Held-out alignment to the teacher is" not in both
    assert "**Evaluated on:** retrieval, semantic similarity (SciFact, STSBenchmark)." in both
    assert both.index("### Retrieval") < both.index("| SciFact") < both.index("### STS") < both.index("| STSBenchmark")


def test_init_losses_are_shown_as_losses() -> None:
    scores = {**BASE, ("SciFact", "init"): 0.65, ("STSBenchmark", "init"): 0.8203}
    card = render_card(_inputs(scores))
    assert "| SciFact | nDCG@10 | 65.00 | 75.00 | **70.00** | 93.3% | +5.00 |" in card
    assert "| STSBenchmark | Spearman (cosine) | 82.03 | – | **80.00** | – | -2.03 |" in card
    assert "**Against its initialisation** ([sentence-transformers/all-MiniLM-L6-v2]" in card
    assert "SciFact +5.00 (65.00 → 70.00)" in card
    limits = _section(card, "Limitations")
    assert "On STSBenchmark this model scores below its initialisation" in limits
    assert "80.00 vs 82.03 (-2.03)" in limits
    assert "On SciFact this model scores below" not in limits


def _citation_section(card: str) -> str:
    return card.split("## Citation")[1]


def test_the_card_cites_the_losses_that_distillation_recorded() -> None:
    from leaf_hub.citations import LEAF, LEAF_CITATION, LG_ANNA, LG_ANNA_CITATION

    # the record decides, not the recipe: score distillation on in the recipe, but a plain-LEAF record
    recipe = _recipe(**{"training.score_distill_weight": 0.1})
    with_anna = _citation_section(
        render_card(_inputs(BASE, recipe=recipe, citations={LEAF: LEAF_CITATION, LG_ANNA: LG_ANNA_CITATION}))
    )
    assert f"**{LG_ANNA}**" in with_anna and LG_ANNA_CITATION in with_anna
    assert with_anna.index(LEAF_CITATION) < with_anna.index(LG_ANNA_CITATION) < with_anna.index("**Sentence-BERT**")
    plain = _citation_section(render_card(_inputs(BASE, recipe=recipe, citations={LEAF: LEAF_CITATION})))
    assert LEAF_CITATION in plain
    assert "choi2025lganna" not in plain and LG_ANNA not in plain


def test_a_run_without_a_citation_record_cites_leaf_only() -> None:
    from leaf_hub.citations import LEAF_CITATION, LG_ANNA

    old_run = _citation_section(render_card(_inputs(BASE, recipe=_recipe(**{"training.score_distill_weight": 0.1}))))
    assert LEAF_CITATION in old_run and "**Sentence-BERT**" in old_run
    assert LG_ANNA not in old_run and "2506.07438" not in old_run and "2506.20923" not in old_run


def test_task_citations_are_mteb_s() -> None:
    from leaf_hub.task_meta import task_facts

    section = _citation_section(render_card(_inputs(BASE)))
    for task in ("SciFact", "STSBenchmark"):
        assert f"**{task}**" in section and task_facts(task).citation in section
    assert "**NFCorpus**" not in section  # not evaluated here


def test_the_subsample_note_agrees_with_the_number_of_tasks() -> None:
    inputs = _inputs(BASE)
    one = inputs.results.model_copy(
        update={"scores": [s.model_copy(update={"subsampled": s.task == "SciFact"}) for s in inputs.results.scores]}
    )
    text = render_card(dataclasses.replace(inputs, results=one))
    assert "- SciFact was evaluated on sub-samples (SciFact: 60 documents, 12 queries)" in text
    both = inputs.results.model_copy(update={"scores": [s.model_copy(update={"subsampled": True}) for s in one.scores]})
    text = render_card(dataclasses.replace(inputs, results=both))
    assert "- SciFact, STSBenchmark were evaluated on sub-samples" in text
