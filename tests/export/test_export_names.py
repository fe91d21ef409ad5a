"""Export file names: sentence-transformers' own naming, stale records under the old names, the card's backend rows."""

from __future__ import annotations

import inspect
import json
import re
import shutil
from pathlib import Path

from leaf_hub.export import BACKEND_REPORT, RECORD, backend_loads, reusable_record
from leaf_hub.hashing import sha256_file
from leaf_hub.models.exported import LEGACY_EXPORT_PATHS, ONNX_FP32, ONNX_INT8, OPENVINO_INT8


def test_names_are_the_ones_sentence_transformers_helpers_write() -> None:
    from onnxruntime.quantization import QuantType
    from sentence_transformers.backend import quantize, utils

    # export_dynamic_quantized_onnx_model names a custom int8 config "<weights dtype>_quantized" ...
    source = inspect.getsource(quantize.export_dynamic_quantized_onnx_model)
    assert 'f"{quantization_config.weights_dtype.name.lower()}_quantized"' in source
    onnx_suffix = f"{QuantType.QInt8.name.lower()}_quantized"  # leaf-hub quantises weights to QInt8
    # ... export_static_quantized_openvino_model defaults to "qint8_quantized" ...
    ov_suffix = inspect.signature(quantize.export_static_quantized_openvino_model).parameters["file_suffix"].default
    # ... and both land in the backend's folder as model_<suffix>.onnx / openvino_model_<suffix>.xml
    saver = inspect.getsource(utils.save_or_push_to_hub_model)
    assert 'f"model_{file_suffix}.onnx"' in saver and 'f"openvino_model_{file_suffix}.xml"' in saver
    assert ONNX_INT8 == f"onnx/model_{onnx_suffix}.onnx" == "onnx/model_qint8_quantized.onnx"
    assert OPENVINO_INT8 == f"openvino/openvino_model_{ov_suffix}.xml"
    # backend="onnx" without file_name looks for <subfolder>/model.onnx, then onnx/model.onnx
    load = inspect.getsource(utils.backend_should_export)
    assert re.search(r"Path\(backend, file_name\)", load) and ONNX_FP32 == "onnx/model.onnx"
    assert set(LEGACY_EXPORT_PATHS.values()) == {ONNX_INT8, OPENVINO_INT8}


def _record(student: Path, out: Path, path: str) -> dict:
    """A record whose one 'export' is a copy of the folder's config.json (only the bookkeeping is tested)."""
    from leaf_hub.assets import model_fingerprint

    (out / path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(student / "config.json", out / path)
    facts = {"sha256": sha256_file(out / path), "size": (out / path).stat().st_size}
    record = {"model_fingerprint": model_fingerprint(student), "exports": [{"path": path, "files": {path: facts}}]}
    (out / RECORD).write_text(json.dumps(record), encoding="utf-8")
    return record


def test_a_record_under_an_old_name_is_stale(student_path: Path, tmp_path: Path) -> None:
    current = _record(student_path, tmp_path / "new", ONNX_INT8)
    assert reusable_record(student_path, tmp_path / "new") == current
    _record(student_path, tmp_path / "old", "onnx/model_qint8.onnx")
    assert reusable_record(student_path, tmp_path / "old") is None  # exported again, under the new name
    (tmp_path / "new" / ONNX_INT8).write_bytes(b"changed")
    assert reusable_record(student_path, tmp_path / "new") is None


def test_card_backends_come_from_the_committed_report(tmp_path: Path) -> None:
    report = json.loads(BACKEND_REPORT.read_text(encoding="utf-8"))
    passed = [row for row in report["rows"] if row["passed"]]
    assert {row["backend"] for row in passed} == {"onnx", "openvino"}
    shipped = [ONNX_FP32, ONNX_INT8, OPENVINO_INT8]
    backends = {b["backend"]: b for b in backend_loads(shipped)}
    onnx, openvino = backends["onnx"], backends["openvino"]
    v = next(row for row in passed if row["backend"] == "onnx")["versions"]
    assert onnx["install"] == (
        f"pip install sentence-transformers=={v['sentence-transformers']} transformers=={v['transformers']} "
        f'"optimum-onnx[onnxruntime]=={v["optimum-onnx"]}"'
    )
    assert f"onnxruntime {v['onnxruntime']}" in onnx["tested"]
    assert [load["file_name"] for load in onnx["loads"]] == [None, ONNX_INT8]  # onnx/model.onnx once
    w = next(row for row in passed if row["backend"] == "openvino")["versions"]
    assert openvino["install"].endswith(f'"optimum-intel[openvino]=={w["optimum-intel"]}"')
    assert openvino["tested"].startswith(f"sentence-transformers {w['sentence-transformers']}, ")
    assert onnx["date"] == report["stamp"]["finished_at"][:10]

    # a file the release does not ship, or a load that failed, is not shown
    assert [b["backend"] for b in backend_loads([ONNX_FP32, ONNX_INT8])] == ["onnx"]
    for row in report["rows"]:
        row["passed"] = row["backend"] != "openvino" and row["precision"] == "fp32"
    failed = tmp_path / "report.json"
    failed.write_text(json.dumps(report), encoding="utf-8")
    (only,) = backend_loads(shipped, failed)
    assert [load["file_name"] for load in only["loads"]] == [None]
    assert backend_loads(shipped, tmp_path / "missing.json") == [] and backend_loads(shipped, None) == []
