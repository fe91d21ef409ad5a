"""Card inputs of a run folder, put together the way the orchestrator does it (records through ``RunFolder``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leaf_hub.model_card import CardInputs, card_inputs
from leaf_hub.run_folder import RunFolder


def run_card_inputs(run_dir: str | Path, **kwargs: Any) -> CardInputs:
    """:func:`leaf_hub.model_card.card_inputs` of a run's recorded recipe, results and report (and its plot)."""
    run = RunFolder(run_dir)
    recipe, results, report = run.load_card_records()
    return card_inputs(recipe, results, run.model_dir, report=report, plot=run.plot_in_repo(results), **kwargs)
