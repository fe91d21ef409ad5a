from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from leaf_hub.errors import CardError, LicenseError, RunFolderError
from leaf_hub.licenses import check_licenses
from leaf_hub.model_card import DATA_ORIGINS, FASTER_MIN_RATIO, load_evidence, render_asym_card, render_card
from leaf_hub.model_card.render import _render
from leaf_hub.run_folder import RunFolder
from tests.support.cards import run_card_inputs


def read_recipe(path: Path):
    return RunFolder(path.parent).load_recipe()


def _inputs(run: Path, teacher_path: Path, student_path: Path, shared_data: Path):
    recipe = read_recipe(run / "recipe.yaml")
    licenses = check_licenses(
        recipe, student_folder=student_path, teacher_folder=teacher_path, ship_teacher=True, data_root=shared_data
    )
    return run_card_inputs(
        run,
        repo_id="org/leaf-ir-tiny",
        asym_repo_id="org/leaf-ir-tiny-asym",
        teacher_folder=teacher_path,
        licenses=licenses,
    )


@pytest.mark.slow
def test_card_numbers_and_metadata_round_trip(leaf_run, teacher_path, student_path, shared_data) -> None:
    results = json.loads((leaf_run / "eval" / "results.json").read_text())
    recipe = read_recipe(leaf_run / "recipe.yaml")
    text = render_card(_inputs(leaf_run, teacher_path, student_path, shared_data))
    card = ModelCard(text)  # parses the front matter strictly
    data = card.data
    assert data.license == recipe.card.license == "apache-2.0"
    assert data.library_name == "sentence-transformers"
    assert data.base_model == recipe.student.id
    assert data.pipeline_tag == "sentence-similarity"
    expected_datasets = [d for s in recipe.data.sources for d in DATA_ORIGINS.get(s.path, [])]
    assert data.datasets == list(dict.fromkeys(expected_datasets))
    assert data.model_name == "leaf-ir-tiny"
    # every (task, mode) score of results.json is in the model-index, mode in metric config, x100
    found = {(r.dataset_name.split(" ")[0], r.metric_config): r for r in data.eval_results}
    assert len(found) == len(results["scores"])
    for score in results["scores"]:
        entry = found[(score["task"], score["mode"])]
        assert entry.metric_type == score["main_metric"]
        assert entry.metric_value == pytest.approx(score["main_score"] * 100, abs=1e-4)
        assert entry.dataset_revision == score["dataset_revision"]
        assert f"{score['main_score'] * 100:.2f}" in card.text
    for point in results["sweep"]:
        assert f"{point['score'] * 100:.2f}" in card.text
    # the body names the teacher, flags sub-sampling and research-only data, claims no BEIR average
    assert recipe.teacher.id in card.text
    assert "not comparable with MTEB leaderboard scores" in card.text and "**Sub-sampled:**" in card.text
    assert "**Research-only data:**" in card.text
    assert "no BEIR average is claimed" in card.text
    assert 'prompt_name="query"' in card.text
    assert "2509.12539" in card.text and "Sentence-BERT" in card.text
    assert "![Truncation × quantisation sweep](eval/sweep.png)" in card.text
    assert "matryoshka" not in data.tags and "Matryoshka:" not in card.text
    metrics = json.loads((leaf_run / "metrics.json").read_text())
    assert f"{metrics['steps']:,} steps" in card.text
    # distillation recorded the loss it built (plain LEAF in the tiny recipe), and the card cites that
    from leaf_hub.citations import LEAF, LEAF_CITATION

    assert metrics["citations"] == {LEAF: LEAF_CITATION} and LEAF_CITATION in card.text
    assert "None" not in card.text
    # the file parses back the same way from disk
    path = leaf_run.parent / "README.md"
    path.write_text(text, encoding="utf-8")
    assert ModelCard.load(path).data.to_dict() == data.to_dict()


@pytest.mark.slow
def test_asym_card_lists_only_asymmetric_results(leaf_run, teacher_path, student_path, shared_data) -> None:
    card = ModelCard(render_asym_card(_inputs(leaf_run, teacher_path, student_path, shared_data)))
    assert card.data.base_model == ["org/leaf-ir-tiny", "sentence-transformers/all-mpnet-base-v2"]
    assert {r.metric_config for r in card.data.eval_results} == {"asymmetric"}
    assert "encode_query" in card.text and "5.0 or later" in card.text


