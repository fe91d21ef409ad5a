"""The compatibility matrix: a portable save loads identically on sentence-transformers 3.4, 4.1, 5.1 and 6.x.

Each release runs in its own cached venv (``$LEAF_HUB_HOME/compat-venvs``) as ``python -I`` from an
empty directory, so ``leaf_hub`` is not importable there. Two sources: the saved folder, and the same
folder published to the embedded hub and loaded at its tag (``HF_ENDPOINT`` set in the probe, a fresh
``HF_HOME``). Cold (no venvs) this module builds four venvs (several minutes); warm it only loads and
encodes (~1.5 min on the shared 2-core machine).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leaf_hub.hub import RELOAD_MIN_COSINE as MIN_COSINE
from tests.support.compat.harness import (
    DEFAULT_TARGETS,
    all_targets,
    reference_embeddings,
    run_matrix,
    write_report,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(leaf_model, probe_texts: list[str]) -> dict:
    """Vectors of the training-time (in-memory) model: no prompt and the query prompt."""
    return reference_embeddings(leaf_model, probe_texts, ["query"])


def test_portable_folder_loads_identically_on_every_release(
    portable_folder: Path, reference: dict, probe_texts: list[str], tmp_path: Path
) -> None:
    rows = run_matrix(portable_folder, reference, probe_texts)
    report = write_report(rows, tmp_path / "compat_matrix.json", texts=probe_texts)
    summary = [(r.target, r.sentence_transformers, r.transformers, r.min_cosine, r.error) for r in rows]
    assert [r.target for r in rows] == [t.name for t in all_targets()], summary
    majors = sorted({r.sentence_transformers.split(".")[0] for r in rows if r.sentence_transformers})
    assert majors == ["3", "4", "5", "6"], summary
    for row in rows:
        assert row.loaded_ok, summary
        assert set(row.min_cosine_by_prompt) == {"plain", "query"}, summary
        assert row.min_cosine is not None and row.min_cosine >= MIN_COSINE, summary
        assert row.passed, summary
    data = json.loads(report.read_text())
    assert data["all_passed"] is True
    assert [r["target"] for r in data["rows"]] == [r.target for r in rows]


def test_plain_6x_save_fails_on_3_4(leaf_model, reference: dict, probe_texts: list[str], tmp_path: Path) -> None:
    """The control: what the issue reported, so the matrix above can fail."""
    raw = tmp_path / "raw"
    leaf_model.save(str(raw))
    (row,) = run_matrix(raw, reference, probe_texts, targets=[DEFAULT_TARGETS[0]])
    assert row.sentence_transformers == "3.4.1"
    assert not row.loaded_ok and not row.passed
    assert "No module named 'sentence_transformers.base'" in (row.error or "")


def test_published_model_loads_at_its_tag_on_every_release(
    portable_folder: Path, reference: dict, probe_texts: list[str]
) -> None:
    from huggingface_hub import HfApi

    from tests.support.hub import running_test_hub

    with running_test_hub() as hub:
        api = HfApi(endpoint=hub.url, token=hub.write_token)
        api.create_repo("org/compat-check")
        commit = api.upload_folder(repo_id="org/compat-check", folder_path=portable_folder, commit_message="portable")
        api.create_tag("org/compat-check", tag="v0.0.1", revision=commit.oid)
        # a later commit on main must not be what the tag loads
        api.delete_file("2_Dense/model.safetensors", repo_id="org/compat-check", commit_message="break main")
        rows = run_matrix(
            "org/compat-check", reference, probe_texts, revision="v0.0.1", endpoint=hub.url, token=hub.read_token
        )
        (broken,) = run_matrix(
            "org/compat-check",
            reference,
            probe_texts,
            revision="main",
            endpoint=hub.url,
            token=hub.read_token,
            targets=[all_targets()[-1]],
        )
    summary = [(r.target, r.sentence_transformers, r.min_cosine, r.error) for r in rows]
    assert [r.target for r in rows] == [t.name for t in all_targets()], summary
    assert all(r.loaded_ok and r.passed and r.min_cosine >= MIN_COSINE for r in rows), summary
    assert all(set(r.min_cosine_by_prompt) == {"plain", "query"} for r in rows), summary
    assert rows[0].source == f"org/compat-check@v0.0.1 via {hub.url}"
    assert not broken.passed, "main (Dense weights deleted) must not load as the tagged model"
