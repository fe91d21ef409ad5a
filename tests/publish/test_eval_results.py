"""The Hub's ``.eval_results/*.yaml`` files: built from the results record, staged, published and read back.

The unit tests build the files from a small typed :class:`~leaf_hub.records.EvalResults` and parse
them back with huggingface_hub's own parser; the end-to-end test publishes a run (the real
all-MiniLM-L6-v2 folder as its model) to the embedded Hub with :func:`leaf_hub.publish.publish`
(stage, one commit, download + sha256 + fresh-process reload, tag) and reads the files back with
the real ``huggingface_hub`` client.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from leaf_hub.errors import ReleaseError
from leaf_hub.publish.eval_results import EVAL_RESULTS_FOLDER, eval_result_entries, eval_results_yaml
from leaf_hub.records import EvalResults
from tests.support.hub import ALICE_WRITE, running_test_hub
from tests.support.records import eval_results, score_record

SCIFACT_REVISION = "d56462d0e63a25450459c4f213e49ffdb866f7f9"


def _results() -> EvalResults:
    """Student, teacher and asymmetric rows; NFCorpus sub-sampled, SciFact from a local copy."""
    return eval_results(
        [
            score_record("SciFact", value=0.6451, dataset_revision=SCIFACT_REVISION, data_sha256="a" * 64),
            score_record("SciFact", "teacher", value=0.6563),
            score_record("SciFact", "asymmetric", value=0.6502),
            score_record("STSBenchmark", value=0.812345678),
            score_record("STSBenchmark", "teacher", value=0.83),
            score_record("NFCorpus", value=0.31, subsampled=True, n_docs=600),
            score_record("NFCorpus", "asymmetric", value=0.32, subsampled=True, n_docs=600),
        ]
    )


def _parsed(text: str):  # noqa: ANN202 - huggingface_hub.EvalResultEntry, imported lazily
    from huggingface_hub import parse_eval_result_entries

    (entry,) = parse_eval_result_entries(yaml.safe_load(text))
    return entry


def test_folder_is_huggingface_hubs() -> None:
    from huggingface_hub import constants

    assert constants.EVAL_RESULTS_FOLDER == EVAL_RESULTS_FOLDER == ".eval_results"


def test_student_files_hold_the_full_split_student_scores() -> None:
    entries = eval_result_entries(_results())
    # one file per task, the student's own scores; NFCorpus is sub-sampled and left out
    assert list(entries) == [".eval_results/SciFact.yaml", ".eval_results/STSBenchmark.yaml"]

    scifact = eval_results_yaml(entries[".eval_results/SciFact.yaml"])
    assert scifact == (
        "- dataset:\n"
        "    id: mteb/scifact\n"
        "    task_id: SciFact\n"
        f"    revision: {SCIFACT_REVISION}\n"
        "  value: 64.51\n"
        "  notes: mteb SciFact, test split (full), main score ndcg_at_10 x 100, mteb 2.26.24; "
        f"scored on a local copy of the dataset (sha256 {'a' * 64})\n"
    )
    sts = _parsed(eval_results_yaml(entries[".eval_results/STSBenchmark.yaml"]))
    assert (sts.dataset_id, sts.task_id, sts.value) == ("mteb/stsbenchmark-sts", "STSBenchmark", 81.2346)
    assert sts.dataset_revision == "b0fddb56ed78048fa8b90373c8a3cfc37b684831"  # the revision mteb pins
    assert sts.notes == "mteb STSBenchmark, test split (full), main score cosine_spearman x 100, mteb 2.26.24"


def test_asym_files_hold_the_asymmetric_scores_only() -> None:
    entries = eval_result_entries(_results(), "asymmetric")
    assert list(entries) == [".eval_results/SciFact.yaml"]
    entry = _parsed(eval_results_yaml(entries[".eval_results/SciFact.yaml"]))
    assert entry.value == 65.02
    assert entry.notes is not None and "queries encoded by the student, documents by the teacher" in entry.notes


def test_nothing_sub_sampled_and_no_other_model() -> None:
    only_subsampled = eval_results([score_record("SciFact", subsampled=True, n_docs=600)])
    assert eval_result_entries(only_subsampled) == {}
    with pytest.raises(ReleaseError, match="'teacher'"):
        eval_result_entries(_results(), "teacher")


def test_values_are_the_model_index_values(student_path: Path) -> None:
    """The .eval_results entries and the card's model-index metrics come from one record by one rule."""
    from leaf_hub.model_card.card_data import build_card_data
    from leaf_hub.model_card.inputs import CardInputs
    from leaf_hub.models.folder import read_model_facts
    from leaf_hub.recipe import load_recipe

    results = _results()
    inputs = CardInputs(load_recipe("leaf-ir-mini"), results, read_model_facts(student_path), "org/leaf-ir-mini")
    index = {(r.dataset_type, r.metric_config): r for r in build_card_data(inputs).eval_results or []}
    for mode in ("student", "asymmetric"):
        for entry in eval_result_entries(results, mode).values():
            metric = index[(entry.dataset_id, mode)]
            assert (entry.value, entry.dataset_revision) == (metric.metric_value, metric.dataset_revision)
            assert metric.metric_type in entry.notes and metric.dataset_split in entry.notes


