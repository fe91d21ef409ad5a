"""Readers for the local evaluation data and the deterministic sub-sampling of retrieval tasks.

The files follow the layouts described in ``../shared/data/README.md``:

* BEIR retrieval (``scifact/``, ``nfcorpus/``): ``corpus.jsonl`` (``_id``, ``title``, ``text``),
  ``queries.jsonl`` (``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``,
  ``score`` with a header line);
* STS Benchmark (``stsb/``): ``<split>.tsv`` with the header ``sentence1  sentence2  score``,
  tab-separated, no quoting.

Any folder in one of these layouts can stand for an mteb task of the matching type
(``evaluation.local``); :func:`detect_layout` tells which it is and :func:`data_checksum` fingerprints
the files read. Nothing here imports mteb; :mod:`leaf_hub.evaluation.tasks` turns these records into
mteb datasets.
"""

from __future__ import annotations

import json
import logging
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from leaf_hub.assets import resolve_data_file
from leaf_hub.errors import AssetError, EvalError

logger = logging.getLogger(__name__)

__all__ = [
    "DataLayout",
    "RetrievalData",
    "STSData",
    "SampleInfo",
    "beir_files",
    "data_checksum",
    "detect_layout",
    "document_text",
    "read_beir",
    "read_sts",
    "sts_files",
    "subsample_retrieval",
    "subsample_sts",
]

#: STS-B splits as mteb names them -> file stem in ``stsb/``.
_STS_FILES = {"test": "test", "dev": "dev", "validation": "dev", "train": "train"}

#: The two folder layouts a local task can be read from.
DataLayout = Literal["beir", "sts"]


@dataclass
class SampleInfo:
    """Sizes of what is evaluated and whether it is a sub-sample.

    Attributes:
        n_queries: Queries (retrieval, with at least one judged document) or pairs (STS) evaluated.
        n_docs: Documents searched (retrieval) or distinct sentences (STS).
        n_queries_total: Queries or pairs in the full split.
        n_docs_total: Documents in the full corpus (or distinct sentences of the full STS split).
        subsampled: ``True`` when queries, pairs or documents were left out.
        data_sha256: :func:`data_checksum` of the files read (``None`` when mteb downloaded the data).
        data_path: The local folder read (``None`` when mteb downloaded the data).
    """

    n_queries: int
    n_docs: int
    n_queries_total: int
    n_docs_total: int
    subsampled: bool
    data_sha256: str | None = None
    data_path: str | None = None


@dataclass
class RetrievalData:
    """One split of a BEIR retrieval dataset, in file order.

    Attributes:
        corpus: ``{"id", "title", "text"}`` records.
        queries: ``{"id", "text"}`` records of the queries judged in this split.
        qrels: ``query id -> {document id: graded relevance}``.
    """

    corpus: list[dict[str, str]]
    queries: list[dict[str, str]]
    qrels: dict[str, dict[str, int]]
    info: SampleInfo | None = field(default=None)


@dataclass
class STSData:
    """One split of an STS dataset.

    Attributes:
        sentence1: First sentence of each pair.
        sentence2: Second sentence of each pair.
        score: Gold similarity (0-5 for STS-B).
    """

    sentence1: list[str]
    sentence2: list[str]
    score: list[float]
    info: SampleInfo | None = field(default=None)


def document_text(title: str | None, text: str) -> str:
    """The text a model reads for a BEIR document: ``(title + " " + text).strip()``.

    This is the BEIR/MTEB convention for sentence-transformers models, and what mteb's own
    dataloader builds from a corpus with a ``title`` column (an empty title gives ``text.strip()``).
    """
    return (title + " " + text).strip() if title else text.strip()


def data_checksum(files: list[Path], base: Path) -> str:
    """One sha256 for a set of data files: of the sorted lines ``<path relative to base> NUL <file sha256>``.

    The same files with the same content give the same checksum wherever the folder lives.
    """
    from leaf_hub.hashing import sha256_file, sha256_text

    lines = sorted(f"{Path(os.path.relpath(f, base)).as_posix()}\0{sha256_file(f)}\n" for f in files)
    return sha256_text("".join(lines))


