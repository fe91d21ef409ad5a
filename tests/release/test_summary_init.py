"""The release summary shows the init beside the student, and a loss against it as a negative number."""

from __future__ import annotations

from rich.console import Console

from leaf_hub.records import ReleaseSummary


def _rendered(scores: dict[str, float]) -> str:
    summary = ReleaseSummary(recipe="r", version="0.1.0", run_dir="runs/r", endpoint="e", repo_id="o/r", tag="v0.1.0")
    summary.scores = scores
    console = Console(width=200, record=True)
    console.print(summary.summary_table())
    return console.export_text()


def test_summary_lists_init_scores_and_the_signed_delta() -> None:
    text = _rendered({"STSBenchmark/student": 0.8054, "STSBenchmark/init": 0.8203, "SciFact/student": 0.70})
    assert "STSBenchmark/init" in text and "82.03" in text
    assert "STSBenchmark: student − init" in text and "-1.49" in text
    assert "SciFact: student − init" not in text  # no init score, no delta
    assert "student − init" not in _rendered({"STSBenchmark/student": 0.8054})
