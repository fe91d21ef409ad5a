"""The local tasks are mteb's own tasks with local data."""

from __future__ import annotations

from pathlib import Path

import pytest

from leaf_hub.errors import EvalError
from leaf_hub.evaluation.tasks import LOCAL_TASKS, get_tasks


@pytest.mark.parametrize("name", sorted(LOCAL_TASKS))
def test_metadata_is_the_official_one(name: str) -> None:
    import mteb

    (task,) = get_tasks([name])
    official = mteb.get_task(name)
    assert task.metadata == official.metadata
    assert isinstance(task, type(official))
    assert task.metadata.main_score == {"STSBenchmark": "cosine_spearman"}.get(name, "ndcg_at_10")


def test_unknown_task_names_the_known_ones() -> None:
    with pytest.raises(EvalError, match=r"unknown task 'SciFakt'; known: NFCorpus, STSBenchmark, SciFact"):
        get_tasks(["SciFact", "SciFakt"])


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