def detect_layout(folder: str | Path) -> DataLayout | None:
    """``beir`` (``corpus.jsonl``, ``queries.jsonl``, ``qrels/``), ``sts`` (``<split>.tsv``) or ``None``."""
    path = Path(folder)
    if (path / "corpus.jsonl").is_file() and (path / "queries.jsonl").is_file() and (path / "qrels").is_dir():
        return "beir"
    if any((path / f"{stem}.tsv").is_file() for stem in set(_STS_FILES.values())):
        return "sts"
    return None


def _read_jsonl(path: Path) -> list[dict[str, str]]:
    records = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise AssetError(f"{path}: line {lineno} is not valid JSON ({e.msg})") from e
    return records


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if header[:3] != ["query-id", "corpus-id", "score"]:
            raise AssetError(f"{path}: expected the header 'query-id<TAB>corpus-id<TAB>score', got {header!r}")
        for lineno, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            try:
                qid, did, score = parts[0], parts[1], int(parts[2])
            except (IndexError, ValueError) as e:
                raise AssetError(f"{path}: line {lineno} is not 'query-id<TAB>corpus-id<TAB>score'") from e
            qrels.setdefault(qid, {})[did] = score
    return qrels


def beir_files(folder: str | Path, split: str, root: str | Path | None = None) -> list[Path]:
    """The files :func:`read_beir` reads for ``split`` (each checked to exist)."""
    return [
        resolve_data_file(f"{folder}/{name}", root) for name in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv")
    ]


def sts_files(split: str, root: str | Path | None = None, folder: str | Path = "stsb") -> list[Path]:
    """The file :func:`read_sts` reads for ``split`` (checked to exist)."""
    if split not in _STS_FILES:
        raise EvalError(f"STS split {split!r} does not exist; use one of {', '.join(sorted(_STS_FILES))}")
    return [resolve_data_file(f"{folder}/{_STS_FILES[split]}.tsv", root)]


def read_beir(folder: str | Path, split: str, root: str | Path | None = None) -> RetrievalData:
    """Read one split of a BEIR dataset from the data folder.

    Args:
        folder: Dataset folder inside the data root (``scifact``, ``nfcorpus``), or an absolute path.
        split: ``test``, ``dev`` or ``train`` (a ``qrels/<split>.tsv`` must exist).
        root: Data root (``None``: :func:`leaf_hub.assets.data_root`).

    Returns:
        The corpus, the queries judged in ``split`` and their qrels.

    Raises:
        AssetError: If the data folder or a file is missing or malformed.
    """
    qrels = _read_qrels(resolve_data_file(f"{folder}/qrels/{split}.tsv", root))
    corpus = [
        {"id": str(r["_id"]), "title": r.get("title") or "", "text": r.get("text") or ""}
        for r in _read_jsonl(resolve_data_file(f"{folder}/corpus.jsonl", root))
    ]
    queries = [
        {"id": str(r["_id"]), "text": r["text"]}
        for r in _read_jsonl(resolve_data_file(f"{folder}/queries.jsonl", root))
        if str(r["_id"]) in qrels
    ]
    # mteb drops queries without any judged document; so do we (and so the counts agree).
    qrels = {qid: docs for qid, docs in qrels.items() if docs}
    queries = [q for q in queries if q["id"] in qrels]
    missing = set(qrels) - {q["id"] for q in queries}
    if missing:
        raise AssetError(f"{folder}: {len(missing)} judged queries of split {split!r} are not in queries.jsonl")
    return RetrievalData(corpus=corpus, queries=queries, qrels=qrels)


