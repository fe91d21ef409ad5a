"""scripts/studies/ablation.py: the decision rule is fixed in code, guards held-out alignment, keys the cached rows."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import pytest

from tests.support.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ablation():
    return load_script("studies/ablation")


def _plain(mean: float, alignment: float, seed: int) -> dict:
    return {
        "name": f"plain seed {seed}",
        "kind": "train",
        "seed": seed,
        "select_mean": mean,
        "heldout_alignment": alignment,
    }


PLAIN = [_plain(0.600, 0.6710, 42), _plain(0.602, 0.6715, 43), _plain(0.601, 0.6705, 44)]  # ranges 0.002, 0.001


def test_an_option_must_beat_the_seed_range_and_keep_the_alignment(ablation) -> None:
    # score distillation at mini size: +1.6 points, but alignment 0.671 -> 0.660 against a 0.001 seed range
    costly = {"name": "score w=0.1", "kind": "train", "select_mean": 0.616, "heldout_alignment": 0.660}
    verdict = ablation.decide(costly, PLAIN)
    assert verdict["helps"] and not verdict["keeps_alignment"] and verdict["default"] == "off"
    assert verdict["delta_alignment"] == pytest.approx(-0.011) and verdict["alignment_range"] == pytest.approx(0.001)
    good = {**costly, "heldout_alignment": 0.6705}  # -0.0005: within the seed range
    assert ablation.decide(good, PLAIN)["default"] == "on"
    small = {**good, "select_mean": 0.6015}  # +0.0015: within the 0.002 seed range of the mean
    assert not ablation.decide(small, PLAIN)["helps"] and ablation.decide(small, PLAIN)["default"] == "off"
    # a soup is compared with the mean of the plain seeds, not with seed 42
    soup = {"name": "soup", "kind": "soup", "select_mean": 0.6045, "heldout_alignment": 0.6715}
    verdict = ablation.decide(soup, PLAIN)
    assert verdict["compared_with"] == "mean of the plain seeds"
    assert verdict["delta_select_mean"] == pytest.approx(0.6045 - 0.601) and verdict["default"] == "on"


def test_the_rule_and_its_code_hash_key_the_cached_rows(ablation, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = ablation.decision_rule()
    assert rule["text"] == ablation.DECISION_RULE and "held-out alignment" in rule["text"]
    assert rule["code_sha256"] == hashlib.sha256(inspect.getsource(ablation.decide).encode()).hexdigest()
    settings = {"queries": 120, "seed": 42, "focal_gamma": [1.0]}
    key = ablation.row_key(settings, {}, 42, rule)
    assert ablation.row_key({**settings, "focal_gamma": [2.0]}, {}, 42, rule) == key  # only lists rows
    assert ablation.row_key(settings, {}, 42, {**rule, "code_sha256": "0" * 64}) != key
    monkeypatch.setattr(ablation, "DECISION_RULE", ablation.DECISION_RULE + " Changed.")
    changed = ablation.decision_rule()
    assert changed["text_sha256"] != rule["text_sha256"]
    assert ablation.row_key(settings, {}, 42, changed) != key
