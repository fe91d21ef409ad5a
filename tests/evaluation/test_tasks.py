"""The local tasks are mteb's own tasks with local data; names and facts come from mteb's metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from leaf_hub.assets import SHIPPED_DATA
from leaf_hub.errors import EvalError
from leaf_hub.evaluation.tasks import get_tasks
from leaf_hub.task_meta import metric_label, resolve_task_names, task_facts


@pytest.mark.parametrize("name", sorted(SHIPPED_DATA))
def test_metadata_is_the_official_one(name: str) -> None:
    import mteb

    (task,) = get_tasks([name])
    official = mteb.get_task(name)
    assert task.metadata == official.metadata
    assert isinstance(task, type(official))
    assert task.metadata.main_score == {"STSBenchmark": "cosine_spearman"}.get(name, "ndcg_at_10")


def test_unknown_name_is_refused_as_neither_task_nor_benchmark() -> None:
    with pytest.raises(EvalError, match=r"unknown task 'SciFakt': neither an mteb task nor an mteb benchmark"):
        get_tasks(["SciFact", "SciFakt"])


def test_benchmark_names_expand_to_their_tasks_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    import mteb

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    beir = [t.metadata.name for t in mteb.get_benchmark("BEIR").tasks]
    assert len(beir) == 15 and {"SciFact", "NFCorpus", "ArguAna", "MSMARCO"} <= set(beir)
    # duplicates are dropped, the order is the caller's then mteb's
    assert resolve_task_names(["SciFact", "BEIR"]) == ["SciFact", *[t for t in beir if t != "SciFact"]]


def test_task_facts_are_mteb_metadata() -> None:
    import mteb

    for name in ("ArguAna", "STSBenchmark", "Banking77Classification"):
        meta = mteb.get_task(name).metadata
        facts = task_facts(name)
        assert (facts.type, facts.main_score, facts.dataset, facts.revision) == (
            meta.type,
            meta.main_score,
            meta.dataset["path"],
            meta.dataset["revision"],
        )
        assert facts.citation == meta.bibtex_citation.strip() and list(facts.eval_splits) == list(meta.eval_splits)
    with pytest.raises(EvalError, match="unknown mteb task 'ArguAnna'"):
        task_facts("ArguAnna")


def test_metric_labels_come_from_mteb_main_scores() -> None:
    assert task_facts("SciFact").metric == "nDCG@10"
    assert task_facts("STSBenchmark").metric == "Spearman (cosine)"
    assert task_facts("Banking77Classification").metric == "Accuracy"
    assert metric_label("map_at_1000") == "MAP@1000" and metric_label("max_ap") == "AP (best similarity)"
    assert metric_label("p-MRR") == "p-MRR"  # a name with no known parts is shown as mteb spells it


def test_unreachable_task_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(EvalError) as info:
        get_tasks(["SciFact", "ArguAna"])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("ArguAna: no local copy and the Hub is unreachable (HF_DATASETS_OFFLINE is set)")
    assert "evaluation.local: {ArguAna: path/to/folder}" in message and "evaluate online" in message
    # a benchmark names its first unreachable tasks and how many more
    with pytest.raises(EvalError, match=r"^TRECCOVID, NQ, HotpotQA and 10 more: no local copy"):
        get_tasks(["BEIR"])


def test_a_local_folder_cannot_stand_for_a_task_of_another_type(shared_data: Path) -> None:
    with pytest.raises(EvalError, match="Banking77Classification is an mteb Classification task"):
        get_tasks(["Banking77Classification"], local={"Banking77Classification": shared_data / "scifact"})
    with pytest.raises(EvalError, match=r"evaluation.local.STS12: .* is not in STS: <split>.tsv layout"):
        get_tasks(["STS12"], local={"STS12": shared_data / "scifact"})


def test_retrieval_task_loads_mteb_layout(shared_data: Path) -> None:
    (task,) = get_tasks(["SciFact"], data_root=shared_data, corpus_limit=200, query_limit=25)
    task.load_data()
    split = task.dataset["default"]["test"]
    assert set(split) == {"corpus", "queries", "relevant_docs", "top_ranked"}
    assert split["corpus"].column_names == ["id", "title", "text"]
    assert split["queries"].column_names == ["id", "text"]
    assert len(split["corpus"]) == 200 and len(split["queries"]) == 25
    assert set(split["relevant_docs"]) == set(split["queries"]["id"])
    info = task.sample_info["test"]
    assert info.subsampled and (info.n_docs, info.n_queries) == (200, 25)


def test_sts_task_loads_pairs(shared_data: Path) -> None:
    (task,) = get_tasks(["STSBenchmark"], data_root=shared_data)
    task.load_data()
    ds = task.dataset["test"]
    assert ds.column_names == ["sentence1", "sentence2", "score"] and len(ds) == 1379
    assert not task.sample_info["test"].subsampled


def test_split_is_selectable(shared_data: Path) -> None:
    (task,) = get_tasks(["NFCorpus"], data_root=shared_data, split="dev", corpus_limit=100)
    assert list(task.eval_splits) == ["dev"]
    task.load_data()
    assert task.sample_info["dev"].n_queries == 324


def test_tasks_without_a_local_copy_are_mteb_own_when_the_hub_is_reachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built only (mteb downloads on load_data, which needs the network this test does not have)."""
    import mteb

    import leaf_hub.evaluation.tasks as tasks_module
    from leaf_hub.evaluation.sweep import calibration_vectors
    from leaf_hub.evaluation.tasks import has_two_sides, task_split

    monkeypatch.setattr(tasks_module, "hub_unreachable_reason", lambda: None)
    names = ["MSMARCO", "Banking77Classification", "TwitterSemEval2015", "StackExchangeClustering", "STS12"]
    built = get_tasks(names, corpus_limit=10)
    for name, task in zip(names, built, strict=True):
        official = mteb.get_task(name)
        assert isinstance(task, type(official)) and task.metadata == official.metadata
    # MSMARCO has no test split in mteb: its own (dev) is evaluated; others keep the requested one
    assert [task_split(t) for t in built] == ["dev", "test", "test", "test", "test"]
    # the asymmetric mode needs two sides: queries/documents or the two texts of a pair
    assert [has_two_sides(t) for t in built] == [True, False, True, False, True]
    # no corpus or sentence pairs to calibrate int8 on: ranges come from each encoding call
    assert calibration_vectors(built[1], None, "test") is None  # type: ignore[arg-type]
    with pytest.raises(EvalError, match=r"^ArguAna has no split 'dev' in mteb \(it has test\)$"):
        get_tasks(["ArguAna"], split="dev")


