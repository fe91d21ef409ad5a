"""The shipped recipes train with the settings reports/schedule_study.json decided, under its recorded rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leaf_hub.recipe import load_recipe
from tests.support.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "reports" / "schedule_study.json"


def _study():
    return load_script("studies/schedule_study")


def test_the_report_was_made_under_the_rule_in_the_script():
    study, report = _study(), json.loads(REPORT.read_text())
    assert report["rule"] == study.RULE
    assert report["rule_sha256"] == study.rule_hash()


def test_the_recorded_decisions_follow_from_the_recorded_rows():
    study, report = _study(), json.loads(REPORT.read_text())
    step0, spread = report["step0"], report["spread"]
    seeds = report["seed_rows"]
    base = {
        "name": "baseline",
        "alignment": sum(r["alignment"] for r in seeds) / len(seeds),
        "dev_mean": sum(r["dev_mean"] for r in seeds) / len(seeds),
    }
    smallest = str(min(int(b) for b in report["decisions"]))
    assert study.decide([base, *report["screen_rows"]], step0, spread)["winner"] == (
        report["decisions"][smallest]["winner"]
    )
    for budget, decision in report["decisions"].items():
        if budget != smallest:
            rows = [r for r in report["scale_rows"] if str(r["budget"]) == budget]
            assert study.decide(rows, step0, spread)["winner"] == decision["winner"]


@pytest.mark.parametrize("name", ["leaf-ir-mini", "leaf-ir", "leaf-mt-mini", "leaf-mt"])
def test_shipped_recipes_train_with_the_decided_settings(name):
    study, report = _study(), json.loads(REPORT.read_text())
    chosen = report["chosen"]
    settings = study.BASELINE | chosen["changes"]
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
