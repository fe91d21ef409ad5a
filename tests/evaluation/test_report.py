"""The screen table groups tasks by mteb's task type and names each metric as mteb does."""

from __future__ import annotations

from leaf_hub.evaluation.report import scores_table
from leaf_hub.records import EvalResults, ScoreRecord


def _row(task: str, metric: str, score: float, task_type: str | None) -> ScoreRecord:
    return ScoreRecord(
        task=task,
        mode="student",
        split="test",
        main_metric=metric,
        main_score=score,
        subsampled=task == "SciFact",
        n_queries=10,
        n_docs=20,
        seconds=1.0,
        task_type=task_type,
    )


def test_rows_are_grouped_by_task_type_with_types_from_mteb_when_not_recorded() -> None:
    from rich.console import Console

    results = EvalResults(
        model_path="m",
        mteb_version="2.26.24",
        split="test",
        wall_seconds=3.0,
        scores=[
            _row("SciFact", "ndcg_at_10", 0.5, "Retrieval"),
            _row("STSBenchmark", "cosine_spearman", 0.8, "STS"),
            _row("ArguAna", "ndcg_at_10", 0.4, None),  # an older results.json: the type comes from mteb
        ],
    )
    console = Console(width=200, record=True)
    console.print(scores_table(results))
    lines = [line for line in console.export_text().splitlines() if "ndcg_at_10" in line or "cosine_spearman" in line]
    assert [[cell.strip() for cell in line.split("│")[1:3]] for line in lines] == [
        ["Retrieval", "SciFact"],
        ["Retrieval", "ArguAna"],
        ["STS", "STSBenchmark"],
    ]
    assert "50.00*" in lines[0] and "40.00" in lines[1] and "80.00" in lines[2]
