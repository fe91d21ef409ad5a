"""Fast CPU artefacts of a student: ONNX fp32, ONNX int8 and (where it installs) OpenVINO int8.

A student is a Transformer followed by light modules (Pooling, Dense projection, Normalize).
Only the Transformer is worth accelerating, so each export holds the Transformer alone, with the
inputs and the ``last_hidden_state`` output that sentence-transformers' own ONNX/OpenVINO backends
(through optimum) read, laid out as they look for it:

* ``onnx/model.onnx``: ``torch.onnx.export`` of the Transformer (fp32);
* ``onnx/model_qint8.onnx``: that graph dynamically quantised to int8 weights
  (``onnxruntime.quantization.quantize_dynamic``);
* ``openvino/openvino_model_qint8.xml`` + ``.bin``: the fp32 graph converted by OpenVINO, weights
  compressed to int8 by NNCF (only when ``openvino`` and ``nncf`` are importable).

:class:`ExportedStudent` runs one of them: the folder's tokenizer and prompts, the exported graph
in onnxruntime or OpenVINO, then the folder's own Pooling/Dense/Normalize modules. It is a
:class:`~leaf_hub.encoders.Teacher`, so the evaluation code and the speed timer take it as is.

Dependency facts (this project's registry, late 2026): sentence-transformers' ``backend="onnx"``
and ``backend="openvino"`` need optimum-onnx / optimum-intel, whose releases pin
``transformers<4.58`` / ``<5.6`` against sentence-transformers 6's ``transformers>=5``; those
loaders are therefore not installed here and not tested. onnxruntime, openvino and nncf install
alongside and are what the tests and ``scripts/bench_exports.py`` run.

Example:
    >>> files = export_student("runs/leaf-ir-mini/model", "runs/leaf-ir-mini/exports")  # doctest: +SKIP
    >>> int8 = files[1].path_in("runs/leaf-ir-mini/exports")  # doctest: +SKIP
    >>> student = ExportedStudent("runs/leaf-ir-mini/model", int8)  # doctest: +SKIP
    >>> student.encode(["how do leaves grow?"], kind="query").shape  # doctest: +SKIP
    (1, 768)
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np

from leaf_hub.errors import ExportError
from leaf_hub.hashing import sha256_file

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from leaf_hub.encoders import TextKind

logger = logging.getLogger(__name__)

__all__ = [
    "MIN_EXPORT_COSINE",
    "ONNX_FP32",
    "ONNX_INT8",
    "OPENVINO_INT8",
    "ExportFile",
    "ExportedStudent",
    "card_rows",
    "copy_exports",
    "export_cosines",
    "export_student",
    "measure_exports",
    "openvino_available",
    "prepare_exports",
]

#: Paths of the exports inside a model repo (the layout sentence-transformers' backends look in).
ONNX_FP32 = "onnx/model.onnx"
ONNX_INT8 = "onnx/model_qint8.onnx"
OPENVINO_INT8 = "openvino/openvino_model_qint8.xml"
#: Smallest cosine between an fp32 export's and the torch model's vector of the same text.
MIN_EXPORT_COSINE = 0.99
#: ONNX opset of the export.
OPSET = 17

Runtime = Literal["onnxruntime", "openvino"]


@dataclass(frozen=True)
class ExportFile:
    """One exported graph.

    Attributes:
        path: Path inside the repo (``onnx/model.onnx``).
        runtime: ``onnxruntime`` or ``openvino``.
        precision: ``fp32`` or ``int8`` (weights).
        files: Every file of the export (an OpenVINO model is ``.xml`` + ``.bin``), repo-relative.
    """

    path: str
    runtime: Runtime
    precision: Literal["fp32", "int8"]
    files: tuple[str, ...]

    def path_in(self, root: str | Path) -> Path:
        """The export's main file under ``root``."""
        return Path(root) / self.path

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["files"] = list(self.files)
        return data


