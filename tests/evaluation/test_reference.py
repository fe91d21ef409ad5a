"""all-MiniLM-L6-v2 through leaf-hub's evaluation path gives mteb's figures, on small sub-samples.

Our routed, cached encoder scores exactly what mteb's own sentence-transformers wrapper scores on
the same local task. The full-split checks live elsewhere: tests/evaluation/test_stock.py scores the
full STS-B test split both ways (and against the leaderboard's 82.03); the reference check on the
full SciFact and NFCorpus splits (the leaderboard's 64.51 and 31.59, 0.15 points) is a figure of
``scripts/bench/mteb_equivalence.py`` (its init rows), not a test: it took ~15 minutes of the suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "leaf_hub_home"
    monkeypatch.setenv("LEAF_HUB_HOME", str(home))
    return home


@pytest.mark.parametrize(
    ("task_name", "limits"),
    [("SciFact", {"corpus_limit": 120, "query_limit": 30}), ("STSBenchmark", {"query_limit": 150})],
)
def test_same_score_as_mteb_sentence_transformers_wrapper(
    task_name: str, limits: dict[str, int], student_path: Path, shared_data: Path, fresh_home: Path, tmp_path: Path
) -> None:
    import mteb
    from sentence_transformers import SentenceTransformer

    from leaf_hub.evaluation import evaluate_model_folder
    from leaf_hub.evaluation.tasks import get_tasks

    ours = evaluate_model_folder(
        student_path, tasks=[task_name], output_dir=tmp_path / "eval", sweep=False, progress=False, **limits
    )
    (task,) = get_tasks([task_name], data_root=shared_data, **limits)
    stock = mteb.evaluate(
        SentenceTransformer(str(student_path), device="cpu"),
        task,
        cache=None,
        co2_tracker=False,
        show_progress_bar=False,
        encode_kwargs={"batch_size": 32, "show_progress_bar": False},
    )
    (row,) = ours.scores
    assert row.subsampled
    assert row.main_score == pytest.approx(stock.task_results[0].get_score(), abs=2e-4)
