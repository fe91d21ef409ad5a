"""Compatibility matrix: load a model with several sentence-transformers releases and compare embeddings.

Not part of the installed package: ``scripts/bench/compat_matrix.py`` and ``tests/compat`` use it (as
``tests.support.compat.harness``, the checkout's root on ``sys.path``).

Each target is its own virtual environment under ``$LEAF_HUB_HOME/compat-venvs/<name>``, built once
with ``python3 -m venv``, then ``pip install torch==2.13.0`` first (the local CPU wheel; pip is
never left to choose torch, which would pull a multi-GB CUDA build), then the target's pinned
sentence-transformers / transformers / huggingface_hub / tokenizers with torch pinned again in the
same resolve. A stamp file records what was installed; a venv whose stamp does not match is
rebuilt, one whose stamp matches is reused (warm runs take seconds per target).

In each venv, ``probe.py`` (beside this file) runs as ``python -I`` from an empty temporary directory, so
``leaf_hub`` cannot be imported: the model loads with stock sentence-transformers alone. It
encodes the probe texts without a prompt and with each prompt name, and the vectors are compared
with reference vectors (the training-time model's) by cosine similarity.

The model is a local folder, or a Hub repo id with a revision and an endpoint (e.g. the model
published to the embedded hub at its tag): the probe then downloads it through
``huggingface_hub`` with ``HF_ENDPOINT`` set and a throwaway ``HF_HOME``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaf_hub.assets import data_root, leaf_hub_home
from leaf_hub.errors import AssetError, LeafHubError
from leaf_hub.hub import RELOAD_MIN_COSINE as MIN_COSINE
from leaf_hub.models.student import build_student

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

__all__ = [
    "BACKEND_OF_TARGET",
    "BACKEND_TARGETS",
    "DEFAULT_TARGETS",
    "LEAF_PROMPTS",
    "TORCH_REQUIREMENT",
    "CompatRow",
    "CompatTarget",
    "current_target",
    "all_targets",
    "BackendRow",
    "BackendVariant",
    "INT8_SANITY_COSINE",
    "run_backends",
    "default_probe_texts",
    "leaf_shaped_model",
    "load_reference",
    "save_reference",
    "ensure_venv",
    "reference_embeddings",
    "run_matrix",
    "write_report",
]

#: Every compat venv gets exactly this torch, installed first (the local CPU wheel).
TORCH_REQUIREMENT = "torch==2.13.0"
_PROBE = Path(__file__).with_name("probe.py")
_STAMP = "leaf-hub-compat.json"
_PIP_TIMEOUT_S = 1800
_PROBE_TIMEOUT_S = 600


@dataclass(frozen=True)
class CompatTarget:
    """One sentence-transformers release line and the pins that make it install and run.

    Attributes:
        name: Folder name of its venv, e.g. ``st-3.4``.
        requirements: pip requirement strings installed after torch.
        uninstall: Distributions removed after the install (a dependency that cannot work beside the
            CPU torch, e.g. torchvision; recorded in the stamp).
    """

    name: str
    requirements: tuple[str, ...]
    uninstall: tuple[str, ...] = ()

    @property
    def sentence_transformers(self) -> str:
        """The pinned sentence-transformers version."""
        for req in self.requirements:
            if req.startswith("sentence-transformers=="):
                return req.split("==", 1)[1]
        return "?"


# sentence-transformers 3.4.1, 4.1.0 and 5.1.2 all declare transformers>=4.41,<5. 4.57.6 is the
# newest 4.x; it needs huggingface_hub<1.0 (0.36.2 is the newest such) and tokenizers<=0.23.0.
# All three load and encode identically with it and torch 2.13 (checked by the matrix itself).
_TRANSFORMERS_4 = ("transformers==4.57.6", "huggingface_hub==0.36.2", "tokenizers==0.22.2")

#: The release lines every leaf-hub model must load on; the current 6.x is added by :func:`current_target`.
DEFAULT_TARGETS: tuple[CompatTarget, ...] = (
    CompatTarget("st-3.4", ("sentence-transformers==3.4.1", *_TRANSFORMERS_4)),
    CompatTarget("st-4.1", ("sentence-transformers==4.1.0", *_TRANSFORMERS_4)),
    CompatTarget("st-5.1", ("sentence-transformers==5.1.2", *_TRANSFORMERS_4)),
)


# The backend environments (``backend="onnx"`` / ``backend="openvino"``), pinned to what pip resolved
# from the registry's metadata (late 2026):
# - optimum-onnx 0.1.0 (the newest; it holds ``optimum.onnxruntime`` since optimum 2.0) declares
#   ``transformers<4.58`` and ``optimum~=2.1.0``, so it cannot sit beside sentence-transformers 6
#   (``transformers>=5``): the ONNX backend is checked on 5.1.2 with transformers 4.57.6, the stack
#   sentence-transformers 5.1's ``[onnx]`` extra (``optimum[onnxruntime]``) resolves to.
# - optimum-intel 2.2.0 declares ``transformers>=4.51,<5.6``, ``huggingface-hub<1.22`` and
#   ``optimum~=2.3.0``: that overlaps sentence-transformers 6.3's ``transformers>=5``, and pip resolves
#   it to transformers 5.5.4 and huggingface_hub 1.21.0, so the OpenVINO backend is checked on 6.3.0.
#   (It cannot share a venv with optimum-onnx: ``optimum~=2.3.0`` against ``~=2.1.0``.)
#: The venvs that load a model's ONNX / OpenVINO exports through sentence-transformers' ``backend=``.
BACKEND_TARGETS: tuple[CompatTarget, ...] = (
    CompatTarget(
        "st-5.1-onnx",
        (
            "sentence-transformers==5.1.2",
            *_TRANSFORMERS_4,
            "optimum[onnxruntime]==2.1.0",
            "optimum-onnx==0.1.0",
            "onnxruntime==1.32.0",
            "onnx==1.23.2",
        ),
    ),
    CompatTarget(
        "st-6-openvino",
        (
            "sentence-transformers==6.3.0",
            "transformers==5.5.4",
            "huggingface_hub==1.21.0",
            "tokenizers==0.22.2",
            "optimum-intel[openvino]==2.2.0",
            "optimum==2.3.0",
            "openvino==2026.4.1",
            "openvino-tokenizers==2026.4.1.0",
            "nncf==3.4.0",
            "torchvision==0.28.0",
        ),
        # optimum-intel requires torchvision but imports it only for vision-language models. The registry
        # has only CUDA builds of it (0.28.0+cu130), whose operators do not load beside the CPU torch, and
        # transformers 5 then fails to import PreTrainedModel at all; without torchvision it imports.
        uninstall=("torchvision",),
    ),
)
#: The backend each :data:`BACKEND_TARGETS` venv loads exports with.
BACKEND_OF_TARGET = {"st-5.1-onnx": "onnx", "st-6-openvino": "openvino"}


def current_target() -> CompatTarget:
    """The sentence-transformers stack leaf-hub itself runs with, pinned to the installed versions."""
    names = ("sentence-transformers", "transformers", "huggingface_hub", "tokenizers")
    versions = {name: metadata.version(name) for name in names}
    major = versions["sentence-transformers"].split(".")[0]
    return CompatTarget(f"st-{major}", tuple(f"{name}=={version}" for name, version in versions.items()))


def all_targets() -> tuple[CompatTarget, ...]:
    """The default release lines plus the current one."""
    return (*DEFAULT_TARGETS, current_target())


@dataclass
class CompatRow:
    """One target's outcome, as written to ``reports/compat_matrix.json``."""

    target: str
    source: str
    sentence_transformers: str | None = None
    transformers: str | None = None
    huggingface_hub: str | None = None
    torch: str | None = None
    loaded_ok: bool = False
    min_cosine: float | None = None
    min_cosine_by_prompt: dict[str, float] = field(default_factory=dict)
    passed: bool = False
    seconds: float = 0.0
    load_encode_seconds: float | None = None
    venv_seconds: float = 0.0
    venv_built: bool = False
    error: str | None = None
    #: A contrast row (e.g. the plain 6.x save) that is expected to fail; not counted in ``all_passed``.
    control: bool = False


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(cmd: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> None:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip() and "WARNING: Location" not in ln]
        raise LeafHubError(f"{' '.join(cmd[:6])} failed (exit {proc.returncode}): {lines[-1] if lines else ''}")