def openvino_available() -> bool:
    """Whether ``openvino`` and ``nncf`` are importable (the OpenVINO int8 export needs both)."""
    return all(importlib.util.find_spec(name) is not None for name in ("openvino", "nncf"))


def _load(model_dir: Path) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(str(model_dir), device="cpu")
    except (OSError, ValueError, KeyError) as e:
        raise ExportError(f"cannot load {model_dir} as a sentence-transformers model: {e}") from e
    first = model[0]
    if not hasattr(first, "auto_model") or not hasattr(first, "tokenizer"):
        raise ExportError(f"{model_dir}: the first module is a {type(first).__name__}, not a text Transformer")
    return model


def _input_names(model: SentenceTransformer) -> list[str]:
    features = model[0].tokenizer(["a"], return_tensors="pt")
    return [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in features]


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

    names = _input_names(model)
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
    model = _load(model_dir)
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


class ExportedStudent:
    """A student whose Transformer runs as an exported graph (a :class:`~leaf_hub.encoders.Teacher`).

    Tokenisation, prompts, token limit and the modules after the Transformer (Pooling, Dense,
    Normalize) are the folder's own; only the Transformer's forward pass is the export's.

    Args:
        model_dir: The sentence-transformers folder the export was made from.
        graph: The export's main file (``.onnx`` or OpenVINO ``.xml``).
        batch_size: Texts per forward pass.
        threads: Intra-op threads of the runtime (``None``: the runtime's default).
        query_prompt: Prepended to queries (``None``: the folder's ``query`` prompt).
        document_prompt: Prepended to documents (``None``: the folder's ``document`` prompt).
    """

    def __init__(
        self,
        model_dir: str | Path,
        graph: str | Path,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.graph = Path(graph)
        if not self.graph.is_file():
            raise ExportError(f"export not found: {self.graph}")
        self.model = _load(self.model_dir)
        pooling = next((m for m in self.model if type(m).__name__ == "Pooling"), None)
        if pooling is not None and getattr(pooling, "include_prompt", True) is False:
            raise ExportError(f"{self.model_dir}: pooling that leaves out the prompt is not supported by exports")
        saved = dict(self.model.prompts or {})
        self.task_prompts = {k: v for k, v in saved.items() if k not in ("query", "document")}
        self.query_prompt = saved.get("query", "") if query_prompt is None else query_prompt
        self.document_prompt = saved.get("document", "") if document_prompt is None else document_prompt
        self.batch_size = batch_size
        self.normalize = True
        self.dim = int(self.model.get_embedding_dimension())
        self.runtime: Runtime = "openvino" if self.graph.suffix == ".xml" else "onnxruntime"
        self._names = _input_names(self.model)
        self._run = self._onnxruntime(threads) if self.runtime == "onnxruntime" else self._openvino(threads)
        self._graph_sha = sha256_file(self.graph)
        # the modules after the graph (pooling, Dense, normalise) run from the folder: they are part of the vectors
        from leaf_hub.assets import model_fingerprint

        self._folder_sha = model_fingerprint(self.model_dir)
        self.fingerprint = self._fingerprint()

    def _fingerprint(self) -> str:
        from leaf_hub.hashing import digest

        return digest(
            "export",
            self._graph_sha,
            self._folder_sha,
            self.dim,
            self.query_prompt,
            self.document_prompt,
            self.model.max_seq_length,
        )

    def _onnxruntime(self, threads: int | None) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(self.graph), options, providers=["CPUExecutionProvider"])
        wanted = {i.name for i in session.get_inputs()}

        def run(features: Mapping[str, np.ndarray]) -> np.ndarray:
            return session.run(["last_hidden_state"], {k: v for k, v in features.items() if k in wanted})[0]

        return run

    def _openvino(self, threads: int | None) -> Any:
        import openvino as ov

        config = {"INFERENCE_NUM_THREADS": threads} if threads else {}
        compiled = ov.Core().compile_model(str(self.graph), "CPU", config)
        names = {p.any_name for p in compiled.inputs}

        def run(features: Mapping[str, np.ndarray]) -> np.ndarray:
            result = compiled({k: v for k, v in features.items() if k in names})
            return np.asarray(result[compiled.output(0)])

        return run

    @property
    def prompts(self) -> dict[str, str]:
        """``{"query": ..., "document": ..., **task_prompts}`` as the folder saved them."""
        return {"query": self.query_prompt, "document": self.document_prompt, **self.task_prompts}

    def with_prompts(self, *, query_prompt: str | None = None, document_prompt: str | None = None) -> Self:
        """The same loaded export with other query/document prompts (and its own fingerprint)."""
        other = copy.copy(self)
        if query_prompt is not None:
            other.query_prompt = query_prompt
        if document_prompt is not None:
            other.document_prompt = document_prompt
        other.fingerprint = other._fingerprint()
        return other

    def encode(self, texts: Sequence[str], kind: TextKind = "document") -> np.ndarray:
        """Embed texts with the prompt of their kind: ``(len(texts), dim)`` float32, L2-normalised."""
        import torch

        prompt = self.query_prompt if kind == "query" else self.document_prompt
        texts = [prompt + t for t in texts]
        tokenizer = self.model[0].tokenizer
        tail = list(self.model)[1:]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Longest first, as sentence-transformers does: similar lengths share a batch (less padding).
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for begin in range(0, len(texts), self.batch_size):
            idx = order[begin : begin + self.batch_size]
            batch = tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.model.max_seq_length,
                return_tensors="np",
            )
            features = {name: np.asarray(batch[name], dtype=np.int64) for name in self._names}
            hidden = self._run(features)
            state: dict[str, Any] = {
                "token_embeddings": torch.from_numpy(np.ascontiguousarray(hidden, dtype=np.float32)),
                "attention_mask": torch.from_numpy(features["attention_mask"]),
            }
            with torch.no_grad():
                for module in tail:
                    state = module(state)
            vectors = state["sentence_embedding"].numpy()
            out[idx] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return out


