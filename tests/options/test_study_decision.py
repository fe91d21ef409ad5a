"""reports/schedule_study.json re-derived from its rows alone, and the shipped recipes train what the rows decide.

The rows are the study's own row cache, committed beside the report
(``reports/schedule_study.rows.jsonl``: ``{"key", "row"}`` per trained or scored student). Everything
the report derives (the step-0 row, the seed spread, the baseline mean, eligibility and the dev
floor, ties, the carried changes, each budget's decision, the chosen setting, the forecast) is
computed here from those rows with the rule's own functions (:func:`decide`, :func:`carried`, imported
from the script) and the glue of ``main`` written out again, then compared with every field of the
report. The rule's hash is computed here the way the script computes it, from the current code.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import shutil
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from leaf_hub.recipe import load_recipe
from tests.support.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "reports" / "schedule_study.json"
ROWS = ROOT / "reports" / "schedule_study.rows.jsonl"

#: report fields that are the run's inputs or facts of the run, not derived from the rows
RUN_FACTS = {"what", "settings", "started_at", "finished_at", "wall_seconds", "machine"}
#: what scripts/bench/common.py's stamp (or a historical report's mark) adds: facts of the run, not of the rows
STAMP_FIELDS = {"stamp", "historical", "historical_reason", "written_by", "committed_in"}


def _study():
    return load_script("studies/schedule_study")


def _cache(path: Path) -> dict[str, dict[str, Any]]:
    """The row cache as the script reads it: key -> row (a later line wins)."""
    return {e["key"]: e["row"] for e in map(json.loads, path.read_text().splitlines())}


def rederive(study: Any, settings: dict[str, Any], cache: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every derived field of the report, from the cached rows and the study's command line (``settings``)."""
    args = argparse.Namespace(**settings)

    def row(name: str, changes: dict[str, Any], budget: int, seed: int) -> dict[str, Any]:
        key = study.row_key(name, study.BASELINE | changes, budget, seed, args)
        assert key in cache, f"no cached row for {name} at {budget} seed {seed} under the current rule"
        found = cache[key]
        assert found["dev_mean"] == statistics.fmean(found["dev"].values()), f"{name}: dev_mean is not its dev mean"
        return found

    step0 = row("step0", {}, 0, 0)
    smallest, *larger = settings["budgets"]
    seeds = [row("baseline", {}, smallest, 42 + i) for i in range(settings["seeds"])]
    spread = {
        metric: max(r[metric] for r in seeds) - min(r[metric] for r in seeds) for metric in ("alignment", "dev_mean")
    }
    base = {
        "name": "baseline",
        "alignment": statistics.fmean(r["alignment"] for r in seeds),
        "dev_mean": statistics.fmean(r["dev_mean"] for r in seeds),
    }
    names = settings["screen"] if settings["screen"] is not None else list(study.SCREEN)
    screen_rows = [row(name, study.SCREEN[name], smallest, 42) for name in names]
    keep = study.carried(screen_rows, base, step0, spread)[: settings["carry"]]
    combo: dict[str, Any] = {}
    for r in reversed(keep):
        combo |= r["changes"]
    scale: dict[str, dict[str, Any]] = {"baseline": {}}
    if len(keep) == 1:
        scale[keep[0]["name"]] = keep[0]["changes"]
    elif len(keep) > 1:
        combined = "combined: " + " + ".join(r["name"] for r in keep)
        scale[combined] = combo
        screen_rows.append(row(combined, combo, smallest, 42))
    decisions = {str(smallest): study.decide([base, *screen_rows], step0, spread)}
    scale_rows: list[dict[str, Any]] = []
    for budget in larger:
        rows = [row(name, changes, budget, 42) for name, changes in scale.items()]
        scale_rows += rows
        decisions[str(budget)] = study.decide(rows, step0, spread)
    changes_of = {"baseline": {}} | {r["name"]: r["changes"] for r in screen_rows + scale_rows}
    with_winner = [b for b in sorted(decisions, key=int, reverse=True) if decisions[b]["winner"] is not None]
    chosen = None
    if with_winner:
        winner = decisions[with_winner[0]]["winner"]
        chosen = {"budget": int(with_winner[0]), "name": winner, "changes": changes_of[winner]}
    return {
        "rule": study.RULE,
        "rule_sha256": rule_sha256(study),
        "baseline": study.BASELINE,
        "screen": study.SCREEN,
        "step0": step0,
        "spread": spread,
        "seed_rows": seeds,
        "screen_rows": screen_rows,
        "carried": [r["name"] for r in keep],
        "scale_rows": scale_rows,
        "decisions": decisions,
        "chosen": chosen,
        "prediction": forecast(study, decisions, scale_rows, seeds, settings["budgets"]),
    }


def rule_sha256(study: Any) -> str:
    """The rule's hash as ``rule_hash`` makes it: the rule text, the source of its two functions, the screen."""
    source = (
        study.RULE
        + inspect.getsource(study.decide)
        + inspect.getsource(study.carried)
        + json.dumps(study.SCREEN, sort_keys=True)
    )
    return hashlib.sha256(source.encode()).hexdigest()


def forecast(study: Any, decisions: dict, scale_rows: list[dict], seeds: list[dict], budgets: list[int]) -> Any:
    """The largest budget's winner, log-linear in text-passes, at the full run (a forecast, re-fitted here)."""
    if len(budgets) < 2:
        return None
    winner = decisions[str(budgets[-1])]["winner"]
    points = [[r["budget"], r["alignment"]] for r in scale_rows if r["name"] == winner]
    if winner == "baseline":
        points.append([seeds[0]["budget"], statistics.fmean(r["alignment"] for r in seeds)])
    if len(points) < 2:
        return None
    slope, intercept = np.polyfit(np.log10([p[0] for p in points]), [p[1] for p in points], 1)
    return {
        "setting": winner,
        "points": points,
        "alignment_per_decade": float(slope),
        "full_run_text_passes": study.FULL_RUN_TEXT_PASSES,
        "predicted_alignment": float(min(1.0, intercept + slope * np.log10(study.FULL_RUN_TEXT_PASSES))),
    }