def ensure_venv(target: CompatTarget, root: Path | None = None, *, python: str | None = None) -> tuple[Path, bool]:
    """Return the target's venv, building it first unless a matching one is cached.

    Args:
        target: The release line and its pins.
        root: Folder of the venvs; ``$LEAF_HUB_HOME/compat-venvs`` by default.
        python: Interpreter that creates the venv; the base interpreter of this one by default.

    Returns:
        ``(venv folder, built)`` where ``built`` says whether it was (re)built now.

    Raises:
        LeafHubError: If ``venv`` or ``pip`` fails (the message has pip's last line).
    """
    python = python or _base_python()
    venv = (root or leaf_hub_home() / "compat-venvs") / target.name
    want: dict[str, Any] = {"torch": TORCH_REQUIREMENT, "requirements": list(target.requirements), "python": python}
    if target.uninstall:  # only then: the release-line venvs keep their stamps
        want["uninstall"] = list(target.uninstall)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _locked(venv.with_name(f"{venv.name}.lock")):  # one builder per venv, even across processes
        if _stamp_matches(venv, want):
            return venv, False
        logger.info("building compat venv %s (%s)", venv, ", ".join(target.requirements))
        shutil.rmtree(venv, ignore_errors=True)
        _run([python, "-m", "venv", str(venv)], timeout=300)
        py = str(_venv_python(venv))
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
        env.update({"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONNOUSERSITE": "1"})
        pip = [py, "-m", "pip", "install", "-q"]
        _run([*pip, TORCH_REQUIREMENT], timeout=_PIP_TIMEOUT_S, env=env)
        # torch is pinned again so the resolver can never swap it for another build.
        _run([*pip, TORCH_REQUIREMENT, *target.requirements], timeout=_PIP_TIMEOUT_S, env=env)
        if target.uninstall:
            _run([py, "-m", "pip", "uninstall", "-y", "-q", *target.uninstall], timeout=300, env=env)
        torch_version = TORCH_REQUIREMENT.split("==", 1)[1]
        check = f"import torch, sentence_transformers; assert torch.__version__.split('+')[0] == {torch_version!r}"
        _run([py, "-I", "-c", check], timeout=300, env=env)
        (venv / _STAMP).write_text(json.dumps(want, indent=2), encoding="utf-8")
    return venv, True


