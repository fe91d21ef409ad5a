"""The recipe's student kinds and training options: defaults unchanged, bad values in one clear line."""

from __future__ import annotations

import pytest

from leaf_hub.errors import RecipeError
from leaf_hub.recipe import load_recipe


def test_transformer_recipes_serialise_without_the_new_keys():
    recipe = load_recipe("leaf-ir-mini")
    dumped = recipe.model_dump(mode="json")
    assert recipe.student.kind == "transformer" and recipe.training.optimizer == "adamw"
    assert not {"kind", "pca_dims", "sif_coefficient"} & set(dumped["student"])
    assert "optimizer" not in dumped["training"]


def test_static_mini_recipe_loads_as_a_static_student():
    recipe = load_recipe("leaf-ir-static-mini")
    assert recipe.student.kind == "static" and recipe.student.pca_dims is None
    assert recipe.student.id == recipe.teacher.id
    assert recipe.training.loss == "cosine" and recipe.training.optimizer == "sparse_adam"
    assert recipe.model_dump(mode="json")["student"]["kind"] == "static"
    # same texts as leaf-ir-mini, so its cached teacher vectors serve both
    assert recipe.data == load_recipe("leaf-ir-mini").data


@pytest.mark.parametrize(
    ("recipe", "changes", "message"),
    [
        ("leaf-ir-mini", {"student.kind": "table"}, "student.kind: Input should be 'transformer' or 'static'"),
        ("leaf-ir-mini", {"student.pca_dims": 256}, "pca_dims is only used with kind: static"),
        ("leaf-ir-mini", {"training.optimizer": "sparse_adam"}, "sparse_adam needs student.kind: static"),
        ("leaf-ir-mini", {"training.loss": "kl"}, "training.loss: Input should be 'mse' or 'cosine'"),
        ("leaf-ir-static-mini", {"student.max_seq_length": 128}, "max_seq_length does not apply to kind: static"),
        ("leaf-ir-static-mini", {"training.trainable_layers": 2}, "trainable_layers does not apply"),
        ("leaf-ir-static-mini", {"evaluation.modes": ["student", "init"]}, "leave init out"),
        ("leaf-ir-static-mini", {"student.pca_dims": 0}, "student.pca_dims: Input should be greater than 0"),
    ],
)
def test_bad_values_are_one_clear_line(recipe: str, changes: dict, message: str):
    with pytest.raises(RecipeError) as info:
        load_recipe(recipe, changes)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_stages_are_checked_and_left_out_of_the_dump_while_unset():
    stages = [{"kinds": ["document"], "epochs": 1}, {"kinds": ["query"], "epochs": 2, "learning_rate": 2e-4}]
    recipe = load_recipe("leaf-ir-static-mini", {"training.stages": stages})
    assert [s.kinds for s in recipe.training.stages] == [["document"], ["query"]]
    assert "stages" not in load_recipe("leaf-ir-static-mini").model_dump(mode="json")["training"]
    with pytest.raises(RecipeError, match="max_steps and stages do not go together"):
        load_recipe("leaf-ir-static-mini", {"training.stages": stages, "training.max_steps": 5})
    with pytest.raises(RecipeError, match=r"training.stages.0.kinds"):
        load_recipe("leaf-ir-static-mini", {"training.stages": [{"kinds": [], "epochs": 1}]})
