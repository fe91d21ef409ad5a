"""The export stage: fast CPU artefacts of a student, made once per model into the run's ``exports/``.

A student is a Transformer followed by light modules (Pooling, Dense projection, Normalize).
Only the Transformer is worth accelerating, so each export holds the Transformer alone, with the
inputs (``input_ids``, ``attention_mask``[, ``token_type_ids``]) and the ``last_hidden_state``
output that sentence-transformers' own ``backend="onnx"`` / ``backend="openvino"`` read (optimum's
``ORTModelForFeatureExtraction`` / ``OVModelForFeatureExtraction`` take ``outputs["last_hidden_state"]``),
named as sentence-transformers' export helpers name theirs (:mod:`leaf_hub.models.exported`, which
also runs them):

* ``onnx/model.onnx``: ``torch.onnx.export`` of the Transformer (fp32); ``backend="onnx"`` loads it
  with no ``file_name``;
* ``onnx/model_qint8_quantized.onnx``: that graph dynamically quantised to int8 weights
  (``onnxruntime.quantization.quantize_dynamic``);
* ``openvino/openvino_model_qint8_quantized.xml`` + ``.bin``: the fp32 graph converted by OpenVINO,
  weights compressed to int8 by NNCF (only when ``openvino`` and ``nncf`` are importable).

Earlier leaf-hub builds named the int8 files ``onnx/model_qint8.onnx`` and
``openvino/openvino_model_qint8.xml`` (:data:`~leaf_hub.models.exported.LEGACY_EXPORT_PATHS`): an
export record that lists those names is stale, and the exports are written again.

:func:`prepare_exports` is the stage the orchestrator runs: it writes the exports into
:attr:`leaf_hub.run_folder.RunFolder.exports_dir` once, has them checked and measured by the
callable it is handed (:func:`leaf_hub.evaluation.exports.measure_exports`), keeps that record
(``exports.json``) beside them and reuses both while the model is unchanged. :func:`card_rows`
formats the record for the card; publishing stages the files and records it in ``release.json``.

Dependency facts (the registry's metadata, late 2026; ``reports/compat_backends.json`` has the loads):
sentence-transformers' ``backend="onnx"`` needs optimum-onnx, whose newest release (0.1.0) declares
``transformers<4.58``: it does not install beside sentence-transformers 6 (``transformers>=5``), and is
tested on sentence-transformers 5.1.2 + transformers 4.57.6. ``backend="openvino"`` needs
optimum-intel, whose 2.2.0 declares ``transformers>=4.51,<5.6``: it installs beside
sentence-transformers 6.3 (pip resolves transformers 5.5.4) and is tested there, but not in this
project's own environment, whose transformers is newer than 5.5. onnxruntime, openvino and nncf
install alongside anything and are what the export itself and ``scripts/bench/bench_exports.py`` use.

Example:
    >>> files = export_student("runs/leaf-ir-mini/model", "runs/leaf-ir-mini/exports")  # doctest: +SKIP
    >>> int8 = files[1].path_in("runs/leaf-ir-mini/exports")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import ExportError
from leaf_hub.hashing import sha256_file
from leaf_hub.models.exported import (
    ONNX_FP32,
    ONNX_INT8,
    OPENVINO_INT8,
    ExportFile,
    input_names,
    load_text_model,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from leaf_hub.run_folder import RunFolder

logger = logging.getLogger(__name__)

__all__ = [
    "BACKEND_REPORT",
    "RECORD",
    "MeasureExports",
    "card_rows",
    "export_student",
    "openvino_available",
    "prepare_exports",
    "reusable_record",
    "backend_loads",
    "write_export_record",
]

#: Checks and measures fresh exports: ``(model_dir, exports root, exports) -> record``
#: (:func:`leaf_hub.evaluation.exports.measure_exports`, bound to its data by the orchestrator).
MeasureExports = Callable[[Path, Path, Sequence[ExportFile]], dict[str, Any]]
#: ONNX opset of the export.
OPSET = 17
#: The paths :func:`export_student` writes.
_CURRENT_PATHS = frozenset({ONNX_FP32, ONNX_INT8, OPENVINO_INT8})


def openvino_available() -> bool:
    """Whether ``openvino`` and ``nncf`` are importable (the OpenVINO int8 export needs both)."""
    return all(importlib.util.find_spec(name) is not None for name in ("openvino", "nncf"))


class _LastHiddenState:
    """``forward(input_ids, attention_mask[, token_type_ids]) -> last_hidden_state`` of a transformers model."""

    @staticmethod
    def wrap(auto_model: Any, names: Sequence[str]) -> Any:
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = auto_model

            def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
                return self.inner(**dict(zip(names, inputs, strict=True)), return_dict=True).last_hidden_state

        return Wrapper().eval()


def _export_fp32(model: SentenceTransformer, target: Path) -> None:
    import torch

    names = input_names(model)
    sample = model[0].tokenizer(["a sample text to trace", "short"], padding=True, return_tensors="pt")
    args = tuple(sample[name] for name in names)
    axes = {name: {0: "batch_size", 1: "sequence_length"} for name in names}
    axes["last_hidden_state"] = {0: "batch_size", 1: "sequence_length"}
    target.parent.mkdir(parents=True, exist_ok=True)
    wrapper = _LastHiddenState.wrap(model[0].auto_model, names)
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            args,
            str(target),
            input_names=list(names),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def _quantize_int8(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)


def _export_openvino(source: Path, target: Path) -> None:
    import nncf
    import openvino as ov

    nncf.set_log_level(logging.ERROR)

    graph = ov.convert_model(str(source))
    graph = nncf.compress_weights(graph, mode=nncf.CompressWeightsMode.INT8_ASYM)
    target.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(graph, str(target), compress_to_fp16=False)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporters' tracer warnings and per-layer info logs (the checks report what matters)."""
    noisy = [logging.getLogger(name) for name in ("nncf", "root", "onnxruntime")]
    levels = [log.level for log in noisy]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for log in noisy:
            log.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for log, level in zip(noisy, levels, strict=True):
                log.setLevel(level)