@pytest.fixture(scope="module")
def init_run(leaf_run, module_tmp) -> Path:
    """The tiny real run evaluated again with the init mode and an uncached speed timing.

    Student and teacher vectors come from the caches of the first evaluation; only the init
    (all-MiniLM-L6-v2 as published) encodes, and the timing encodes 12 queries 5 times per model.
    """
    import shutil

    from leaf_hub.evaluation.run import evaluate_run

    run = module_tmp("init-run") / "run"
    shutil.copytree(leaf_run, run, ignore=shutil.ignore_patterns("checkpoints"))
    evaluate_run(*_recorded(run), modes=["student", "teacher", "asymmetric", "init"], progress=False, speed_texts=12)
    return run


_NUMBER = re.compile(r"(?<![\w.])[+-]?\d+(?:\.\d+)?(?![\w.])")


@pytest.mark.slow
def test_every_number_on_a_real_card_is_in_the_run_files(init_run, teacher_path, student_path, shared_data) -> None:
    results = json.loads((init_run / "eval" / "results.json").read_text())
    metrics = json.loads((init_run / "metrics.json").read_text())
    assert {s["mode"] for s in results["scores"]} == {"student", "teacher", "asymmetric", "init"}
    assert results["speed"]["repeats"] >= 5 and results["speed"]["texts"] == 12
    text = ModelCard(render_card(_inputs(init_run, teacher_path, student_path, shared_data))).text

    # what the run's files allow the card to say, formatted as the card formats it
    allowed: set[str] = set()
    by = {(s["task"], s["mode"]): s["main_score"] for s in results["scores"]}
    for (task, mode), value in by.items():
        allowed.add(f"{value * 100:.2f}")
        teacher = by.get((task, "teacher"))
        if teacher and mode in ("student", "asymmetric"):
            allowed.add(f"{value / teacher * 100:.1f}")
        if mode in ("asymmetric", "init") and (task, "student") in by:
            sign = 1 if mode == "init" else -1
            allowed.add(f"{sign * (by[(task, 'student')] - value) * 100:+.2f}")
    for point in results["sweep"]:
        allowed |= {f"{point['score'] * 100:.2f}", f"{point['retention'] * 100:.1f}", str(point["dim"])}
    speed = results["speed"]
    s_sec, t_sec = speed["seconds"]["student"], speed["seconds"]["teacher"]
    ratio = t_sec / s_sec
    allowed |= {f"{s_sec:.2f}", f"{t_sec:.2f}", f"{max(ratio, 1 / ratio):.1f}", str(speed["texts"])}
    allowed |= {str(speed["repeats"])}
    loads = [x for x in (speed["load_average_before"], speed["load_average_after"]) if x is not None]
    allowed |= {f"{max(loads):.2f}"} if loads else set()
    allowed |= {f"{metrics['alignment_after']:.4f}", "0.90"}  # the interchangeability threshold, a constant
    for fig in (metrics.get("alignment_by_kind") or {}).values():  # per-kind held-out alignment (query row)
        allowed |= {str(int(fig["n"])), f"{fig['before']:.4f}", f"{fig['after']:.4f}"}
    allowed |= {f"{FASTER_MIN_RATIO:.1f}"}  # the faster/slower margin, a constant
    noise = load_evidence().asymmetric_noise  # the asymmetric noise margins, from reports/ablation.json
    allowed |= {f"{v * 100:.2f}" for v in noise.values()}
    allowed |= {str(s.get(k)) for s in results["scores"] for k in ("n_docs", "n_queries")}
    allowed |= {"1"}  # "no BEIR average is claimed from 1 retrieval task"
    model = init_run / "model"
    allowed |= {str(json.loads((model / "sentence_bert_config.json").read_text())["max_seq_length"])}
    allowed |= {str(json.loads((model / "2_Dense" / "config.json").read_text())["out_features"])}

    for title in ("Highlights", "Evaluation", "Limitations"):
        body = re.search(rf"^## {title}\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL).group(1)
        body = re.sub(r"\[[^\]]*\]\([^)]*\)", "", body)  # links (model ids hold digits)
        body = re.sub(r"mteb \d+\.\d+\.\d+|\(teacher: \d+\)|nDCG@10|×100", "", body)
        if title == "Highlights":  # parameter counts come from the weight files, checked in the next test
            body = re.sub(r"\*\*Size:\*\*[^\n]*", "", body)
        shown = set(_NUMBER.findall(body))
        assert shown <= allowed, f"{title}: numbers not in the run's files: {sorted(shown - allowed)}"
    # and every score is shown: init, student, teacher, asymmetric, with Δ vs init on every row
    for (task, mode), value in by.items():
        assert f"{value * 100:.2f}" in text, (task, mode)
    for task in {t for t, _ in by}:
        row = next(line for line in text.splitlines() if line.startswith(f"| {task}"))
        assert row.rstrip(" |").endswith(f"{(by[(task, 'student')] - by[(task, 'init')]) * 100:+.2f}")
    assert "Student init" in text and "Δ vs init" in text
    assert f"{max(ratio, 1 / ratio):.1f}×" in text and "interleaved uncached passes" in text


@pytest.mark.slow
def test_compared_with_shows_init_teacher_and_peers_read_from_mteb_result_files(
    init_run, teacher_path, student_path, shared_data, tmp_path
) -> None:
    import dataclasses
    import shutil

    from leaf_hub.evaluation.peers import peer_scores

    results = json.loads((init_run / "eval" / "results.json").read_text())
    by = {(s["task"], s["mode"]): s for s in results["scores"]}
    # a results folder in mteb's layout, holding a real result file this run's evaluation wrote (the teacher's)
    peer = tmp_path / "results" / "org__peer-model" / "abc123"
    peer.mkdir(parents=True)
    shutil.copy(init_run / "eval" / "mteb" / "teacher" / "STSBenchmark.json", peer / "STSBenchmark.json")
    peers = peer_scores(tmp_path / "results", ["SciFact", "STSBenchmark"], split=results["split"])
    inputs = dataclasses.replace(_inputs(init_run, teacher_path, student_path, shared_data), peers=tuple(peers))
    text = ModelCard(render_card(inputs)).text
    table = text.split("### Compared with", 1)[1].split("\n\n", 2)[1].splitlines()
    assert table[0] == "| Model | Source | Split | SciFact | STSBenchmark |"
    rows = {line.split(" | ")[0]: line for line in table[2:]}
    assert len(rows) == 4  # this model, the init, the teacher, the peer

    def cell(task: str, mode: str) -> str:
        score = by[(task, mode)]
        return f"{score['main_score'] * 100:.2f}{' †' if score['subsampled'] else ''}"

    own = rows["| **leaf-ir-tiny**"]
    assert f"| {cell('SciFact', 'student')} | {cell('STSBenchmark', 'student')} |" in own
    init = rows[
        "| [sentence-transformers/all-MiniLM-L6-v2](https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2)"
    ]
    assert "init mode" in init and f"| {cell('SciFact', 'init')} | {cell('STSBenchmark', 'init')} |" in init
    peer_row = rows["| [org/peer-model@abc123](https://huggingface.co/org/peer-model)"]
    assert f"| {tmp_path / 'results'} (mteb " in peer_row and f"| {results['split']} |" in peer_row
    assert peer_row.endswith(f"| – | {by[('STSBenchmark', 'teacher')]['main_score'] * 100:.2f} |")  # no SciFact file
    assert "those files do not record a sub-sample" in text


@pytest.mark.slow
def test_card_lists_per_task_prompts(leaf_run, tmp_path, teacher_path, student_path, shared_data) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(leaf_run, run, ignore=shutil.ignore_patterns("checkpoints"))
    config_path = run / "model" / "config_sentence_transformers.json"
    config = json.loads(config_path.read_text())
    plain = render_card(_inputs(run, teacher_path, student_path, shared_data))
    assert "Per-task prompts" not in plain
    config["prompts"] |= {"SciFact-query": "Given a claim, find evidence: ", "STS": "Same meaning? "}
    config_path.write_text(json.dumps(config))
    text = render_card(_inputs(run, teacher_path, student_path, shared_data))
    assert "Per-task prompts" in text
    assert "| `SciFact-query` | `Given a claim, find evidence: ` |" in text
    assert "| `STS` | `Same meaning? ` |" in text


@pytest.mark.slow
def test_card_names_the_training_options_that_were_on(leaf_run, tmp_path, teacher_path, student_path, shared_data):
    import shutil

    import yaml

    run = tmp_path / "run"
    shutil.copytree(leaf_run, run, ignore=shutil.ignore_patterns("checkpoints"))
    plain = render_card(_inputs(run, teacher_path, student_path, shared_data))
    assert "score distillation" not in plain and "focal" not in plain
    recipe = yaml.safe_load((run / "recipe.yaml").read_text())
    recipe["training"] |= {"score_distill_weight": 0.1, "score_distill_temperature": 0.05, "focal_gamma": 2.0}
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    text = render_card(_inputs(run, teacher_path, student_path, shared_data))
    assert "| in-batch score distillation (LG-ANNA) | weight 0.1, temperature 0.05 |" in text
    assert "| focal reweighting γ (KaLM-Embedding-V2) | 2.0 |" in text
    assert "plus (weight 0.1) a KL term" in text


def test_template_with_unknown_variable_is_an_error(tmp_path) -> None:
    from huggingface_hub import ModelCardData

    template = tmp_path / "bad.md"
    template.write_text("---\n{{ card_data }}\n---\n\n{{ not_a_variable }}\n")
    with pytest.raises(CardError, match="not_a_variable"):
        _render(template, ModelCardData(license="apache-2.0"), {})


def test_missing_or_empty_results_are_card_errors(tmp_path, student_path) -> None:
    import shutil

    from leaf_hub.model_card import card_inputs
    from leaf_hub.recipe import load_recipe
    from leaf_hub.records import EvalResults

    run = RunFolder(tmp_path)
    run.save_recipe(load_recipe("leaf-ir-mini"))
    shutil.copytree(student_path, run.model_dir)
    with pytest.raises(RunFolderError, match="run `leaf-hub evaluate"):  # what a card is made of is missing
        run.load_card_records()
    empty = EvalResults(model_path="model", mteb_version="2.26.24", split="test", scores=[], wall_seconds=0.0)
    run.save_results(empty)
    with pytest.raises(CardError, match="has no scores"):
        run_card_inputs(tmp_path)
    with pytest.raises(CardError, match="has no scores"):
        card_inputs(load_recipe("leaf-ir-mini"), empty, run.model_dir)


def test_licence_gate(student_path, teacher_path, shared_data) -> None:
    from leaf_hub.recipe import load_recipe

    recipe = load_recipe("leaf-ir-mini")
    report = check_licenses(
        recipe, student_folder=student_path, teacher_folder=teacher_path, ship_teacher=True, data_root=shared_data
    )
    assert [(c.role, c.license, c.permissive) for c in report.components] == [
        ("student-init", "apache-2.0", True),
        ("teacher", "apache-2.0", True),
    ]
    assert report.research_only_data and all(d.evidence == "recipe + SOURCE.md" for d in report.data)
    gemma = recipe.model_copy(update={"teacher": recipe.teacher.model_copy(update={"license": "gemma"})})
    # teacher not shipped: its licence does not block; shipped (-asym): refused, one line, names it
    check_licenses(gemma, student_folder=student_path, teacher_folder=None, ship_teacher=False)
    with pytest.raises(LicenseError, match="teacher sentence-transformers/all-mpnet-base-v2 is licensed 'gemma'"):
        check_licenses(gemma, student_folder=student_path, teacher_folder=None, ship_teacher=True)
    overridden = check_licenses(
        gemma, student_folder=student_path, teacher_folder=None, ship_teacher=True, allow_override=True
    )
    assert overridden.override and overridden.to_dict()["refusals"]


def _recorded(run: Path) -> tuple:
    """The (recipe, run folder) pair ``leaf-hub evaluate`` hands over: the recipe the run recorded."""
    from leaf_hub.run_folder import RunFolder

    folder = RunFolder(run)
    return folder.load_recipe(), folder
