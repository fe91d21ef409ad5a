"""Any mteb task by name: local folders under another task's metadata, benchmarks, and offline refusals.

The local folders are tiny real subsets of the shipped data, copied line for line: 8 judged SciFact
test queries with their judged abstracts plus 32 other abstracts (BEIR layout), and the first 30
STS-B test pairs (STS layout). The model is the real all-MiniLM-L6-v2; the "teacher" is the same
model at a 128-token limit and the "initialisation" at 64 tokens (real models with the student's
dimension, so every mode runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from leaf_hub.errors import EvalError

ROOT = Path(__file__).resolve().parents[2]
N_QUERIES, N_OTHER_DOCS, N_PAIRS = 8, 32, 30


def tiny_beir(source: Path, dest: Path) -> Path:
    """The first N_QUERIES judged test queries of a BEIR folder, their judged documents and N_OTHER_DOCS more."""
    (dest / "qrels").mkdir(parents=True)
    lines = (source / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], [line.split("\t") for line in lines[1:] if line.strip()]
    queries = list(dict.fromkeys(r[0] for r in rows))[:N_QUERIES]
    kept = [r for r in rows if r[0] in queries]
    judged = {r[1] for r in kept}
    (dest / "qrels" / "test.tsv").write_text("\n".join([header, *("\t".join(r) for r in kept)]) + "\n")
    corpus, others = [], 0
    for line in (source / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        doc_id = json.loads(line)["_id"]
        if doc_id in judged or (others < N_OTHER_DOCS and doc_id not in queries):
            others += doc_id not in judged
            corpus.append(line)
    (dest / "corpus.jsonl").write_text("\n".join(corpus) + "\n", encoding="utf-8")
    query_lines = [
        line
        for line in (source / "queries.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(line)["_id"] in queries
    ]
    (dest / "queries.jsonl").write_text("\n".join(query_lines) + "\n", encoding="utf-8")
    return dest


def tiny_sts(source: Path, dest: Path) -> Path:
    """The header and the first N_PAIRS pairs of an STS-layout test split."""
    dest.mkdir(parents=True)
    lines = (source / "test.tsv").read_text(encoding="utf-8").splitlines()
    (dest / "test.tsv").write_text("\n".join(lines[: N_PAIRS + 1]) + "\n", encoding="utf-8")
    return dest


def _evaluate(student_path: Path, out: Path, name: str, folder: Path, modes: list[str], sweep: bool):
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.evaluation import eval_settings, evaluate_models

    settings = eval_settings(
        None,
        tasks=[name],
        local={name: str(folder)},
        modes=modes,
        sweep_dims=[128],
        sweep_precisions=["float32", "int8"],
    )
    teacher = SentenceTransformerTeacher(student_path, max_seq_length=128)
    # "init" stands for the student's initialisation: the same weights at a 64-token limit
    init = SentenceTransformerTeacher(student_path, max_seq_length=64) if "init" in modes else None
    return evaluate_models(
        student_path, output_dir=out, settings=settings, teacher=teacher, init=init, sweep=sweep, progress=False
    )


@pytest.fixture()
def offline_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEAF_HUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # local folders need no network
    return tmp_path


def test_local_beir_folder_is_scored_under_another_retrieval_tasks_metadata(
    student_path: Path, shared_data: Path, offline_home: Path
) -> None:
    import mteb
    from mteb.results import TaskResult

    from leaf_hub.evaluation.data import beir_files, data_checksum
    from leaf_hub.records.run_settings import check_run_settings

    folder = tiny_beir(shared_data / "scifact", offline_home / "arguana-sample")
    queries = {json.loads(x)["_id"] for x in (folder / "queries.jsonl").read_text().splitlines()}
    docs = {json.loads(x)["_id"] for x in (folder / "corpus.jsonl").read_text().splitlines()}
    assert len(queries) == N_QUERIES and not queries & docs  # ArguAna ignores identical query/document ids
    modes = ["student", "teacher", "asymmetric", "init"]
    res = _evaluate(student_path, offline_home / "as-arguana", "ArguAna", folder, modes, sweep=True)

    official = mteb.get_task("ArguAna").metadata
    checksum = data_checksum(beir_files(folder, "test"), folder)
    assert [s.mode for s in res.scores] == modes
    for row in res.scores:
        assert (row.task, row.task_type, row.main_metric) == ("ArguAna", "Retrieval", "ndcg_at_10")
        assert (row.dataset, row.dataset_revision) == (official.dataset["path"], official.dataset["revision"])
        assert (row.data_path, row.data_sha256) == (str(folder), checksum)
        assert not row.subsampled and (row.n_queries, row.n_docs) == (N_QUERIES, len(docs))
    result = TaskResult.from_disk(offline_home / "as-arguana" / "mteb" / "student" / "ArguAna.json")
    assert (result.task_name, result.dataset_revision) == ("ArguAna", official.dataset["revision"])
    assert result.validate_and_filter_scores().get_score() == pytest.approx(res.score("ArguAna", "student"))
    # run settings as mteb's cache writes them, per mode
    for mode in modes:
        assert check_run_settings(offline_home / "as-arguana" / "mteb" / mode, ["ArguAna"]) == {
            ("ArguAna", "test", "default"): mteb.__version__
        }
    # the sweep ran on the renamed task, both models, full and 128 dimensions
    assert {(p.task, p.model, p.dim, p.precision) for p in res.sweep} == {
        ("ArguAna", m, d, q) for m in ("student", "teacher") for d in (384, 128) for q in ("float32", "int8")
    }
    # the same files under SciFact's name score the same: only the metadata changed
    same = _evaluate(student_path, offline_home / "as-scifact", "SciFact", folder, ["student"], sweep=False)
    assert same.score("SciFact", "student") == pytest.approx(res.score("ArguAna", "student"), abs=1e-9)
    assert same.scores[0].dataset == mteb.get_task("SciFact").metadata.dataset["path"]


def test_local_sts_folder_is_scored_under_another_sts_tasks_metadata(
    student_path: Path, shared_data: Path, offline_home: Path
) -> None:
    import mteb

    folder = tiny_sts(shared_data / "stsb", offline_home / "sts12-sample")
    res = _evaluate(student_path, offline_home / "as-sts12", "STS12", folder, ["student", "asymmetric"], sweep=False)
    assert [(s.task, s.mode, s.main_metric, s.n_queries) for s in res.scores] == [
        ("STS12", "student", "cosine_spearman", N_PAIRS),
        ("STS12", "asymmetric", "cosine_spearman", N_PAIRS),
    ]
    assert res.scores[0].dataset_revision == mteb.get_task("STS12").metadata.dataset["revision"]
    same = _evaluate(student_path, offline_home / "as-stsb", "STSBenchmark", folder, ["student"], sweep=False)
    assert same.score("STSBenchmark", "student") == pytest.approx(res.score("STS12", "student"), abs=1e-9)


def test_recipe_naming_a_benchmark_resolves_offline_and_is_refused_in_one_line(
    student_path: Path, tmp_path: Path
) -> None:
    import mteb

    from leaf_hub.recipe import load_recipe
    from leaf_hub.task_meta import resolve_task_names

    recipe = load_recipe(ROOT / "recipes" / "leaf-ir-beir.yaml")
    assert recipe.evaluation.tasks == ["BEIR"]
    assert resolve_task_names(recipe.evaluation.tasks) == [t.metadata.name for t in mteb.get_benchmark("BEIR").tasks]

    run = tmp_path / "runs" / "leaf-ir-beir"
    (run / "model").mkdir(parents=True)
    # modules.json and nothing else: loading any model from this folder would fail with another message
    (run / "model" / "modules.json").write_text((student_path / "modules.json").read_text())
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe.model_dump(mode="json")))
    proc = subprocess.run(
        [sys.executable, "-m", "leaf_hub.cli", "evaluate", str(run)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 4 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(
        "leaf-hub: error: TRECCOVID, NQ, HotpotQA and 10 more: no local copy and the Hub is unreachable "
        "(HF_HUB_OFFLINE is set); map each to a BEIR- or STS-layout folder (evaluation.local: {TRECCOVID: "
    )
    assert not (run / "eval").exists()


def test_recipe_checks_task_names_and_local_keys_against_mteb() -> None:
    from pydantic import ValidationError

    from leaf_hub.recipe import EvalSpec, TeacherSpec

    assert EvalSpec(tasks=["MTEB(eng, v2)", "ArguAna"], local={"ArguAna": "beir/arguana"}).local
    with pytest.raises(ValidationError, match="unknown task 'BEIRR'"):
        EvalSpec(tasks=["BEIRR"])
    with pytest.raises(ValidationError, match="'BEIR' is not an mteb task name"):
        EvalSpec(tasks=["BEIR"], local={"BEIR": "x"})
    with pytest.raises(ValidationError, match="'ms_marco' is not an mteb task name"):
        TeacherSpec(id="sentence-transformers/all-mpnet-base-v2", training_datasets=["ms_marco"])
    # unset fields stay out of dumps, so recipe fingerprints do not change
    assert "local" not in EvalSpec().model_dump()
    assert "training_datasets" not in TeacherSpec(id="a/b").model_dump()


def test_recipe_training_datasets_come_from_the_teachers_card(teacher_path: Path) -> None:
    from leaf_hub.leaderboard import card_training_data
    from leaf_hub.recipe import load_recipe

    declared = card_training_data(teacher_path)
    # the card sources the recipe maps to mteb tasks (see the comment in recipes/leaf-ir-beir.yaml)
    assert {
        "ms_marco",
        "natural_questions",
        "embedding-data/QQP",
        "code_search_net",
        "yahoo_answers_topics",
        "flax-sentence-embeddings/stackexchange_xml",
    } <= set(declared)
    listed = load_recipe(ROOT / "recipes" / "leaf-ir-beir.yaml").teacher.training_datasets or []
    assert {"MSMARCO", "NQ", "QuoraRetrieval", "CodeSearchNetRetrieval"} <= set(listed)


def test_a_missing_local_folder_is_refused_before_any_model_loads(tmp_path: Path) -> None:
    from leaf_hub.evaluation.tasks import get_tasks

    with pytest.raises(EvalError, match=r"evaluation.local.ArguAna: .*nowhere is not a folder"):
        get_tasks(["ArguAna"], local={"ArguAna": tmp_path / "nowhere"})