def export_student(model_dir: str | Path, out_dir: str | Path, *, openvino: bool | None = None) -> list[ExportFile]:
    """Export a student's Transformer to ONNX fp32, ONNX int8 and, if possible, OpenVINO int8.

    Args:
        model_dir: A sentence-transformers folder.
        out_dir: Where ``onnx/`` (and ``openvino/``) are written; may be ``model_dir`` itself.
        openvino: Also write the OpenVINO int8 export (``None``: when :func:`openvino_available`).

    Returns:
        The exports written, fp32 first.

    Raises:
        ExportError: If the folder cannot be loaded or exported, or OpenVINO is asked for but missing.
    """
    model_dir, out = Path(model_dir), Path(out_dir)
    if openvino is None:
        openvino = openvino_available()
    elif openvino and not openvino_available():
        raise ExportError("the OpenVINO export needs the openvino and nncf packages (pip install openvino nncf)")
    model = load_text_model(model_dir)
    written: list[ExportFile] = []
    with tempfile.TemporaryDirectory(prefix="leaf-hub-export-") as tmp, _quiet():
        staging = Path(tmp)
        try:
            _export_fp32(model, staging / ONNX_FP32)
            written.append(ExportFile(ONNX_FP32, "onnxruntime", "fp32", (ONNX_FP32,)))
            _quantize_int8(staging / ONNX_FP32, staging / ONNX_INT8)
            written.append(ExportFile(ONNX_INT8, "onnxruntime", "int8", (ONNX_INT8,)))
            if openvino:
                _export_openvino(staging / ONNX_FP32, staging / OPENVINO_INT8)
                xml_bin = (OPENVINO_INT8, OPENVINO_INT8.removesuffix(".xml") + ".bin")
                written.append(ExportFile(OPENVINO_INT8, "openvino", "int8", xml_bin))
        except ExportError:
            raise
        except Exception as e:  # noqa: BLE001 - exporters raise anything; one line for the user
            raise ExportError(
                f"exporting {model_dir} failed ({type(e).__name__}: {' '.join(str(e).split())[:300]})"
            ) from e
        for export in written:
            for rel in export.files:
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(staging / rel, out / rel)
    return written


