"""Recipe files as the user writes them, fuzzed: valid, or one ``RecipeError`` line; never a traceback.

``tests/test_recipe.py`` fuzzes one key of an already-parsed mapping; here hypothesis writes whole
YAML files (sections of the wrong type, deep nesting, huge literals, junk text, tags, aliases) and
CLI-style dotted overrides, and they go through :func:`leaf_hub.recipe.load_recipe` and the CLI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaf_hub.cli import exit_code_for
from leaf_hub.errors import RecipeError
from leaf_hub.recipe import find_recipe, load_recipe

BASE = find_recipe("leaf-ir-mini").read_text(encoding="utf-8")
SECTIONS = ["teacher", "student", "data", "training", "evaluation", "card", "hub"]
OVERRIDES = ["output_dir", "training.max_steps", "training.batch_size", "teacher.id", "data.sources", "x.y.z"]

_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=8),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def recipe_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["section", "nesting", "literal", "junk", "yaml-features"]))
    if kind == "section":  # a section replaced by a value of any type
        data = yaml.safe_load(BASE)
        data[draw(st.sampled_from(SECTIONS))] = draw(_value)
        return yaml.safe_dump(data, allow_unicode=True)
    if kind == "nesting":
        depth = draw(st.integers(1, 20_000))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
        return f"{draw(st.sampled_from(SECTIONS))}: " + opener * depth + closer * depth + "\n"
    if kind == "literal":
        digits = draw(st.integers(1, 20_000))
        return BASE + f"\nseed_note: {'7' * digits}\n"
    if kind == "junk":
        return draw(st.text(max_size=200))
    feature = draw(
        st.sampled_from(
            [
                "!!python/object/apply:os.system ['echo pwned']\n",
                "a: &a [1, 2]\nb: &b [*a, *a, *a]\nname: *b\n",
                "? [complex, key]\n: value\n",
                "name: x\nname: y\n",
                "--- {}\n--- {}\n",
                "\ufeffname: x\n",
                "training: !!binary aGVsbG8=\n",
            ]
        )
    )
    return feature


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(text=recipe_texts(), overrides=st.dictionaries(st.sampled_from(OVERRIDES), _scalar, max_size=2))
def test_fuzzed_recipe_files_are_valid_or_one_line_errors(tmp_path_factory, text: str, overrides: dict) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "recipe.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_recipe(path, overrides)
    except RecipeError as error:
        message = str(error)
        assert "\n" not in message and message.startswith("recipe "), message
        assert exit_code_for(error) == 2


@pytest.mark.parametrize(
    ("text", "args", "needle"),
    [
        ("training: " + "[" * 5000 + "]" * 5000 + "\n", [], "not valid YAML"),
        (BASE.replace("training:", "training: 5\nold_training:", 1), ["--max-steps", "3"], "training"),
        (BASE + "\nseed_note: " + "9" * 6000 + "\n", [], "recipe.yaml"),
        ("!!python/object/apply:os.system ['echo pwned']\n", [], "not valid YAML"),
    ],
)
def test_cli_answers_hostile_recipe_files_in_one_line(tmp_path: Path, text: str, args: list[str], needle: str) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "leaf_hub.cli", "distill", str(path), "--output", str(tmp_path / "run"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "pwned" not in proc.stdout
    assert lines and lines[-1].startswith("leaf-hub: error: recipe") and needle in lines[-1], proc.stderr[-2000:]
    assert not (tmp_path / "run").exists()