@pytest.mark.required  # the only check that a published repo serves .eval_results: CI fails if it skips
def test_publish_serves_eval_results_to_huggingface_hub(tmp_path: Path, student_path: Path) -> None:
    from huggingface_hub import HfApi, hf_hub_download

    from leaf_hub.licenses import LicenseReport
    from leaf_hub.publish import ReleaseContent, publish
    from leaf_hub.recipe import load_recipe
    from leaf_hub.run_folder import RunFolder

    recipe = load_recipe("leaf-ir-mini")
    run = RunFolder(tmp_path / "run")
    shutil.copytree(student_path, run.model_dir)
    results = _results()
    (tmp_path / "LICENSE").write_text("Apache License 2.0\n")
    content = ReleaseContent(
        results=results,
        report=None,
        licenses=LicenseReport(release_license="apache-2.0", components=[], data=[]),
        readme="---\nlicense: apache-2.0\n---\n# leaf-ir-mini\n",
        license_text=tmp_path / "LICENSE",
    )
    with running_test_hub(tmp_path / "hub") as hub:
        published = publish(
            recipe,
            run,
            content=content,
            repo_id="org/leaf-ir-evals",
            tag=f"v{recipe.version}",
            endpoint=hub.url,
            token=ALICE_WRITE,
        )
        (release,) = published.repos
        assert release.uploaded and release.min_cosine is not None and release.min_cosine >= 0.9999

        api = HfApi(endpoint=hub.url, token=ALICE_WRITE)
        files = set(api.list_repo_files("org/leaf-ir-evals", revision=release.tag))
        assert {f for f in files if f.startswith(".eval_results/")} == {
            ".eval_results/SciFact.yaml",
            ".eval_results/STSBenchmark.yaml",
        }
        manifest = run.load_manifest()
        assert set(manifest.files) | {"release.json"} == files - {".gitattributes"}  # the manifest lists them
        for path, facts in release.files.items():
            if path.startswith(".eval_results/"):
                assert (manifest.files[path].size, manifest.files[path].sha256) == facts

        local = hf_hub_download(
            "org/leaf-ir-evals",
            ".eval_results/SciFact.yaml",
            revision=release.tag,
            endpoint=hub.url,
            token=ALICE_WRITE,
            cache_dir=tmp_path / "hf",
        )
        entry = _parsed(Path(local).read_text(encoding="utf-8"))
    row = results.row("SciFact", "student")
    assert row is not None
    assert (entry.dataset_id, entry.task_id, entry.dataset_revision) == ("mteb/scifact", "SciFact", SCIFACT_REVISION)
    assert entry.value == round(row.main_score * 100, 4) == 64.51
    assert entry.notes is not None and "test split (full)" in entry.notes and "ndcg_at_10" in entry.notes