def write_export_record(path: str | Path, record: Mapping[str, Any]) -> Path:
    """Write an export record (``exports.json``) as sorted, indented JSON."""
    path = Path(path)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


#: File of the record beside the exports.
RECORD = "exports.json"


def reusable_record(model_dir: str | Path, exports_dir: str | Path) -> dict[str, Any] | None:
    """The export record in ``exports_dir`` if it can be reused for ``model_dir``, else ``None``.

    Reusable: it belongs to the same model (weights fingerprint), lists only the paths this version
    writes (not a :data:`~leaf_hub.models.exported.LEGACY_EXPORT_PATHS` name), and every file still
    has its recorded sha256.
    """
    from leaf_hub.assets import model_fingerprint

    out = Path(exports_dir)
    try:
        record = json.loads((out / RECORD).read_text(encoding="utf-8"))
        if record["model_fingerprint"] != model_fingerprint(Path(model_dir)):
            return None
        if not all(entry["path"] in _CURRENT_PATHS for entry in record["exports"]):
            return None
        intact = all(
            (out / rel).is_file() and sha256_file(out / rel) == facts["sha256"]
            for entry in record["exports"]
            for rel, facts in entry["files"].items()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if intact else None


def prepare_exports(run: RunFolder, *, measure: MeasureExports) -> dict[str, Any]:
    """The export stage: export and check a run's model into its ``exports/`` once; later calls reuse them.

    The record (``exports/exports.json``, this module's own file) is reused while
    :func:`reusable_record` accepts it (same model, current file names, every file intact), so
    publishing the same run twice stages identical files and an identical card. Otherwise the
    folder is emptied, the exports are written (:func:`export_student`) and ``measure`` checks them
    against the torch model and makes the record.

    Args:
        run: The run folder (its ``model/`` is exported into its ``exports/``).
        measure: Checks and measures fresh exports (:data:`MeasureExports`).

    Returns:
        The record (see :func:`leaf_hub.evaluation.exports.measure_exports`).

    Raises:
        ExportError: If exporting fails or an fp32 export fails its check.
    """
    model = run.model_dir
    out = run.exports_dir
    record_path = out / RECORD
    record = reusable_record(model, out)
    if record is not None:
        return record
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    exports = export_student(model, out)
    record = measure(model, out, exports)
    write_export_record(record_path, record)
    return record


#: The report of sentence-transformers' ``backend=`` loads of leaf-hub's exports
#: (``scripts/bench/compat_backends.py``), in the checkout this package runs from.
BACKEND_REPORT = Path(__file__).resolve().parents[1] / "reports" / "compat_backends.json"
#: What each backend's loader is installed with, and which of its versions the card names.
_BACKEND_STACKS = {
    "onnx": ("optimum-onnx[onnxruntime]", ("sentence-transformers", "transformers", "optimum-onnx", "onnxruntime")),
    "openvino": ("optimum-intel[openvino]", ("sentence-transformers", "transformers", "optimum-intel", "openvino")),
}


def backend_loads(files: Sequence[str], report: str | Path | None = BACKEND_REPORT) -> list[dict[str, Any]]:
    """The ``backend=`` loads the card can show: those of ``files`` that the report saw pass.

    Args:
        files: The export paths this release ships (``onnx/model.onnx``, ...).
        report: ``reports/compat_backends.json``; ``None``, missing or unreadable: no rows.

    Returns:
        One entry per backend with a passed load of a shipped file, in the report's order:
        ``backend``, ``install`` (a pip line with the tested versions), ``tested`` (those versions,
        for the text), ``date``, and ``loads`` (``file_name``: ``None`` for automatic selection, or
        the path, each file once; ``precision``; ``cosine_min`` measured against torch in that
        environment).
    """
    if report is None:
        return []
    try:
        data = json.loads(Path(report).read_text(encoding="utf-8"))
        rows = data["rows"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    date = str((data.get("stamp") or {}).get("finished_at") or "")[:10] or None
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        backend, name = row.get("backend"), row.get("file_name")
        if backend not in _BACKEND_STACKS or not row.get("passed") or (name or ONNX_FP32) not in files:
            continue
        extra, names = _BACKEND_STACKS[backend]
        versions = row.get("versions") or {}
        if not all(versions.get(n) for n in names):
            continue
        entry = out.setdefault(
            backend,
            {
                "backend": backend,
                "install": "pip install "
                + " ".join(f'"{extra}=={versions[n]}"' if n == names[2] else f"{n}=={versions[n]}" for n in names[:3]),
                "tested": ", ".join(f"{n} {versions[n]}" for n in names),
                "date": date,
                "loads": [],
            },
        )
        # an explicit onnx/model.onnx is what automatic selection loads: shown once
        if all(load["file_name"] != name and (load["file_name"] or ONNX_FP32) != name for load in entry["loads"]):
            entry["loads"].append(
                {"file_name": name, "precision": row.get("precision"), "cosine_min": f"{row['cosine_min']:.4f}"}
            )
    return list(out.values())


def card_rows(record: Mapping[str, Any], *, backend_report: str | Path | None = BACKEND_REPORT) -> dict[str, Any]:
    """What a model card shows about a run's exports, formatted from the measured record.

    Args:
        record: The export record (:func:`prepare_exports`).
        backend_report: Where :func:`backend_loads` reads the ``backend=`` loads from.

    Returns:
        ``{"rows": [...], "torch": {...}, "score": ..., "speed": ..., "backends": [...]}``: one row per
        export with its size, cosine to torch, STS-B score and change, and query throughput (texts/s
        and x torch); ``backends``: :func:`backend_loads` for the files shipped.
    """
    score = record.get("score") or {}
    speed = record.get("speed") or {}
    seconds = speed.get("seconds") or {}
    texts = speed.get("texts") or 0

    def rate(name: str) -> str | None:
        return f"{texts / seconds[name]:.0f}" if seconds.get(name) else None

    def ratio(name: str) -> str | None:
        return f"{seconds['torch'] / seconds[name]:.1f}" if seconds.get(name) and seconds.get("torch") else None

    def pct(value: float | None) -> str | None:
        return None if value is None else f"{100 * value:.2f}"

    torch_score = score.get("torch")
    rows = []
    for entry in record["exports"]:
        value = (score.get("exports") or {}).get(entry["path"])
        delta = None if value is None or torch_score is None else f"{100 * (value - torch_score):+.2f}"
        rows.append(
            {
                "path": entry["path"],
                "runtime": entry["runtime"],
                "precision": entry["precision"],
                "size_mb": f"{sum(f['size'] for f in entry['files'].values()) / 1e6:.1f}",
                "cosine_min": f"{entry['cosine_to_torch']['min']:.4f}",
                "cosine_mean": f"{entry['cosine_to_torch']['mean']:.4f}",
                "score": pct(value),
                "score_change": delta,
                "texts_per_s": rate(entry["path"]),
                "speedup": ratio(entry["path"]),
                # unrounded, for the card's faster/slower margin (model_card.claims.export_speed_claims)
                "speedup_value": seconds["torch"] / seconds[entry["path"]]
                if seconds.get(entry["path"]) and seconds.get("torch")
                else None,
            }
        )
    return {
        "rows": rows,
        "torch": {"score": pct(torch_score), "texts_per_s": rate("torch")},
        "score": {k: v for k, v in score.items() if k != "exports"},
        "speed": {k: speed.get(k) for k in ("texts", "source", "repeats", "threads", "load_average_after")},
        "openvino": any(e["runtime"] == "openvino" for e in record["exports"]),
        "onnx_file": ONNX_INT8 if any(e["path"] == ONNX_INT8 for e in record["exports"]) else ONNX_FP32,
        "backends": backend_loads([e["path"] for e in record["exports"]], backend_report),
    }