def read_sts(split: str, root: str | Path | None = None, folder: str | Path = "stsb") -> STSData:
    """Read one split of an STS-layout folder (``sentence1<TAB>sentence2<TAB>score`` with a header).

    Raises:
        AssetError: If the file is missing or a line is malformed.
        EvalError: If the split does not exist.
    """
    (path,) = sts_files(split, root, folder)
    s1: list[str] = []
    s2: list[str] = []
    scores: list[float] = []
    with path.open(encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if header[:3] != ["sentence1", "sentence2", "score"]:
            raise AssetError(f"{path}: expected the header 'sentence1<TAB>sentence2<TAB>score', got {header!r}")
        for lineno, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            try:
                a, b, score = parts[0], parts[1], float(parts[2])
            except (IndexError, ValueError) as e:
                raise AssetError(f"{path}: line {lineno} is not 'sentence1<TAB>sentence2<TAB>score'") from e
            s1.append(a)
            s2.append(b)
            scores.append(score)
    return STSData(sentence1=s1, sentence2=s2, score=scores)


def subsample_retrieval(
    data: RetrievalData,
    *,
    corpus_limit: int | None = None,
    query_limit: int | None = None,
    seed: int = 42,
) -> RetrievalData:
    """Deterministically shrink a retrieval split for CPU-sized runs.

    Queries are sampled first (``query_limit``, seeded, kept in file order). The corpus then keeps
    every document judged for a kept query, plus a seeded random sample of the other documents
    until ``corpus_limit`` documents are reached (more when the judged documents alone exceed it).
    The same inputs and seed always give the same sub-sample.

    Args:
        data: The full split.
        corpus_limit: Documents to keep (``None``: all).
        query_limit: Queries to keep (``None``: all).
        seed: Seed of both samples.

    Returns:
        A new :class:`RetrievalData` whose ``info`` records sizes and whether anything was dropped.
    """
    n_q_total, n_d_total = len(data.queries), len(data.corpus)
    queries = data.queries
    if query_limit is not None and query_limit < len(queries):
        keep = set(random.Random(seed).sample(sorted(q["id"] for q in queries), query_limit))
        queries = [q for q in queries if q["id"] in keep]
    qrels = {q["id"]: data.qrels[q["id"]] for q in queries}

    corpus = data.corpus
    if corpus_limit is not None and corpus_limit < len(corpus):
        judged = {did for docs in qrels.values() for did in docs}
        others = sorted(d["id"] for d in corpus if d["id"] not in judged)
        n_more = max(0, corpus_limit - len(judged & {d["id"] for d in corpus}))
        keep_docs = judged | set(random.Random(seed + 1).sample(others, min(n_more, len(others))))
        corpus = [d for d in corpus if d["id"] in keep_docs]
        if len(corpus) > corpus_limit:
            logger.warning(
                "corpus_limit %d is below the %d judged documents; keeping all judged documents",
                corpus_limit,
                len(corpus),
            )
    info = SampleInfo(
        n_queries=len(queries),
        n_docs=len(corpus),
        n_queries_total=n_q_total,
        n_docs_total=n_d_total,
        subsampled=len(queries) < n_q_total or len(corpus) < n_d_total,
    )
    return RetrievalData(corpus=corpus, queries=queries, qrels=qrels, info=info)


def subsample_sts(data: STSData, *, pair_limit: int | None = None, seed: int = 42) -> STSData:
    """Deterministically keep ``pair_limit`` pairs of an STS split (seeded, in file order).

    Returns:
        A new :class:`STSData` whose ``info`` records sizes and whether pairs were dropped.
    """
    n_total = len(data.score)
    idx = list(range(n_total))
    if pair_limit is not None and pair_limit < n_total:
        idx = sorted(random.Random(seed).sample(idx, pair_limit))
    s1 = [data.sentence1[i] for i in idx]
    s2 = [data.sentence2[i] for i in idx]
    info = SampleInfo(
        n_queries=len(idx),
        n_docs=len(set(s1) | set(s2)),
        n_queries_total=n_total,
        n_docs_total=len(set(data.sentence1) | set(data.sentence2)),
        subsampled=len(idx) < n_total,
    )
    return STSData(sentence1=s1, sentence2=s2, score=[data.score[i] for i in idx], info=info)
