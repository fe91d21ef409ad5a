"""save_portable writes the classic layout, loads back identically, and check_portable catches regressions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from leaf_hub.errors import ModelFolderError, NotPortableError
from leaf_hub.models.portable import CLASSIC_TYPES, check_portable, portability_problems, save_portable


def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_only_classic_types_and_known_keys(portable_folder: Path) -> None:
    modules = _json(portable_folder / "modules.json")
    assert [m["type"] for m in modules] == [
        CLASSIC_TYPES["Transformer"],
        CLASSIC_TYPES["Pooling"],
        CLASSIC_TYPES["Dense"],
        CLASSIC_TYPES["Normalize"],
    ]
    assert all(set(m) == {"idx", "name", "path", "type"} for m in modules)
    assert _json(portable_folder / "sentence_bert_config.json") == {"max_seq_length": 256, "do_lower_case": False}
    pooling = _json(portable_folder / modules[1]["path"] / "config.json")
    assert pooling["word_embedding_dimension"] == 384
    assert pooling["pooling_mode_mean_tokens"] is True
    assert not any(v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens")
    dense_dir = portable_folder / modules[2]["path"]
    assert _json(dense_dir / "config.json") == {
        "activation_function": "torch.nn.modules.linear.Identity",
        "bias": True,
        "in_features": 384,
        "out_features": 768,
    }
    assert sorted(p.name for p in dense_dir.iterdir()) == ["config.json", "model.safetensors"]
    assert not (portable_folder / modules[3]["path"]).exists()  # Normalize needs no folder
    st_config = _json(portable_folder / "config_sentence_transformers.json")
    assert st_config["prompts"] == {"query": "query: ", "document": ""}
    assert st_config["similarity_fn_name"] == "cosine"
    assert "default_prompt_name" in st_config
    weights = [p for p in portable_folder.rglob("*") if p.is_file() and p.suffix in {".bin", ".pt", ".pth"}]
    assert weights == []
    assert portability_problems(portable_folder) == []
    assert check_portable(portable_folder) == portable_folder


def test_reloads_identically_in_process(leaf_model, portable_folder: Path, probe_texts: list[str]) -> None:
    from sentence_transformers import SentenceTransformer

    loaded = SentenceTransformer(str(portable_folder), device="cpu")
    assert [type(m).__name__ for m in loaded] == ["Transformer", "Pooling", "Dense", "Normalize"]
    assert loaded.prompts["query"] == "query: "
    assert loaded.max_seq_length == leaf_model.max_seq_length == 256
    for kwargs in ({}, {"prompt_name": "query"}):
        expected = leaf_model.encode(probe_texts, **kwargs)
        got = loaded.encode(probe_texts, **kwargs)
        assert got.shape == (len(probe_texts), 768)
        np.testing.assert_array_equal(got, expected)
    # the prompt must change the vectors, else the query check would be vacuous
    assert not np.allclose(leaf_model.encode(probe_texts[:3]), leaf_model.encode(probe_texts[:3], prompt_name="query"))


def test_plain_6x_save_is_flagged(leaf_model, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    leaf_model.save(str(raw))
    problems = portability_problems(raw)
    assert any("sentence_transformers.base" in p for p in problems)
    assert any("sentence_bert_config.json: unknown key(s)" in p for p in problems)
    with pytest.raises(NotPortableError, match="is not portable"):
        check_portable(raw)


def test_check_catches_each_kind_of_regression(portable_folder: Path, tmp_path: Path) -> None:
    def broken(edit) -> list[str]:
        folder = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
        shutil.copytree(portable_folder, folder)
        edit(folder)
        return portability_problems(folder)

    def dense_extra_key(folder: Path) -> None:
        path = folder / "2_Dense" / "config.json"
        path.write_text(json.dumps({**_json(path), "module_input_name": "sentence_embedding"}))

    def pickle_weights(folder: Path) -> None:
        (folder / "2_Dense" / "pytorch_model.bin").write_bytes(b"\x80\x04")

    def new_type(folder: Path) -> None:
        modules = _json(folder / "modules.json")
        modules[3]["type"] = "sentence_transformers.base.modules.normalize.Normalize"
        (folder / "modules.json").write_text(json.dumps(modules))

    def st_config_key(folder: Path) -> None:
        path = folder / "config_sentence_transformers.json"
        path.write_text(json.dumps({**_json(path), "default_prompt_name": "passage"}))

    def pooling_new_keys(folder: Path) -> None:
        (folder / "1_Pooling" / "config.json").write_text(
            json.dumps({"embedding_dimension": 384, "pooling_mode": "mean"})
        )

    assert any("2_Dense/config.json: unknown key(s) ['module_input_name']" in p for p in broken(dense_extra_key))
    assert any("pytorch_model.bin: weights must be safetensors only" in p for p in broken(pickle_weights))
    assert any("modules.json[3]: type sentence_transformers.base" in p for p in broken(new_type))
    assert any("default_prompt_name 'passage'" in p for p in broken(st_config_key))
    pooling = broken(pooling_new_keys)
    assert any("unknown key(s) ['embedding_dimension', 'pooling_mode']" in p for p in pooling)
    assert any("missing word_embedding_dimension" in p for p in pooling)


def test_refuses_modules_without_classic_equivalent(student_path: Path, tmp_path: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer, models

    base = SentenceTransformer(str(student_path), device="cpu")
    torch.manual_seed(0)
    residual = models.Dense(384, 384, activation_function=torch.nn.Identity(), use_residual=True)
    model = SentenceTransformer(modules=[base[0], base[1], residual], device="cpu")
    with pytest.raises(NotPortableError, match="use_residual"):
        save_portable(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []  # no half-written staging folder is left behind


def test_overwrites_existing_folder(leaf_model, portable_folder: Path, tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.bin").write_bytes(b"old")
    save_portable(leaf_model, target)
    assert not (target / "stale.bin").exists()
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in portable_folder.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_not_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match="no modules.json"):
        portability_problems(tmp_path)


def test_reference_file_round_trip(leaf_model, probe_texts: list[str], tmp_path: Path) -> None:
    from tests.support.compat.harness import load_reference, reference_embeddings, save_reference

    texts = probe_texts[:3]
    reference = reference_embeddings(leaf_model, texts, ["query"])
    assert reference["plain"].shape == (3, 768)
    path = save_reference(tmp_path / "ref.npz", texts, reference)
    loaded_texts, loaded = load_reference(path)
    assert loaded_texts == texts
    assert sorted(loaded) == ["plain", "query"]
    np.testing.assert_array_equal(loaded["query"], reference["query"])


def test_matrix_targets_cover_every_supported_major() -> None:
    from leaf_hub.models.portable import SUPPORTED_ST_VERSIONS
    from tests.support.compat.harness import TORCH_REQUIREMENT, all_targets

    targets = all_targets()
    assert [t.sentence_transformers.split(".")[0] for t in targets] == [v.split(".")[0] for v in SUPPORTED_ST_VERSIONS]
    assert TORCH_REQUIREMENT == "torch==2.13.0"
    for target in targets:
        assert not any(req.startswith("torch") for req in target.requirements), target  # torch only via the pin
        assert all("==" in req for req in target.requirements), target
