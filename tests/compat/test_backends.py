"""leaf-hub's exports load through sentence-transformers' own ``backend="onnx"`` / ``backend="openvino"``.

Each backend runs in its own cached venv (``tests/support/compat/harness.py``, ``BACKEND_TARGETS``):
sentence-transformers 5.1.2 + transformers 4.57.6 + optimum[onnxruntime] (optimum-onnx pins
transformers<4.58), and sentence-transformers 6.3.0 + transformers 5.5.4 + optimum-intel[openvino]
2.2.0. The probe runs there as ``python -I`` (no ``leaf_hub``) and compares each text's vector with
the torch backend's in the same venv.

Cold (no venvs) this module builds both venvs first: about 2.5 min each on the shared 2-core machine
(pip, mostly downloads and unpacking); warm it exports once and loads (~1 min).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leaf_hub.models.exported import MIN_EXPORT_COSINE, ONNX_FP32, ONNX_INT8, OPENVINO_INT8
from tests.support.compat.harness import INT8_SANITY_COSINE, BackendVariant, run_backends

pytestmark = pytest.mark.slow

#: An fp32 graph whose output is named ``token_embeddings``: what optimum cannot read.
RENAMED_OUTPUT = "onnx/model_renamed_output.onnx"


@pytest.fixture(scope="module")
def exported_folder(leaf_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The leaf-shaped model saved portably, exported with leaf-hub's exporter into its own folder."""
    from leaf_hub.export import export_student, openvino_available
    from leaf_hub.models.portable import save_portable

    assert openvino_available(), "the dev environment installs openvino and nncf"
    folder = save_portable(leaf_model, tmp_path_factory.mktemp("backends") / "model")
    export_student(folder, folder)
    return folder


def _rename_output(folder: Path) -> None:
    """Copy the fp32 graph with its ``last_hidden_state`` output renamed (the control)."""
    import onnx

    graph = onnx.load(str(folder / ONNX_FP32))
    for node in graph.graph.node:
        node.output[:] = ["token_embeddings" if name == "last_hidden_state" else name for name in node.output]
    for output in graph.graph.output:
        if output.name == "last_hidden_state":
            output.name = "token_embeddings"
    onnx.save(graph, str(folder / RENAMED_OUTPUT))


def test_onnx_backend_loads_the_exports(exported_folder: Path, probe_texts: list[str]) -> None:
    _rename_output(exported_folder)
    try:
        rows = run_backends(
            exported_folder,
            probe_texts,
            {
                "st-5.1-onnx": [
                    BackendVariant("onnx", None, "fp32"),  # automatic file selection
                    BackendVariant("onnx", ONNX_INT8, "int8"),
                    BackendVariant("onnx", RENAMED_OUTPUT, "fp32"),
                ]
            },
        )
    finally:
        (exported_folder / RENAMED_OUTPUT).unlink()
    auto, int8, renamed = rows
    summary = [(r.file_name, r.loaded_ok, r.cosine_min, r.error) for r in rows]
    assert auto.versions["sentence-transformers"] == "5.1.2" and auto.versions["optimum-onnx"], summary
    # sentence-transformers found onnx/model.onnx by itself, and did not export the model on its own
    assert auto.loaded_ok and auto.exported_by_sentence_transformers is False, summary
    assert auto.loaded_file and auto.loaded_file.endswith(ONNX_FP32), summary
    assert auto.cosine_min >= MIN_EXPORT_COSINE and auto.passed, summary
    assert set(auto.cosine_by_prompt) == {"plain", "query"}, summary
    assert int8.loaded_ok and int8.loaded_file.endswith(ONNX_INT8), summary
    assert INT8_SANITY_COSINE <= int8.cosine_min < auto.cosine_min, summary  # quantised, still the same model
    assert int8.passed, summary
    # the control: optimum reads outputs["last_hidden_state"]; a graph without it does not encode
    assert not renamed.loaded_ok and not renamed.passed, summary
    assert "last_hidden_state" in (renamed.error or ""), summary


def test_openvino_backend_loads_the_int8_export(exported_folder: Path, probe_texts: list[str]) -> None:
    (row,) = run_backends(
        exported_folder, probe_texts, {"st-6-openvino": [BackendVariant("openvino", OPENVINO_INT8, "int8")]}
    )
    summary = (row.versions, row.cosine_min, row.warnings, row.error)
    assert row.versions["sentence-transformers"].startswith("6.") and row.versions["optimum-intel"], summary
    assert row.versions["transformers"].startswith("5."), summary
    assert row.loaded_ok and row.exported_by_sentence_transformers is False, summary
    assert INT8_SANITY_COSINE <= row.cosine_min < 0.99999, summary
    assert row.passed, summary
