"""What a release's publish fingerprint covers: the target, the ``-asym`` repo and the exports choice.

A changed fingerprint is what makes ``leaf-hub release`` publish again instead of skipping, so a
release with ``--no-exports`` must not count as the one with exports (nor the other way round), and
the default (exports on) must keep the fingerprint run folders recorded before the choice existed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from leaf_hub.recipe import parse_recipe
from leaf_hub.release import _digest, stage_fingerprints
from tests.distill.conftest import TINY


def _run_with_model(tmp_path: Path, student_path: Path) -> tuple[object, Path]:
    run = tmp_path / "run"
    shutil.copytree(student_path, run / "model", ignore=shutil.ignore_patterns("*.onnx", "onnx", "openvino"))
    recipe = parse_recipe({**TINY, "output_dir": str(run)}, "tiny")
    return recipe, run


def test_the_exports_choice_is_part_of_the_publish_fingerprint_only(tmp_path: Path, student_path: Path) -> None:
    recipe, run = _run_with_model(tmp_path, student_path)
    with_exports = stage_fingerprints(recipe, run)
    without = stage_fingerprints(recipe, run, exports=False)
    assert with_exports["distill"] == without["distill"] and with_exports["evaluate"] == without["evaluate"]
    assert with_exports["publish"] != without["publish"]  # switching exports on or off publishes again
    assert stage_fingerprints(recipe, run, exports=True) == with_exports  # stable
    assert stage_fingerprints(recipe, run, asym=True)["publish"] not in {with_exports["publish"], without["publish"]}


def test_exports_on_keeps_the_fingerprint_recorded_before_the_choice(
    tmp_path: Path, student_path: Path
) -> None:
    recipe, run = _run_with_model(tmp_path, student_path)
    prints = stage_fingerprints(recipe, run)
    release = recipe.model_copy(update={"output_dir": "-"})
    before = _digest(prints["evaluate"], release.fingerprint(), "test-org/tiny", "v0.1.0", "-")  # the earlier formula
    assert prints["publish"] == before


def test_compare_with_sources_are_part_of_the_publish_fingerprint(tmp_path: Path, student_path: Path) -> None:
    recipe, run = _run_with_model(tmp_path, student_path)
    plain = stage_fingerprints(recipe, run)
    assert stage_fingerprints(recipe, run, compare_with=()) == plain
    one = stage_fingerprints(recipe, run, compare_with=["../results"])
    assert one["evaluate"] == plain["evaluate"] and one["publish"] != plain["publish"]  # the card changes
    assert stage_fingerprints(recipe, run, compare_with=["../results", "org/peer"])["publish"] != one["publish"]
