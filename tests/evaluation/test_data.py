"""Local data readers and the deterministic sub-sampling (no model needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leaf_hub.errors import AssetError, EvalError
from leaf_hub.evaluation.data import (
    document_text,
    read_beir,
    read_sts,
    subsample_retrieval,
    subsample_sts,
)


@pytest.fixture(scope="module")
def scifact(shared_data: Path):
    return read_beir("scifact", "test", shared_data)


def test_read_beir_counts_match_the_data_readme(scifact, shared_data: Path) -> None:
    assert len(scifact.corpus) == 5183
    assert len(scifact.queries) == 300
    assert sum(len(d) for d in scifact.qrels.values()) == 339
    nf = read_beir("nfcorpus", "test", shared_data)
    assert (len(nf.corpus), len(nf.queries), sum(len(d) for d in nf.qrels.values())) == (3633, 323, 12334)
    assert {s for docs in nf.qrels.values() for s in docs.values()} == {1, 2}


def test_read_sts_counts(shared_data: Path) -> None:
    data = read_sts("test", shared_data)
    assert len(data.score) == len(data.sentence1) == len(data.sentence2) == 1379
    assert 0.0 <= min(data.score) and max(data.score) <= 5.0
    assert len(read_sts("validation", shared_data).score) == 1500  # mteb's name for dev
    with pytest.raises(EvalError, match="STS split 'nope'"):
        read_sts("nope", shared_data)


def test_document_text_is_what_mteb_builds(scifact) -> None:
    from mteb._create_dataloaders import _corpus_to_dict

    rows = scifact.corpus[:50] + [{**scifact.corpus[0], "title": ""}]
    for row in rows:
        assert document_text(row["title"], row["text"]) == _corpus_to_dict(dict(row))["text"]


def test_subsample_keeps_every_judged_document_and_is_deterministic(scifact) -> None:
    a = subsample_retrieval(scifact, corpus_limit=400, query_limit=50, seed=7)
    b = subsample_retrieval(scifact, corpus_limit=400, query_limit=50, seed=7)
    c = subsample_retrieval(scifact, corpus_limit=400, query_limit=50, seed=8)
    ids = [d["id"] for d in a.corpus]
    assert ids == [d["id"] for d in b.corpus]
    assert [q["id"] for q in a.queries] == [q["id"] for q in b.queries]
    assert ids != [d["id"] for d in c.corpus]
    assert len(a.queries) == 50 and len(a.corpus) == 400
    judged = {did for docs in a.qrels.values() for did in docs}
    assert judged <= set(ids)
    assert set(a.qrels) == {q["id"] for q in a.queries}
    assert a.info is not None and a.info.subsampled
    assert (a.info.n_queries, a.info.n_docs, a.info.n_queries_total, a.info.n_docs_total) == (50, 400, 300, 5183)
    # file order is kept
    order = {d["id"]: i for i, d in enumerate(scifact.corpus)}
    assert [order[i] for i in ids] == sorted(order[i] for i in ids)


def test_subsample_below_the_judged_documents_keeps_them_all(scifact) -> None:
    small = subsample_retrieval(scifact, corpus_limit=10)
    judged = {did for docs in scifact.qrels.values() for did in docs}
    assert {d["id"] for d in small.corpus} == judged


def test_no_limits_is_not_a_subsample(scifact) -> None:
    full = subsample_retrieval(scifact)
    assert full.info is not None and not full.info.subsampled
    assert len(full.corpus) == 5183


def test_subsample_sts(shared_data: Path) -> None:
    data = read_sts("test", shared_data)
    part = subsample_sts(data, pair_limit=100, seed=3)
    assert part.info is not None and part.info.subsampled and part.info.n_queries == 100
    assert part.sentence1 == subsample_sts(data, pair_limit=100, seed=3).sentence1
    pairs = set(zip(data.sentence1, data.sentence2, data.score, strict=True))
    assert set(zip(part.sentence1, part.sentence2, part.score, strict=True)) <= pairs


def test_missing_data_folder_is_an_asset_error(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="data folder not found"):
        read_beir("scifact", "test", tmp_path / "nowhere")
    (tmp_path / "scifact").mkdir()
    with pytest.raises(AssetError, match="qrels/test.tsv"):
        read_beir("scifact", "test", tmp_path)
