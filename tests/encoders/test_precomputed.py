"""Precomputed teachers: a file of real vectors, checked before training, refused in one line."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from leaf_hub.encoders import EmbeddingCache, PrecomputedTeacher, build_teacher
from leaf_hub.errors import MissingTeacherTextError, TeacherFileError
from leaf_hub.recipe import TeacherSpec
from tests.distill.conftest import run_cli
from tests.encoders.conftest import write_precomputed_recipe, write_vectors


def _spec(path, **changes) -> TeacherSpec:
    fields = {"id": "example-org/bought-vectors", "kind": "precomputed", "dim": 384, "vectors": str(path)}
    if path.suffix == ".npy":
        fields["texts"] = str(path.with_suffix(".txt"))
    return TeacherSpec(**{**fields, **changes})


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".npy"])
def test_each_format_serves_its_vectors(tmp_path, suffix, tiny_pairs, tiny_vectors):
    texts = [t for t, _ in tiny_pairs]
    path = write_vectors(tmp_path / f"vectors{suffix}", texts, [None] * len(texts), tiny_vectors)
    teacher = build_teacher(_spec(path))
    assert isinstance(teacher, PrecomputedTeacher) and teacher.dim == 384 and len(teacher) == len(texts)
    if suffix != ".npy":
        assert teacher.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()
    order = [7, 0, 31, 7]
    got = EmbeddingCache(teacher, tmp_path / "cache").embed([texts[i] for i in order], kind="query", progress=False)
    np.testing.assert_allclose(np.asarray(got), tiny_vectors[order], atol=1e-6)


def test_kind_column_separates_queries_from_documents(tmp_path, tiny_pairs, tiny_vectors):
    text = tiny_pairs[0][0]
    path = write_vectors(tmp_path / "v.jsonl", [text, text], ["query", "document"], tiny_vectors[:2])
    teacher = build_teacher(_spec(path))
    np.testing.assert_allclose(teacher.encode([text], kind="query")[0], tiny_vectors[0], atol=1e-6)
    np.testing.assert_allclose(teacher.encode([text], kind="document")[0], tiny_vectors[1], atol=1e-6)


def _bad_file(tmp_path, tiny_pairs, tiny_vectors, problem: str, suffix: str = ".jsonl"):
    texts = [t for t, _ in tiny_pairs]
    vectors = [list(map(float, v)) for v in tiny_vectors]
    if problem == "dimension":
        vectors[5] = vectors[5][:300]
    elif problem == "nan":
        vectors[5][17] = float("nan")
    elif problem == "norm":
        vectors[5] = [2 * x for x in vectors[5]]
    elif problem == "missing":
        del texts[5], vectors[5]
    return write_vectors(tmp_path / f"bad{suffix}", texts, [None] * len(texts), np.asarray(vectors, dtype=object))


@pytest.mark.parametrize(
    ("problem", "needle"),
    [
        ("dimension", "): 300 values, expected 384"),
        ("nan", ") has non-finite values (nan/inf)"),
        ("norm", ") has L2 norm 2.0000, but the recipe declares normalised vectors"),
    ],
)
def test_bad_file_is_refused_on_load_naming_the_row(tmp_path, tiny_pairs, tiny_vectors, problem, needle):
    path = _bad_file(tmp_path, tiny_pairs, tiny_vectors, problem)
    with pytest.raises(TeacherFileError) as info:
        build_teacher(_spec(path))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"teacher vectors {path.name}: ")
    assert message.startswith(f"teacher vectors {path.name}: row 5 (")
    assert " ".join(tiny_pairs[5][0].split())[:40] in message
    assert needle in message


def test_unknown_kind_is_refused(tmp_path, tiny_pairs, tiny_vectors):
    path = write_vectors(tmp_path / "v.jsonl", [tiny_pairs[0][0]] * 2, ["query", "passage"], tiny_vectors[:2])
    with pytest.raises(TeacherFileError, match=r"row 1 \(.*\): kind is 'passage', not 'query' or 'document'"):
        build_teacher(_spec(path))


def test_unnormalised_file_is_fine_when_not_declared(tmp_path, tiny_pairs, tiny_vectors):
    path = _bad_file(tmp_path, tiny_pairs, tiny_vectors, "norm")
    assert len(build_teacher(_spec(path, normalize=False))) == len(tiny_pairs)


def test_whole_array_of_the_wrong_dimension(tmp_path, tiny_pairs, tiny_vectors):
    texts = [t for t, _ in tiny_pairs]
    path = write_vectors(tmp_path / "v.npy", texts, [None] * len(texts), tiny_vectors)
    with pytest.raises(TeacherFileError, match="row 0 .*: 384 values, expected 768"):
        build_teacher(_spec(path, dim=768))


def test_missing_text_names_it(tmp_path, tiny_pairs, tiny_vectors):
    path = _bad_file(tmp_path, tiny_pairs, tiny_vectors, "missing")
    teacher = build_teacher(_spec(path))
    text, kind = tiny_pairs[5]
    with pytest.raises(MissingTeacherTextError) as info:
        EmbeddingCache(teacher, tmp_path / "cache").embed([t for t, _ in tiny_pairs], kind=kind, progress=False)
    message = str(info.value)
    assert "\n" not in message and f"no vector for {kind} text" in message and text[:15] in message


@pytest.mark.parametrize("problem", ["missing", "nan"])
def test_distill_refuses_a_bad_file_in_one_line_before_training(tmp_path, tiny_pairs, tiny_vectors, problem):
    path = _bad_file(tmp_path, tiny_pairs, tiny_vectors, problem, suffix=".parquet")
    proc = run_cli("distill", str(write_precomputed_recipe(tmp_path, path)))
    assert proc.returncode == 5, proc.stderr[-2000:]  # TeacherError's exit code
    lines = [line for line in proc.stderr.splitlines() if line.startswith("leaf-hub: error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert f"teacher vectors {path.name}" in lines[0]
    assert ("no vector for" if problem == "missing" else "row 5") in lines[0]
    assert not (tmp_path / "run" / "checkpoints").exists() and not (tmp_path / "run" / "model").exists()