def _stamp_matches(venv: Path, want: Mapping[str, Any]) -> bool:
    stamp = venv / _STAMP
    if not (stamp.is_file() and _venv_python(venv).exists()):
        return False
    try:
        return bool(json.loads(stamp.read_text(encoding="utf-8")) == want)
    except json.JSONDecodeError:
        return False


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (a no-op where ``fcntl`` is unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


#: (file under ``distill/``, how many lines) making up :func:`default_probe_texts`.
_PROBE_SOURCES: tuple[tuple[str, int], ...] = (("queries_en.txt", 10), ("corpus_en.txt", 6), ("passages_en.txt", 4))


def default_probe_texts(root: str | Path | None = None) -> list[str]:
    """Real probe texts: the first 10 queries, 6 sentences and 4 long passages (past 256 tokens).

    Args:
        root: The data folder; :func:`leaf_hub.assets.data_root` by default.

    Returns:
        20 texts, in that order.

    Raises:
        AssetError: If a distillation text file is missing.
    """
    folder = data_root(root) / "distill"
    texts: list[str] = []
    for name, count in _PROBE_SOURCES:
        path = folder / name
        if not path.is_file():
            raise AssetError(f"data file not found: {path}")
        taken = 0
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    texts.append(line.strip())
                    taken += 1
                if taken == count:
                    break
    return texts


#: The prompts of a leaf student (the shipped recipes' ``query: `` / empty document prompt).
LEAF_PROMPTS = {"query": "query: ", "document": ""}


def leaf_shaped_model(init: str | Path, *, out_features: int = 768) -> SentenceTransformer:
    """A model with a leaf student's shape, for checking the save path without training one.

    :func:`leaf_hub.models.student.build_student` on CPU: the init's Transformer and Pooling, a
    ``Dense(d, out_features)`` with identity activation and its seeded default initialisation, a
    ``Normalize``, and :data:`LEAF_PROMPTS`.

    Args:
        init: A local sentence-transformers folder (e.g. all-MiniLM-L6-v2).
        out_features: The projection width (the teacher's).

    Returns:
        The model on CPU.
    """
    return build_student(str(init), projection_dim=out_features, prompts=LEAF_PROMPTS, device="cpu")


def reference_embeddings(
    model: SentenceTransformer, texts: Sequence[str], prompt_names: Sequence[str]
) -> dict[str, np.ndarray]:
    """Encode ``texts`` with the training-time model: ``plain`` (no prompt) and one array per prompt name.

    Args:
        model: The in-memory model the vectors are checked against.
        texts: Probe texts.
        prompt_names: Names in ``model.prompts`` to encode with (e.g. ``["query"]``).

    Returns:
        ``{"plain": (n, d) float32, "<prompt name>": (n, d) float32, ...}``.
    """
    import numpy as np

    out = {"plain": np.asarray(model.encode(list(texts), batch_size=16, convert_to_numpy=True), dtype=np.float32)}
    for name in prompt_names:
        vectors = model.encode(list(texts), prompt_name=name, batch_size=16, convert_to_numpy=True)
        out[name] = np.asarray(vectors, dtype=np.float32)
    return out


def save_reference(path: str | Path, texts: Sequence[str], reference: Mapping[str, np.ndarray]) -> Path:
    """Store probe texts and reference vectors in one ``.npz`` (no pickles), for a later matrix run.

    Args:
        path: The ``.npz`` file to write.
        texts: The probe texts.
        reference: Output of :func:`reference_embeddings`.

    Returns:
        The written path.
    """
    import numpy as np

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"emb_{key}": np.asarray(value, dtype=np.float32) for key, value in reference.items()}
    with out.open("wb") as fh:
        np.savez(fh, texts=np.asarray(list(texts), dtype=np.str_), **arrays)
    return out