def export_cosines(model_dir: str | Path, graph: str | Path, texts: Sequence[str]) -> dict[str, float]:
    """Cosine between the export's and the torch model's vectors of ``texts`` (queries and documents).

    Returns:
        ``{"min": ..., "mean": ...}`` over every text, encoded once as a query and once as a document.
    """
    from leaf_hub.encoders import SentenceTransformerTeacher

    exported = ExportedStudent(model_dir, graph)
    torch_model = SentenceTransformerTeacher(
        model_dir,
        query_prompt=exported.query_prompt,
        document_prompt=exported.document_prompt,
        normalize=True,
        device="cpu",
    )
    cosines = []
    for kind in ("query", "document"):
        a = exported.encode(texts, kind=kind)
        b = torch_model.encode(texts, kind=kind)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
        cosines.append(np.sum(a * b, axis=1))
    values = np.concatenate(cosines)
    return {"min": float(values.min()), "mean": float(values.mean())}


def write_export_record(path: str | Path, record: Mapping[str, Any]) -> Path:
    """Write an export record (``exports.json``) as sorted, indented JSON."""
    path = Path(path)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# measured checks of a run's exports (what publish records and the card shows)
# ---------------------------------------------------------------------------------------------

#: STS-B test pairs each export is scored on before publishing (torch on the same pairs).
CHECK_STS_PAIRS = 300
#: Query texts each export is timed on before publishing.
CHECK_SPEED_TEXTS = 64
#: File of the record beside the exports.
RECORD = "exports.json"


def _file_facts(root: Path, export: ExportFile) -> dict[str, Any]:
    return {rel: {"size": (root / rel).stat().st_size, "sha256": sha256_file(root / rel)} for rel in export.files}


