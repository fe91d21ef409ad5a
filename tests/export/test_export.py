"""ONNX exports of a real student: the layout, onnxruntime, and vectors against torch."""

from __future__ import annotations

import numpy as np
import pytest

from leaf_hub.encoders import SentenceTransformerTeacher
from leaf_hub.errors import ExportError
from leaf_hub.export import export_student, openvino_available
from leaf_hub.models.exported import MIN_EXPORT_COSINE, ONNX_FP32, ONNX_INT8, ExportedStudent, export_cosines


def test_layout_and_plain_onnxruntime(minilm_exports, real_queries):
    import onnxruntime as ort
    from transformers import AutoTokenizer

    folder, exports = minilm_exports
    assert [(e.path, e.precision, e.runtime) for e in exports] == [
        (ONNX_FP32, "fp32", "onnxruntime"),
        (ONNX_INT8, "int8", "onnxruntime"),
    ]
    assert (folder / ONNX_INT8).stat().st_size < 0.4 * (folder / ONNX_FP32).stat().st_size
    # the layout sentence-transformers' ONNX backend reads: the Transformer alone, last_hidden_state out
    session = ort.InferenceSession(str(folder / ONNX_FP32), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask", "token_type_ids"]
    assert [o.name for o in session.get_outputs()] == ["last_hidden_state"]
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    batch = tokenizer(real_queries[:6], padding=True, return_tensors="np")
    hidden = session.run(["last_hidden_state"], {k: batch[k].astype(np.int64) for k in batch})[0]
    mask = batch["attention_mask"][..., None]
    pooled = (hidden * mask).sum(1) / mask.sum(1)  # the model's mean pooling, then Normalize
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    torch_vectors = SentenceTransformerTeacher(folder).encode(real_queries[:6])
    assert np.min(np.sum(pooled * torch_vectors, axis=1)) >= 0.9999


def test_fp32_matches_torch_and_int8_is_close_but_quantised(minilm_exports, real_queries, real_sentences):
    folder, _ = minilm_exports
    texts = real_queries[:24] + real_sentences[:24]  # padding across lengths within each batch
    fp32 = export_cosines(folder, folder / ONNX_FP32, texts)
    int8 = export_cosines(folder, folder / ONNX_INT8, texts)
    assert fp32["min"] >= MIN_EXPORT_COSINE and fp32["min"] > 0.9999
    assert int8["min"] >= 0.95 and int8["mean"] < fp32["mean"] - 1e-4  # quantised, and still the same model
    a = ExportedStudent(folder, folder / ONNX_FP32, batch_size=7).encode(texts)
    b = ExportedStudent(folder, folder / ONNX_FP32, batch_size=48).encode(texts)
    np.testing.assert_allclose(a, b, atol=1e-4)  # batching and padding do not change a vector


def test_exported_student_speaks_the_teacher_protocol(minilm_exports, real_queries):
    folder, _ = minilm_exports
    student = ExportedStudent(folder, folder / ONNX_INT8)
    assert student.dim == 384 and student.runtime == "onnxruntime" and student.prompts["query"] == ""
    prompted = student.with_prompts(query_prompt="query: ")
    assert prompted.fingerprint != student.fingerprint
    assert not np.allclose(prompted.encode(real_queries[:2], "query"), student.encode(real_queries[:2], "query"))
    np.testing.assert_allclose(prompted.encode(real_queries[:2], "document"), student.encode(real_queries[:2]))


def test_the_fingerprint_covers_the_modules_after_the_graph(tmp_path, minilm_exports, real_queries):
    """Same graph, another head (CLS instead of mean pooling): other vectors, so another cache key."""
    import json
    import shutil

    folder, _ = minilm_exports
    other = tmp_path / "cls"
    shutil.copytree(folder, other)
    config = other / "1_Pooling" / "config.json"
    pooling = json.loads(config.read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    config.write_text(json.dumps(pooling))
    mean, cls = ExportedStudent(folder, folder / ONNX_INT8), ExportedStudent(other, folder / ONNX_INT8)
    assert mean.fingerprint != cls.fingerprint
    assert not np.allclose(mean.encode(real_queries[:2]), cls.encode(real_queries[:2]))
    assert ExportedStudent(folder, folder / ONNX_INT8).fingerprint == mean.fingerprint  # stable


def test_missing_export_or_folder_is_one_line(tmp_path, minilm_exports):
    folder, _ = minilm_exports
    with pytest.raises(ExportError, match="export not found"):
        ExportedStudent(folder, tmp_path / "nope.onnx")
    with pytest.raises(ExportError, match="cannot load"):
        export_student(tmp_path, tmp_path / "out", openvino=False)


@pytest.mark.slow
@pytest.mark.required  # the only check of the OpenVINO export: CI fails if it skips (openvino is in the dev extra)
@pytest.mark.skipif(not openvino_available(), reason="openvino / nncf not installed")
def test_openvino_int8_matches_torch(minilm_exports, tmp_path, real_queries):
    from leaf_hub.export import _export_openvino
    from leaf_hub.models.exported import OPENVINO_INT8

    folder, _ = minilm_exports
    _export_openvino(folder / ONNX_FP32, tmp_path / OPENVINO_INT8)
    assert (tmp_path / OPENVINO_INT8).with_suffix(".bin").stat().st_size < 0.4 * (folder / ONNX_FP32).stat().st_size
    student = ExportedStudent(folder, tmp_path / OPENVINO_INT8)
    assert student.runtime == "openvino"
    cosine = np.sum(student.encode(real_queries[:16]) * SentenceTransformerTeacher(folder).encode(real_queries[:16]), 1)
    assert cosine.min() >= 0.99
