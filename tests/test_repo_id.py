"""The one client-side repo-id rule (leaf_hub.hub.check_repo_id): what it accepts and refuses, and who uses it."""

from __future__ import annotations

import pytest
import yaml

from leaf_hub.errors import RecipeError, RepoIdError
from leaf_hub.hub import check_repo_id
from leaf_hub.recipe import parse_recipe
from tests.publish._run import TINY_RECIPE

GOOD = [
    "org/leaf-ir-mini",
    "leaf-hub/leaf-ir-mini-asym",
    "sentence-transformers/all-MiniLM-L6-v2",
    "Org_1/model.v2",
    "a/b",
    "o" * 96 + "/" + "n" * 96,
]
BAD = [
    ("leaf-ir-mini", "exactly one '/'"),
    ("org/sub/name", "exactly one '/'"),
    ("/name", "use 1-96 of"),
    ("org/", "use 1-96 of"),
    ("org/bad name!", "use 1-96 of"),
    ("org/-name", "starting and ending with a letter or digit"),
    ("org/name.", "starting and ending with a letter or digit"),
    ("_org/name", "use 1-96 of"),
    ("org/naïve", "use 1-96 of"),
    ("org/" + "n" * 97, "use 1-96 of"),
    ("org/a--b", "'--' and '..' are not allowed"),
    ("org/a..b", "'--' and '..' are not allowed"),
    ("org/name.git", "must not end in '.git'"),
]


@pytest.mark.parametrize("repo_id", GOOD)
def test_accepted_ids_are_accepted_by_huggingface_hub_and_the_server_too(repo_id: str) -> None:
    from huggingface_hub.utils import validate_repo_id

    from leaf_hub.hub_server.validation import validate_repo_part

    assert check_repo_id(repo_id) == repo_id
    validate_repo_id(repo_id)  # raises on an id huggingface_hub refuses
    org, name = repo_id.split("/")
    validate_repo_part(org, "namespace")
    validate_repo_part(name, "name")


@pytest.mark.parametrize(("repo_id", "reason"), BAD)
def test_refused_ids_name_the_id_and_the_rule_in_one_line(repo_id: str, reason: str) -> None:
    with pytest.raises(RepoIdError) as info:
        check_repo_id(repo_id)
    message = str(info.value)
    assert message.startswith(f"invalid repo id {repo_id!r}: ") and reason in message
    assert "\n" not in message


@pytest.mark.parametrize("key", ["hub.repo_id", "teacher.id", "student.id"])
def test_the_recipe_applies_the_same_rule(key: str) -> None:
    section, field = key.split(".")
    data = yaml.safe_load(yaml.safe_dump(TINY_RECIPE))
    data[section][field] = "org/a--b"
    with pytest.raises(RecipeError, match=rf"{key}: invalid repo id 'org/a--b': '--' and '..' are not allowed"):
        parse_recipe(data, "tiny")
    data[section][field] = "org/a-b"
    assert parse_recipe(data, "tiny")  # and the neighbouring valid id passes


def test_release_refuses_a_bad_repo_before_any_stage(tmp_path) -> None:
    from leaf_hub.release import release

    with pytest.raises(RepoIdError, match="invalid repo id 'org/bad name!'"):
        release(parse_recipe(TINY_RECIPE, "tiny"), repo_id="org/bad name!", output_dir=tmp_path, embedded_hub=True)
    assert not any(tmp_path.iterdir())  # nothing was distilled or written