def load_reference(path: str | Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """Read a file written by :func:`save_reference`.

    Returns:
        ``(texts, reference)``.

    Raises:
        AssetError: If the file is missing or lacks texts or plain vectors.
    """
    import numpy as np

    src = Path(path)
    if not src.is_file():
        raise AssetError(f"reference file not found: {src}")
    with np.load(src, allow_pickle=False) as npz:
        if "texts" not in npz.files or "emb_plain" not in npz.files:
            raise AssetError(f"{src}: expected arrays 'texts' and 'emb_plain'")
        texts = [str(t) for t in npz["texts"]]
        reference = {key[4:]: npz[key] for key in npz.files if key.startswith("emb_")}
    return texts, reference


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    import numpy as np

    if a.shape != b.shape:
        return float("-inf")
    dots = (a.astype(np.float64) * b.astype(np.float64)).sum(axis=1)
    norms = np.linalg.norm(a.astype(np.float64), axis=1) * np.linalg.norm(b.astype(np.float64), axis=1)
    return float((dots / np.maximum(norms, 1e-12)).min())


def _probe_env(endpoint: str | None, hf_home: Path, token: str | None) -> dict[str, str]:
    env = {
        key: os.environ[key]
        for key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
        if key in os.environ
    }
    env.update(
        {
            "HF_HOME": str(hf_home),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
        }
    )
    if endpoint:
        env["HF_ENDPOINT"] = endpoint.rstrip("/")
    else:
        env["HF_HUB_OFFLINE"] = "1"
        env["TRANSFORMERS_OFFLINE"] = "1"
    if token:
        env["HF_TOKEN"] = token
    return env


def probe(
    venv: Path,
    model: str | Path,
    texts: Sequence[str],
    prompt_names: Sequence[str],
    *,
    revision: str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    timeout: float = _PROBE_TIMEOUT_S,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Load ``model`` in ``venv`` (``python -I``, empty cwd) and encode ``texts``.

    Returns:
        The probe's ``result.json`` (``ok``, ``error``, ``versions``, ``seconds``, ...) and its
        vectors (empty when loading failed).
    """
    model_ref = str(Path(model).resolve()) if endpoint is None else str(model)
    job = {"model": model_ref, "revision": revision, "texts": list(texts), "prompt_names": list(prompt_names)}
    result, vectors = _run_script(_PROBE, venv, job, endpoint=endpoint, token=token, timeout=timeout)
    return result, (vectors if result.get("ok") else {})


def run_matrix(
    model: str | Path,
    reference: Mapping[str, np.ndarray],
    texts: Sequence[str],
    *,
    targets: Sequence[CompatTarget] | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    threshold: float = MIN_COSINE,
    venv_root: Path | None = None,
) -> list[CompatRow]:
    """Load ``model`` with every target release and compare its vectors with ``reference``.

    Args:
        model: A local model folder, or a Hub repo id when ``endpoint`` is given.
        reference: ``{"plain": ..., "<prompt>": ...}`` from :func:`reference_embeddings` on the
            training-time model; every key other than ``plain`` is encoded with that prompt name.
        texts: The probe texts the reference was computed on.
        targets: Release lines to check; :func:`all_targets` by default.
        revision: Hub revision (tag, branch or commit) when loading from a hub.
        endpoint: Hub URL (e.g. the embedded hub ``http://127.0.0.1:PORT``); ``None`` loads the
            local folder with ``HF_HUB_OFFLINE=1``.
        token: Hub token for a private repo; passed to the probe as ``HF_TOKEN`` only.
        threshold: Minimum per-text cosine for a row to pass.
        venv_root: Folder of the cached venvs (``$LEAF_HUB_HOME/compat-venvs`` by default).

    Returns:
        One row per target, in order. A failing load or build is a row with ``error`` set, never
        an exception, so the table always shows every target.
    """
    if "plain" not in reference:
        raise ValueError("reference must contain 'plain' (vectors encoded without a prompt)")
    prompt_names = [name for name in reference if name != "plain"]
    source = f"{model}@{revision or 'main'} via {endpoint}" if endpoint else str(model)
    rows: list[CompatRow] = []
    for target in targets if targets is not None else all_targets():
        row = CompatRow(target=target.name, source=source, sentence_transformers=target.sentence_transformers)
        start = time.perf_counter()
        try:
            venv, row.venv_built = ensure_venv(target, venv_root)
        except (LeafHubError, subprocess.TimeoutExpired, OSError) as e:
            row.error = f"venv: {e}"
            row.seconds = round(time.perf_counter() - start, 2)
            rows.append(row)
            continue
        row.venv_seconds = round(time.perf_counter() - start, 2)
        result, vectors = probe(venv, model, texts, prompt_names, revision=revision, endpoint=endpoint, token=token)
        versions = result.get("versions", {})
        row.sentence_transformers = versions.get("sentence_transformers", row.sentence_transformers)
        row.transformers = versions.get("transformers")
        row.huggingface_hub = versions.get("huggingface_hub")
        row.torch = versions.get("torch")
        row.load_encode_seconds = result.get("seconds")
        row.loaded_ok = bool(result.get("ok"))
        row.error = result.get("error")
        if result.get("leaf_hub_importable"):
            row.loaded_ok = False
            row.error = "leaf_hub was importable inside the probe; the check would not be independent"
        if row.loaded_ok:
            row.min_cosine_by_prompt = {key: _min_cosine(reference[key], vectors[key]) for key in reference}
            row.min_cosine = min(row.min_cosine_by_prompt.values())
            row.passed = row.min_cosine >= threshold
            if not row.passed:
                row.error = f"min cosine {row.min_cosine:.6f} < {threshold}"
        row.seconds = round(time.perf_counter() - start, 2)
        logger.info("%s: loaded=%s min_cos=%s (%.1f s)", target.name, row.loaded_ok, row.min_cosine, row.seconds)
        rows.append(row)
    return rows


def _base_python() -> str:
    """A plain interpreter to create venvs with (not this venv's, whose site-packages must not leak)."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return base if Path(base).exists() else "python3"


def write_report(
    rows: Sequence[CompatRow],
    path: str | Path,
    *,
    texts: Sequence[str],
    threshold: float = MIN_COSINE,
    wall_seconds: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write the matrix as JSON (``schema_version`` 1) and return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "schema_version": 1,
        "threshold": threshold,
        "n_texts": len(texts),
        "torch_requirement": TORCH_REQUIREMENT,
        "all_passed": all(row.passed for row in rows if not row.control),
        "wall_seconds": wall_seconds,
        **(dict(extra) if extra else {}),
        "rows": [asdict(row) for row in rows],
    }
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return out


# --- sentence-transformers' own backends (backend="onnx" / "openvino") on a model's exports -----------

_BACKEND_PROBE = Path(__file__).with_name("backend_probe.py")
#: Smallest per-text cosine, backend vs torch, of an int8 export: a sanity floor (the export is still the
#: same model), not a quality claim; the measured value is what gets recorded. fp32 exports must reach
#: :data:`leaf_hub.models.exported.MIN_EXPORT_COSINE` (0.99).
INT8_SANITY_COSINE = 0.90


@dataclass(frozen=True)
class BackendVariant:
    """One way of loading a model's export: ``SentenceTransformer(m, backend=..., model_kwargs={"file_name": ...})``.

    Attributes:
        backend: ``onnx`` or ``openvino``.
        file_name: Repo-relative graph file, or ``None`` for sentence-transformers' automatic selection.
        precision: ``fp32`` or ``int8``: which cosine floor applies.
    """

    backend: str
    file_name: str | None
    precision: str

    @property
    def floor(self) -> float:
        """The cosine floor this variant must reach."""
        from leaf_hub.models.exported import MIN_EXPORT_COSINE

        return MIN_EXPORT_COSINE if self.precision == "fp32" else INT8_SANITY_COSINE


@dataclass
class BackendRow:
    """One load of an export through ``backend=``, as written to ``reports/compat_backends.json``."""

    target: str
    source: str
    backend: str
    file_name: str | None
    precision: str
    floor: float
    versions: dict[str, str | None] = field(default_factory=dict)
    loaded_ok: bool = False
    #: sentence-transformers exported the model itself (no file matched): the export was not what loaded.
    exported_by_sentence_transformers: bool | None = None
    loaded_file: str | None = None
    #: Per-text cosine with the torch model in the same venv: min and mean over texts and prompts.
    cosine_min: float | None = None
    cosine_mean: float | None = None
    cosine_by_prompt: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Min cosine with the caller's reference vectors (the training-time model), when given.
    reference_cosine_min: float | None = None
    load_seconds: float | None = None
    texts_per_s: float | None = None
    torch_texts_per_s: float | None = None
    speedup: float | None = None
    passed: bool = False
    venv_seconds: float = 0.0
    venv_built: bool = False
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    import numpy as np

    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    norms = np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
    return (a64 * b64).sum(axis=1) / np.maximum(norms, 1e-12)


def _run_script(
    script: Path,
    venv: Path,
    job: Mapping[str, Any],
    *,
    endpoint: str | None,
    token: str | None,
    timeout: float,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Run a probe script in ``venv`` (``python -I``, empty cwd, throwaway ``HF_HOME``); its result and arrays."""
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="leaf-hub-compat-") as tmp:
        work = Path(tmp)
        for name in ("cwd", "out", "hf_home"):
            (work / name).mkdir()
        local = work / script.name
        shutil.copyfile(script, local)
        (work / "job.json").write_text(json.dumps({**job, "out": str(work / "out")}), encoding="utf-8")
        cmd = [str(_venv_python(venv)), "-I", str(local), str(work / "job.json")]
        env = _probe_env(endpoint, work / "hf_home", token)
        try:
            proc = subprocess.run(cmd, cwd=work / "cwd", env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"ok": False, "error": f"timed out after {timeout:.0f} s"}, {}
        result_path = work / "out" / "result.json"
        if not result_path.is_file():
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            return {"ok": False, "error": lines[-1] if lines else f"probe exited {proc.returncode}"}, {}
        result = json.loads(result_path.read_text(encoding="utf-8"))
        vectors: dict[str, np.ndarray] = {}
        if (work / "out" / "embeddings.npz").is_file():
            with np.load(work / "out" / "embeddings.npz") as npz:
                vectors = {key: npz[key] for key in npz.files}
        return result, vectors


def run_backends(
    model: str | Path,
    texts: Sequence[str],
    variants: Mapping[str, Sequence[BackendVariant]],
    *,
    prompt_names: Sequence[str] = ("query",),
    reference: Mapping[str, np.ndarray] | None = None,
    speed: Mapping[str, Any] | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    venv_root: Path | None = None,
    timeout: float = _PROBE_TIMEOUT_S,
) -> list[BackendRow]:
    """Load ``model``'s exports with ``backend=`` in each backend venv and compare with its torch load there.

    Args:
        model: A local model folder holding ``onnx/`` / ``openvino/``, or a Hub repo id when
            ``endpoint`` is given.
        texts: Probe texts; each is encoded without a prompt and with each of ``prompt_names``.
        variants: ``{target name: [variant, ...]}``, target names from :data:`BACKEND_TARGETS`.
        prompt_names: Prompt names the model defines (``query``).
        reference: Optional ``{"plain": ..., "<prompt>": ...}`` vectors of the training-time model
            (:func:`reference_embeddings`); the rows then also record the min cosine against them.
        speed: ``{"texts": [...], "repeats": n, "batch_size": b, "prompt_name": "query"}`` to time
            queries (interleaved with torch in the same venv), or ``None``.
        revision: Hub revision (tag) when loading from a hub.
        endpoint: Hub URL; ``None`` loads the local folder offline.
        token: Hub token, passed to the probe as ``HF_TOKEN`` only.
        venv_root: Folder of the cached venvs (``$LEAF_HUB_HOME/compat-venvs`` by default).
        timeout: Seconds one venv's probe may take.

    Returns:
        One row per (target, variant), in order. A failed build or load is a row with ``error`` set.
    """
    targets = {target.name: target for target in BACKEND_TARGETS}
    source = f"{model}@{revision or 'main'} via {endpoint}" if endpoint else str(model)
    model_ref = str(Path(model).resolve()) if endpoint is None else str(model)
    rows: list[BackendRow] = []
    for name, wanted in variants.items():
        target = targets[name]
        start = time.perf_counter()
        base = [BackendRow(name, source, v.backend, v.file_name, v.precision, v.floor) for v in wanted]
        try:
            venv, built = ensure_venv(target, venv_root)
        except (LeafHubError, subprocess.TimeoutExpired, OSError) as e:
            for row in base:
                row.error = f"venv: {e}"
            rows.extend(base)
            continue
        venv_seconds = round(time.perf_counter() - start, 2)
        job = {
            "model": model_ref,
            "revision": revision,
            "texts": list(texts),
            "prompt_names": list(prompt_names),
            "variants": [{"backend": v.backend, "file_name": v.file_name} for v in wanted],
            "speed": dict(speed) if speed else None,
        }
        result, vectors = _run_script(_BACKEND_PROBE, venv, job, endpoint=endpoint, token=token, timeout=timeout)
        entries = result.get("variants") or [{} for _ in range(len(wanted) + 1)]
        torch_entry = entries[0]
        for i, row in enumerate(base, start=1):
            entry = entries[i] if i < len(entries) else {}
            row.venv_seconds, row.venv_built = venv_seconds, built
            row.versions = result.get("versions", {})
            row.loaded_ok = bool(entry.get("ok"))
            row.error = entry.get("error") or (None if result.get("ok") else result.get("error"))
            row.exported_by_sentence_transformers = entry.get("exported_by_sentence_transformers")
            row.loaded_file = entry.get("loaded_file")
            row.load_seconds = entry.get("load_seconds")
            row.warnings = entry.get("warnings", [])
            row.texts_per_s = entry.get("texts_per_s")
            row.torch_texts_per_s = torch_entry.get("texts_per_s")
            if row.texts_per_s and row.torch_texts_per_s:
                row.speedup = round(row.texts_per_s / row.torch_texts_per_s, 2)
            if result.get("leaf_hub_importable"):
                row.loaded_ok = False
                row.error = "leaf_hub was importable inside the probe; the check would not be independent"
            if not row.loaded_ok:
                continue
            every = []
            for prompt in ("plain", *prompt_names):
                cos = _cosines(vectors[f"v{i}__{prompt}"], vectors[f"v0__{prompt}"])
                row.cosine_by_prompt[prompt] = {"min": float(cos.min()), "mean": float(cos.mean())}
                every.append(cos)
                if reference is not None and prompt in reference:
                    ref_min = float(_cosines(vectors[f"v{i}__{prompt}"], reference[prompt]).min())
                    row.reference_cosine_min = min(ref_min, row.reference_cosine_min or ref_min)
            row.cosine_min = min(float(c.min()) for c in every)
            row.cosine_mean = float(sum(float(c.sum()) for c in every) / sum(len(c) for c in every))
            row.passed = row.cosine_min >= row.floor and not row.exported_by_sentence_transformers
            if row.exported_by_sentence_transformers:
                row.error = "sentence-transformers exported the model itself: no export file was selected"
            elif not row.passed:
                row.error = f"min cosine {row.cosine_min:.6f} < {row.floor}"
        logger.info("%s: %s", name, [(r.file_name, r.loaded_ok, r.cosine_min) for r in base])
        rows.extend(base)
    return rows
