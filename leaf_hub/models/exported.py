"""A student run from an exported graph: what an export is, and the encoder that runs one.

An export (:class:`ExportFile`) holds the student's Transformer alone, with the inputs and the
``last_hidden_state`` output that sentence-transformers' own ONNX/OpenVINO backends (through
optimum) read, at the paths they look in (:data:`ONNX_FP32`, :data:`ONNX_INT8`,
:data:`OPENVINO_INT8`). :mod:`leaf_hub.export` writes them; this module runs them.

:class:`ExportedStudent` runs one: the folder's tokenizer and prompts, the exported graph in
onnxruntime or OpenVINO, then the folder's own Pooling/Dense/Normalize modules. It is a
:class:`~leaf_hub.encoders.Teacher`, so the evaluation code and the speed timer take it as is.
:func:`export_cosines` compares its vectors with the torch model's: an fp32 export below
:data:`MIN_EXPORT_COSINE` is not the same model.

Example:
    >>> graph = "runs/leaf-ir-mini/exports/onnx/model_qint8_quantized.onnx"
    >>> student = ExportedStudent("runs/leaf-ir-mini/model", graph)  # doctest: +SKIP
    >>> student.encode(["how do leaves grow?"], kind="query").shape  # doctest: +SKIP
    (1, 768)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from leaf_hub.encoders.base import PromptedEncoder
from leaf_hub.errors import ExportError
from leaf_hub.hashing import digest, sha256_file

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from leaf_hub.encoders import TextKind

__all__ = [
    "MIN_EXPORT_COSINE",
    "LEGACY_EXPORT_PATHS",
    "ONNX_FP32",
    "ONNX_INT8",
    "OPENVINO_INT8",
    "ExportFile",
    "ExportedStudent",
    "export_cosines",
    "input_names",
    "load_text_model",
]

#: Paths of the exports inside a model repo, named as sentence-transformers' own export helpers name
#: theirs: ``backend="onnx"`` picks ``onnx/model.onnx`` by itself; a quantised file is picked with
#: ``model_kwargs={"file_name": ...}``, and gets the helpers' suffix for a custom int8 config
#: (``export_dynamic_quantized_onnx_model`` -> ``model_qint8_quantized.onnx``,
#: ``export_static_quantized_openvino_model`` -> ``openvino_model_qint8_quantized.xml``).
ONNX_FP32 = "onnx/model.onnx"
ONNX_INT8 = "onnx/model_qint8_quantized.onnx"
OPENVINO_INT8 = "openvino/openvino_model_qint8_quantized.xml"
#: Names releases before the rename used, and the name each has now (an export record that lists an old
#: name is stale: the export stage writes the exports again under the new names).
LEGACY_EXPORT_PATHS = {
    "onnx/model_qint8.onnx": ONNX_INT8,
    "openvino/openvino_model_qint8.xml": OPENVINO_INT8,
}
#: Smallest cosine between an fp32 export's and the torch model's vector of the same text.
MIN_EXPORT_COSINE = 0.99

#: Runtime an export runs in.
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


def load_text_model(model_dir: Path) -> SentenceTransformer:
    """Load a sentence-transformers folder on the CPU whose first module is a text Transformer.

    Raises:
        ExportError: If it does not load, or its first module is not a text Transformer.
    """
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(str(model_dir), device="cpu")
    except (OSError, ValueError, KeyError) as e:
        raise ExportError(f"cannot load {model_dir} as a sentence-transformers model: {e}") from e
    first = model[0]
    if not hasattr(first, "auto_model") or not hasattr(first, "tokenizer"):
        raise ExportError(f"{model_dir}: the first module is a {type(first).__name__}, not a text Transformer")
    return model


def input_names(model: SentenceTransformer) -> list[str]:
    """The tokenizer outputs a graph of this model takes (``input_ids``, ``attention_mask``[, ``token_type_ids``])."""
    features = model[0].tokenizer(["a"], return_tensors="pt")
    return [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in features]


class ExportedStudent(PromptedEncoder):
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
        self.model = load_text_model(self.model_dir)
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
        self._names = input_names(self.model)
        self._run = self._onnxruntime(threads) if self.runtime == "onnxruntime" else self._openvino(threads)
        self._graph_sha = sha256_file(self.graph)
        # the modules after the graph (pooling, Dense, normalise) run from the folder: they are part of the vectors
        from leaf_hub.assets import model_fingerprint

        self._folder_sha = model_fingerprint(self.model_dir)
        self.fingerprint = self._fingerprint()

    def _fingerprint(self) -> str:
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