def test_a_benchmark_keeps_its_own_selection_of_subsets(monkeypatch: pytest.MonkeyPatch) -> None:
    import mteb

    import leaf_hub.evaluation.tasks as tasks_module

    monkeypatch.setattr(tasks_module, "hub_unreachable_reason", lambda: None)
    (alone,) = get_tasks(["MassiveIntentClassification"])
    selected = {t.metadata.name: t for t in get_tasks(["MTEB(eng, v2)"])}
    assert len(alone.hf_subsets) > 1 and selected["MassiveIntentClassification"].hf_subsets == ["en"]
    assert len(selected) == len(mteb.get_benchmark("MTEB(eng, v2)").tasks)


def test_benchmark_average_needs_every_task_on_full_splits() -> None:
    import mteb

    from leaf_hub.records import EvalResults, ScoreRecord
    from leaf_hub.task_meta import benchmark_average

    def rows(subsampled: str | None = None, missing: str | None = None) -> EvalResults:
        scores = [
            ScoreRecord(
                task=t.metadata.name,
                mode="student",
                split=t.eval_splits[0],
                main_metric=t.metadata.main_score,
                main_score=(i + 1) / 100,
                subsampled=t.metadata.name == subsampled,
                n_queries=1,
                n_docs=1,
                seconds=0.0,
            )
            for i, t in enumerate(mteb.get_benchmark("BEIR").tasks)
            if t.metadata.name != missing
        ]
        return EvalResults(model_path="m", mteb_version=mteb.__version__, split="test", scores=scores, wall_seconds=0)

    assert benchmark_average("BEIR", rows()) == pytest.approx(sum(range(1, 16)) / 15 / 100)
    assert benchmark_average("BEIR", rows(subsampled="SciFact")) is None
    assert benchmark_average("BEIR", rows(missing="ArguAna")) is None
    assert benchmark_average("BEIR", rows(), mode="teacher") is None
