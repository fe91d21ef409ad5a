"""Other models' scores for the card's "Compared with" table, read from real mteb result files.

The files are written by a real evaluation (all-MiniLM-L6-v2 on 30 real STS-B pairs through
leaf-hub's evaluation, which saves mteb's own ``TaskResult`` JSON) and laid out as mteb's results
repository lays them out: ``results/<org>__<name>/<revision>/<Task>.json`` beside ``model_meta.json``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leaf_hub.errors import EvalError
from leaf_hub.evaluation.peers import RESULTS_REPOSITORY, peer_scores

REVISION = "8b3219a92973c328a8e22fadcfa821b5dc75636a"


@pytest.fixture(scope="module")
def sts_result(module_tmp, student_path: Path) -> Path:
    """mteb's STSBenchmark result file of all-MiniLM-L6-v2 on 30 real test pairs."""
    from leaf_hub.evaluation import eval_settings, evaluate_models

    out = module_tmp("eval")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEAF_HUB_HOME", str(module_tmp("home")))
        settings = eval_settings(None, tasks=["STSBenchmark"], modes=["student"], query_limit=30)
        evaluate_models(student_path, output_dir=out, settings=settings, sweep=False, progress=False)
    return out / "mteb" / "student" / "STSBenchmark.json"


def _results_repo(root: Path, result: Path, *, meta: bool = True) -> Path:
    folder = root / "results" / "sentence-transformers__all-MiniLM-L6-v2" / REVISION
    folder.mkdir(parents=True)
    shutil.copy(result, folder / "STSBenchmark.json")
    if meta:
        (folder / "model_meta.json").write_text(json.dumps({"name": "sentence-transformers/all-MiniLM-L6-v2"}))
    return root


def test_a_results_folder_gives_one_row_per_model_and_task(sts_result: Path, tmp_path: Path) -> None:
    repo = _results_repo(tmp_path / "clone", sts_result)
    expected = json.loads(sts_result.read_text())["scores"]["test"][0]["main_score"]
    for source in (repo, repo / "results"):  # the repository root or its results/ folder
        (row,) = peer_scores(source, ["STSBenchmark", "SciFact"], split="test")
        assert row.model == "sentence-transformers/all-MiniLM-L6-v2" and row.revision == REVISION
        assert row.task == "STSBenchmark" and row.split == "test" and row.source == str(source)
        assert row.main_score == pytest.approx(expected)
        assert row.mteb_version and row.subsampled is None  # mteb's files do not record a sub-sample


def test_without_model_meta_the_folder_name_is_the_model(sts_result: Path, tmp_path: Path) -> None:
    repo = _results_repo(tmp_path / "clone", sts_result, meta=False)
    (row,) = peer_scores(repo, ["STSBenchmark"])
    assert row.model == "sentence-transformers/all-MiniLM-L6-v2"


def test_sources_that_give_nothing_are_refused_in_one_line(sts_result: Path, tmp_path: Path) -> None:
    repo = _results_repo(tmp_path / "clone", sts_result)
    with pytest.raises(EvalError, match=r"no validation score for STSBenchmark") as e:
        peer_scores(repo, ["STSBenchmark"], split="validation")
    assert "\n" not in str(e.value)
    with pytest.raises(EvalError, match=r"no test score for SciFact"):
        peer_scores(repo, ["SciFact"])
    with pytest.raises(EvalError, match=r"not a results folder nor a model name"):
        peer_scores(tmp_path / "no-such-folder" / "x" / "y", ["STSBenchmark"])
    bad = tmp_path / "bad" / "org__m" / "rev"
    bad.mkdir(parents=True)
    (bad / "STSBenchmark.json").write_text("{not json")
    with pytest.raises(EvalError, match=r"is not an mteb result file") as e:
        peer_scores(tmp_path / "bad", ["STSBenchmark"])
    assert "\n" not in str(e.value)


def test_a_model_name_reads_mteb_s_results_cache_offline(
    sts_result: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "mteb-cache"
    _results_repo(cache, sts_result)  # mteb.ResultCache keeps local results in <cache>/results/
    monkeypatch.setenv("MTEB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline: what is cached, no update from the repository
    (row,) = peer_scores("sentence-transformers/all-MiniLM-L6-v2", ["STSBenchmark"])
    assert row.source == RESULTS_REPOSITORY and row.revision == REVISION
    with pytest.raises(EvalError, match=r"compare-with org/unknown-model: no test score .* offline: not updated"):
        peer_scores("org/unknown-model", ["STSBenchmark"])
