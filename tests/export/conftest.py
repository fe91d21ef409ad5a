from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def minilm_exports(student_path: Path, module_tmp) -> tuple[Path, list]:
    """all-MiniLM-L6-v2 (real weights) with its ONNX fp32 + int8 exports written into a copy of its folder."""
    from leaf_hub.export import export_student

    folder = module_tmp("minilm") / "model"
    shutil.copytree(student_path, folder)
    return folder, export_student(folder, folder, openvino=False)
