"""Recipes: shipped ones are valid and point at real files; bad ones fail with one line."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaf_hub.assets import resolve_data_file
from leaf_hub.errors import RecipeError
from leaf_hub.recipe import list_recipes, load_recipe, parse_recipe

SHIPPED = ["leaf-ir", "leaf-ir-mini", "leaf-mt", "leaf-mt-mini"]


def test_shipped_recipes_are_listed():
    assert set(SHIPPED) <= set(list_recipes())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_recipe_is_valid_and_its_data_exists(name, shared_data):
    recipe = load_recipe(name)
    assert recipe.teacher.id == "sentence-transformers/all-mpnet-base-v2"
    assert recipe.student.id == "sentence-transformers/all-MiniLM-L6-v2"
    assert recipe.student.projection_dim == 768
    for source in recipe.data.sources:
        assert resolve_data_file(source.path).stat().st_size > 0
    assert recipe.hub.repo_id.endswith(recipe.name)


def test_mt_projection_has_no_bias():
    assert load_recipe("leaf-mt").student.projection_bias is False
    assert load_recipe("leaf-ir").student.projection_bias is True


def _base() -> dict:
    return yaml.safe_load(open(load_recipe.__globals__["find_recipe"]("leaf-ir-mini")))


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["training"].update(lr=1), "training.lr: unknown key"),
        (lambda d: d["training"].update(batch_size=-3), "training.batch_size: Input should be greater than 0"),
        (lambda d: d.pop("teacher"), "teacher: missing required key"),
        (lambda d: d["hub"].update(repo_id="bad id!"), "hub.repo_id: invalid repo id 'bad id!'"),
        (lambda d: d["evaluation"].update(tasks=["SciFakt"]), "unknown task 'SciFakt'"),
        (lambda d: d.update(version="one"), "version: 'one' is not a semantic version"),
        (
            lambda d: d["student"].update(task_prompts={"SciFakt-query": "claim: "}),
            "student.task_prompts: 'SciFakt-query' is not an mteb task name or task type",
        ),
        (
            lambda d: d["teacher"].update(task_prompts={"query": "q: "}),
            "teacher.task_prompts: 'query' is set with query_prompt, not in task_prompts",
        ),
    ],
)
def test_bad_recipe_names_the_key(mutate, needle):
    data = _base()
    mutate(data)
    with pytest.raises(RecipeError) as info:
        parse_recipe(data, "x.yaml")
    message = str(info.value)
    assert needle in message and "\n" not in message


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(RecipeError, match="recipe not found"):
        load_recipe(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(bad)


def test_overrides_apply_dotted_keys():
    recipe = load_recipe("leaf-ir-mini", {"training.max_steps": 3, "output_dir": "/tmp/x"})
    assert recipe.training.max_steps == 3 and str(recipe.run_dir) == "/tmp/x"


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True), st.text(max_size=8))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    section=st.sampled_from(["teacher", "student", "data", "training", "evaluation", "card", "hub", None]),
    key=st.text(min_size=1, max_size=12),
    value=st.recursive(
        _scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=6,
    ),
)
def test_fuzzed_recipes_are_valid_or_one_line_errors(section, key, value):
    data = _base()
    target = data if section is None else data[section]
    target[key] = value
    try:
        parse_recipe(data, "fuzz.yaml")
    except RecipeError as e:
        assert "\n" not in str(e) and str(e).startswith("recipe fuzz.yaml: ")


def test_task_prompts_accept_mteb_keys():
    data = _base()
    keys = {"SciFact-query": "claim: ", "NFCorpus": "nutrition: ", "Retrieval-document": "passage: ", "STS": "s: "}
    data["student"]["task_prompts"] = keys
    assert parse_recipe(data, "x.yaml").student.task_prompts == keys
