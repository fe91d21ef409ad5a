"""Recipe options beyond plain LEAF: validated, off by default, and invisible in fingerprints while off."""

from __future__ import annotations

import pytest
import yaml

from leaf_hub.errors import RecipeError
from leaf_hub.recipe import TrainingSpec, find_recipe, load_recipe, parse_recipe


def _shipped() -> dict:
    return yaml.safe_load(find_recipe("leaf-ir-mini").read_text())


def test_options_are_off_by_default():
    spec = TrainingSpec()
    assert spec.focal_gamma == 0.0 and spec.score_distill_weight == 0.0
    assert spec.score_distill_temperature == 0.05
    for name in ("leaf-ir-mini", "leaf-ir", "leaf-mt", "leaf-mt-mini"):
        assert load_recipe(name).training.focal_gamma == 0  # reports/ablation.json: inside the seed range


def test_defaults_leave_dumps_and_fingerprints_unchanged():
    data = _shipped()
    for name in ("score_distill_weight", "score_distill_temperature"):
        data["training"].pop(name, None)
    plain = parse_recipe(data)
    assert "focal_gamma" not in plain.model_dump(mode="json")["training"]
    explicit = yaml.safe_load(yaml.safe_dump(data))
    explicit["training"].update(focal_gamma=0.0, score_distill_weight=0.0, score_distill_temperature=0.05)
    assert parse_recipe(explicit).fingerprint() == plain.fingerprint()
    assert parse_recipe(explicit).fingerprint("training") == plain.fingerprint("training")


@pytest.mark.parametrize(
    ("key", "value"),
    [("focal_gamma", 2.0), ("score_distill_weight", 0.5), ("score_distill_temperature", 0.1)],
)
def test_a_set_option_changes_the_fingerprint_and_round_trips(key, value):
    data = _shipped()
    data["training"][key] = value
    recipe = parse_recipe(data)
    assert recipe.fingerprint("training") != parse_recipe(_shipped()).fingerprint("training")
    dumped = recipe.model_dump(mode="json")
    assert dumped["training"][key] == value
    assert parse_recipe(yaml.safe_load(yaml.safe_dump(dumped))) == recipe


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("focal_gamma", -0.5, "training.focal_gamma: Input should be greater than or equal to 0"),
        (
            "focal_gamma",
            "hard",
            "training.focal_gamma: Input should be a valid number, unable to parse string as a number",
        ),
        ("score_distill_weight", -1, "training.score_distill_weight: Input should be greater than or equal to 0"),
        ("score_distill_temperature", 0, "training.score_distill_temperature: Input should be greater than 0"),
        ("focal_gama", 1.0, "training.focal_gama: unknown key"),
    ],
)
def test_bad_options_are_one_line_errors_naming_the_key(key, value, message):
    data = _shipped()
    data["training"][key] = value
    with pytest.raises(RecipeError) as info:
        parse_recipe(data, "x.yaml")
    assert str(info.value) == f"recipe x.yaml: {message}"


def test_overrides_reach_the_options():
    recipe = load_recipe("leaf-ir-mini", {"training.score_distill_weight": 0.25, "training.focal_gamma": 1})
    assert recipe.training.score_distill_weight == 0.25 and recipe.training.focal_gamma == 1.0
