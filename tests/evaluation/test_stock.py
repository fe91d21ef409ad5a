"""leaf-hub's scores against stock mteb's: ``mteb.evaluate`` with mteb's own ``SentenceTransformerEncoderWrapper``.

The rows and the check (:mod:`leaf_hub.records.agreement`) are pure and fast. The comparison that
matters runs the real all-MiniLM-L6-v2 on the full STS-B test split (1,379 pairs, the smallest full
split shipped) both ways: leaf-hub's evaluation (its own encoder over cached vectors) and stock mteb
on the saved folder (slow: ~30 s each on 2 cores).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from leaf_hub.errors import LeaderboardError, ModelFolderError, ScoreMismatchError
from leaf_hub.evaluation.stock import MTEB_TOLERANCE, compare_scores, require_agreement, stock_scores

STSB_TEST_PAIRS = 1379


def test_rows_say_who_scored_what_and_whether_it_agrees() -> None:
    rows = compare_scores({"STSBenchmark": 0.82031, "SciFact": 0.64}, {"SciFact": 0.6402, "STSBenchmark": 0.82030})
    assert [(r.task, r.agree) for r in rows] == [("STSBenchmark", True), ("SciFact", False)]
    assert rows[1].leaf_hub == 0.64 and rows[1].mteb == 0.6402 and rows[1].diff == pytest.approx(-2e-4)
    assert rows[0].tolerance == MTEB_TOLERANCE == 1e-4
    assert compare_scores({"X": 0.5}, {"X": 0.5 + 1e-4})[0].agree  # the tolerance itself agrees
    assert not compare_scores({"X": 0.5}, {"X": math.nan})[0].agree  # a NaN never agrees
    assert compare_scores({"X": 0.5}, {"X": 0.51}, tol=0.02)[0].agree


def test_a_disagreement_is_one_line_naming_the_task_and_both_scores() -> None:
    rows = compare_scores({"STSBenchmark": 0.8203, "SciFact": 0.64}, {"STSBenchmark": 0.8203, "SciFact": 0.65})
    with pytest.raises(ScoreMismatchError) as info:
        require_agreement(rows)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("SciFact: leaf-hub scores 0.640000 but stock mteb scores 0.650000 on the saved folder")
    assert "(|diff| 1.0e-02 > 1e-04)" in message
    assert isinstance(info.value, LeaderboardError) and isinstance(info.value, ValueError)
    assert (info.value.task, info.value.leaf_hub, info.value.mteb) == ("SciFact", 0.64, 0.65)
    require_agreement(rows[:1])  # agreeing rows pass


def test_a_task_stock_mteb_did_not_score_is_refused() -> None:
    with pytest.raises(LeaderboardError, match="^NFCorpus: stock mteb was not run on it"):
        compare_scores({"NFCorpus": 0.3}, {"SciFact": 0.6})


def test_stock_scores_refuses_a_folder_that_is_no_model_before_loading_anything(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError):
        stock_scores(tmp_path, ["STSBenchmark"])


@pytest.mark.slow
def test_leaf_hub_agrees_with_stock_mteb_on_the_full_sts_b_split(
    student_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaf_hub.evaluation import eval_settings, evaluate_models

    monkeypatch.setenv("LEAF_HUB_HOME", str(tmp_path / "home"))  # a cold cache: leaf-hub encodes, reads nothing
    settings = eval_settings(None, tasks=["STSBenchmark"], modes=["student"])
    ours = evaluate_models(student_path, output_dir=tmp_path / "eval", settings=settings, sweep=False, progress=False)
    (row,) = ours.scores
    assert (row.subsampled, row.n_queries) == (False, STSB_TEST_PAIRS)
    theirs = stock_scores(student_path, ["STSBenchmark"], output_dir=tmp_path / "stock")
    assert (tmp_path / "stock" / "STSBenchmark.json").is_file()
    (agreement,) = compare_scores({"STSBenchmark": row.main_score}, theirs)
    assert agreement.agree, agreement
    # the reference score of all-MiniLM-L6-v2 on the STS-B test split (shared/data/README.md: 0.8203)
    assert theirs["STSBenchmark"] == pytest.approx(0.8203, abs=5e-4)