def _sts_sentences(data_root: Path, limit: int) -> list[str]:
    from leaf_hub.evaluation.tasks import get_tasks, load_task

    task = get_tasks(["STSBenchmark"], data_root=data_root, split="test", query_limit=limit)[0]
    load_task(task)
    return list(task.dataset["test"]["sentence1"])[:limit]


def _sts_scores(
    model_dir: Path, variants: Mapping[str, ExportedStudent], data_root: Path, pairs: int, work: Path
) -> dict[str, Any]:
    """STS-B main score (test, first ``pairs`` pairs) of torch and of each export, through leaf_hub's evaluation."""
    from leaf_hub.evaluation.run import evaluate_models
    from leaf_hub.recipe import EvalSpec

    torch_score: float | None = None
    scores: dict[str, float | None] = {}
    for name, variant in variants.items():
        settings = EvalSpec(tasks=["STSBenchmark"], modes=["student", "teacher"], query_limit=pairs)
        results = evaluate_models(
            model_dir,
            output_dir=work / name.replace("/", "_"),
            teacher=variant,
            teacher_id=name,
            settings=settings,
            data_root=data_root,
            sweep=False,
            progress=False,
        )
        torch_score = results.score("STSBenchmark", "student")
        scores[name] = results.score("STSBenchmark", "teacher")
    return {"task": "STSBenchmark", "split": "test", "pairs": pairs, "torch": torch_score, "exports": scores}


def measure_exports(
    model_dir: str | Path,
    root: str | Path,
    exports: Sequence[ExportFile],
    *,
    data_root: str | Path | None = None,
    sts_pairs: int = CHECK_STS_PAIRS,
    speed_texts: int = CHECK_SPEED_TEXTS,
    repeats: int = 5,
) -> dict[str, Any]:
    """Check each export against the torch model and measure what the card says about it.

    * cosine with the torch model's vectors of the probe texts (and, when the data is at hand,
      STS-B sentences), as queries and as documents: an fp32 export below
      :data:`MIN_EXPORT_COSINE` is refused;
    * STS-B main score (test split, first ``sts_pairs`` pairs) of torch and of each export;
    * uncached query throughput of torch and of each export on the same texts
      (:func:`leaf_hub.evaluation.speed.time_models`: interleaved repeats, fastest kept).

    Args:
        model_dir: The student folder the exports were made from.
        root: Folder the exports' paths are relative to.
        exports: What :func:`export_student` wrote.
        data_root: Data folder with ``stsb/`` (``None``: the usual lookup; scores are left out,
            with the reason, when it is missing).
        sts_pairs: STS-B pairs scored.
        speed_texts: Texts timed.
        repeats: Timed repeats per model.

    Returns:
        The record (JSON-ready): model fingerprint, one entry per export, scores and speed.

    Raises:
        ExportError: If an fp32 export's vectors differ from torch's (cosine < :data:`MIN_EXPORT_COSINE`).
    """
    from leaf_hub.assets import data_root as find_data_root
    from leaf_hub.assets import model_fingerprint
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.errors import AssetError, EvalError
    from leaf_hub.evaluation.speed import time_models
    from leaf_hub.hub import PROBE_TEXTS

    model_dir, root = Path(model_dir), Path(root)
    texts = list(PROBE_TEXTS)
    source = "leaf_hub.hub.PROBE_TEXTS"
    data: Path | None
    skipped: str | None = None
    try:
        data = find_data_root(data_root)
        texts = _sts_sentences(data, max(speed_texts, 16))
        source = "STS-B test first sentences"
    except (AssetError, EvalError) as e:
        data, skipped = None, f"no STS-B data ({e})"
    record: dict[str, Any] = {"model_fingerprint": model_fingerprint(model_dir), "exports": []}
    variants: dict[str, ExportedStudent] = {}
    for export in exports:
        variant = ExportedStudent(model_dir, export.path_in(root))
        cosine = export_cosines(model_dir, export.path_in(root), list(PROBE_TEXTS) + texts[:32])
        if export.precision == "fp32" and cosine["min"] < MIN_EXPORT_COSINE:
            raise ExportError(
                f"{export.path} embeds texts differently from the torch model: "
                f"min cosine {cosine['min']:.4f} < {MIN_EXPORT_COSINE}"
            )
        variants[export.path] = variant
        entry = export.to_dict()
        entry.update(files=_file_facts(root, export), cosine_to_torch={k: round(v, 6) for k, v in cosine.items()})
        record["exports"].append(entry)
    if data is not None:
        with tempfile.TemporaryDirectory(prefix="leaf-hub-export-eval-") as tmp:
            record["score"] = _sts_scores(model_dir, variants, data, sts_pairs, Path(tmp))
    else:
        record["score"] = {"skipped": skipped}
    torch_model = SentenceTransformerTeacher(model_dir, query_prompt=next(iter(variants.values())).query_prompt)
    speed = time_models(
        {"torch": torch_model, **variants}, texts[:speed_texts], kind="query", repeats=repeats, source=source
    )
    record["speed"] = speed.model_dump(mode="json")
    return record