def mismatches(report: dict[str, Any], derived: dict[str, Any]) -> list[str]:
    """Where the report differs from the re-derivation (empty: every field follows from the rows)."""
    found = []
    unexplained = set(report) - set(derived) - RUN_FACTS - STAMP_FIELDS
    if unexplained:
        found.append(f"fields neither derived nor run facts: {sorted(unexplained)}")
    for field, value in derived.items():
        recorded = report.get(field)
        if field == "prediction" and isinstance(recorded, dict):
            recorded = {k: v for k, v in recorded.items() if k != "note"}  # the forecast's caveat, prose
            fitted = ("alignment_per_decade", "predicted_alignment")  # a least-squares fit: equal to 1e-9
            same = (
                recorded.keys() == value.keys()
                and all(recorded[k] == value[k] for k in recorded if k not in fitted)
                and all(np.isclose(recorded[k], value[k], rtol=1e-9, atol=0) for k in fitted)
            )
        else:
            same = json.loads(json.dumps(recorded)) == json.loads(json.dumps(value))
        if not same:
            found.append(f"{field}: report {json.dumps(recorded)[:200]} != rows {json.dumps(value)[:200]}")
    return found


@pytest.fixture(scope="module")
def derived() -> dict[str, Any]:
    report = json.loads(REPORT.read_text())
    return rederive(_study(), report["settings"], _cache(ROWS))


def test_every_field_of_the_report_follows_from_its_rows(derived) -> None:
    assert mismatches(json.loads(REPORT.read_text()), derived) == []


def test_the_recorded_rule_hash_is_the_hash_of_the_current_rule_code() -> None:
    study, report = _study(), json.loads(REPORT.read_text())
    assert report["rule"] == study.RULE
    assert report["rule_sha256"] == rule_sha256(study) == study.rule_hash()


def test_what_the_rule_decided_at_each_budget(derived) -> None:
    """The decisions the README states (`Training: the leaf trainer`), as re-derived from the rows."""
    decisions = derived["decisions"]
    assert decisions["4000"]["winner"] == "3 cycles (LEAF)"
    assert "baseline" in decisions["4000"]["ineligible"]  # the seed mean 83.50 is below the floor 83.52
    assert derived["carried"] == [] and {r["name"] for r in derived["scale_rows"]} == {"baseline"}
    assert decisions["8000"]["winner"] == decisions["16000"]["winner"] == "baseline"
    assert derived["chosen"] == {"budget": 16000, "name": "baseline", "changes": {}}


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(
            lambda r: r["chosen"].update(name="3 cycles (LEAF)", changes={"schedule": "cycles", "cycles": 3}),
            id="chosen",
        ),
        pytest.param(lambda r: r["decisions"]["4000"].update(ineligible=["encoder lr 3e-4"]), id="eligibility"),
        pytest.param(lambda r: r["spread"].update(dev_mean=0.001), id="spread"),
        pytest.param(lambda r: r.update(carried=["3 cycles (LEAF)"]), id="carried"),
        pytest.param(lambda r: r.update(rule_sha256="0" * 64), id="code hash"),
    ],
)
def test_a_hand_edited_report_fails_the_check(tmp_path: Path, derived, edit) -> None:
    copy = tmp_path / "schedule_study.json"
    shutil.copy(REPORT, copy)
    report = json.loads(copy.read_text())
    edit(report)
    copy.write_text(json.dumps(report))
    assert mismatches(json.loads(copy.read_text()), derived)


def test_a_hand_edited_row_changes_the_derivation(tmp_path: Path) -> None:
    """Rows decide: lift plain LEAF's seed 42 dev mean above the floor and the 4k decision moves."""
    study, report = _study(), json.loads(REPORT.read_text())
    lines = [json.loads(line) for line in ROWS.read_text().splitlines()]
    for entry in lines:
        if entry["row"]["name"] == "baseline" and entry["row"]["budget"] == 4000 and entry["row"]["seed"] == 42:
            entry["row"]["dev"] = {k: 0.845 for k in entry["row"]["dev"]}
            entry["row"]["dev_mean"] = 0.845
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(e) + "\n" for e in lines))
    assert mismatches(report, rederive(study, report["settings"], _cache(rows)))


@pytest.mark.parametrize("name", ["leaf-ir-mini", "leaf-ir", "leaf-mt-mini", "leaf-mt"])
def test_shipped_recipes_train_with_the_decided_settings(name, derived) -> None:
    study = _study()
    settings = study.BASELINE | derived["chosen"]["changes"]  # re-derived from the rows, not the report's
    recipe = load_recipe(name)
    training = recipe.training
    assert training.learning_rate == settings["learning_rate"]
    assert training.projection_lr_multiplier == settings["projection_lr_multiplier"]
    assert training.schedule == settings["schedule"]
    assert training.cycles == settings.get("cycles", 1)
    assert training.trainable_layers == settings["trainable_layers"]
    assert training.score_distill_weight == settings["score_distill_weight"]
    assert training.warmup_ratio == settings["warmup_ratio"]
    assert recipe.student.ridge_lambda == settings["ridge_lambda"]
    if name.endswith("-mini"):  # the CPU recipes: the study's own batch size
        assert training.batch_size == settings["batch_size"]