def prepare_exports(
    model_dir: str | Path, out_dir: str | Path, *, data_root: str | Path | None = None
) -> dict[str, Any]:
    """Export and check ``model_dir`` into ``out_dir`` once; later calls reuse the files.

    The record (``out_dir/exports.json``, this module's own file) is reused while it belongs to
    the same model (weights fingerprint) and every file still has its recorded sha256, so
    publishing the same run twice stages identical files and an identical card. A run keeps its
    exports in :attr:`leaf_hub.run_folder.RunFolder.exports_dir`.

    Returns:
        The record (see :func:`measure_exports`).

    Raises:
        ExportError: If exporting fails or an fp32 export fails its check.
    """
    from leaf_hub.assets import model_fingerprint

    model = Path(model_dir)
    out = Path(out_dir)
    record_path = out / RECORD
    if record_path.is_file():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            same_model = record["model_fingerprint"] == model_fingerprint(model)
            intact = all(
                (out / rel).is_file() and sha256_file(out / rel) == facts["sha256"]
                for entry in record["exports"]
                for rel, facts in entry["files"].items()
            )
        except (OSError, ValueError, KeyError, TypeError):
            same_model = intact = False
        if same_model and intact:
            return record
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    exports = export_student(model, out)
    record = measure_exports(model, out, exports, data_root=data_root)
    write_export_record(record_path, record)
    return record


def copy_exports(record: Mapping[str, Any], source: str | Path, target: str | Path) -> list[str]:
    """Copy every file of a record's exports from ``source`` into ``target`` (a staged repo folder).

    Returns:
        The repo-relative paths copied.

    Raises:
        ExportError: If a file is missing or no longer has its recorded sha256.
    """
    source, target = Path(source), Path(target)
    copied = []
    for entry in record["exports"]:
        for rel, facts in entry["files"].items():
            src = source / rel
            if not src.is_file() or sha256_file(src) != facts["sha256"]:
                raise ExportError(f"export file {src} is missing or changed since it was checked; delete {source}")
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target / rel)
            copied.append(rel)
    return copied


def card_rows(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a model card shows about a run's exports, formatted from the measured record.

    Returns:
        ``{"rows": [...], "torch": {...}, "score": ..., "speed": ...}``: one row per export with its
        size, cosine to torch, STS-B score and change, and query throughput (texts/s and x torch).
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
            }
        )
    return {
        "rows": rows,
        "torch": {"score": pct(torch_score), "texts_per_s": rate("torch")},
        "score": {k: v for k, v in score.items() if k != "exports"},
        "speed": {k: speed.get(k) for k in ("texts", "source", "repeats", "threads", "load_average_after")},
        "openvino": any(e["runtime"] == "openvino" for e in record["exports"]),
        "onnx_file": ONNX_INT8 if any(e["path"] == ONNX_INT8 for e in record["exports"]) else ONNX_FP32,
    }
