"""Load a model's exports through sentence-transformers' ``backend=`` and compare them with its torch load.

Run by ``harness.py`` (beside this file) inside a backend venv (``BACKEND_TARGETS``) as
``python -I backend_probe.py JOB`` from an empty working directory, so ``leaf_hub`` cannot be
imported: what loads is what a user of stock sentence-transformers + optimum gets. Standard library
+ numpy + sentence-transformers only; importable on Python 3.10.

JOB is a JSON file::

    {"model": path or repo id, "revision": str | null, "texts": [...], "prompt_names": ["query"],
     "variants": [{"backend": "onnx", "file_name": "onnx/model.onnx" | null}, ...],
     "speed": {"texts": [...], "repeats": 3, "batch_size": 32, "prompt_name": "query"} | null,
     "out": dir}

The torch model is loaded first (variant 0), then each variant with
``SentenceTransformer(model, backend=..., model_kwargs={"file_name": ...})`` (no ``model_kwargs`` when
``file_name`` is null: sentence-transformers' automatic file selection). Writes ``out/result.json``
(versions, one entry per variant: ok, error, load seconds, whether sentence-transformers exported
the model itself instead of loading a file, the graph file it loaded, speed) and
``out/embeddings.npz`` (``v<i>__plain`` and ``v<i>__<prompt>`` per loaded variant, ``v0`` = torch).

Speed (when asked): every loaded variant encodes the speed texts with the prompt, in turn, for
``repeats`` rounds (interleaved, so a change of machine load hits all alike); the fastest round of
each is kept, with the load average before and after.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import time
import traceback


class _Capture(logging.Handler):
    """Keeps sentence-transformers' warnings (e.g. "No 'model.onnx' found ... Exporting the model")."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _versions() -> dict:
    from importlib import metadata

    names = (
        "sentence-transformers",
        "transformers",
        "torch",
        "huggingface_hub",
        "tokenizers",
        "optimum",
        "optimum-onnx",
        "optimum-intel",
        "onnxruntime",
        "onnx",
        "openvino",
        "nncf",
        "numpy",
    )
    out = {"python": sys.version.split()[0]}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _loaded_file(model) -> str | None:
    """The graph file an ONNX Runtime / OpenVINO backend model runs, where the object tells it."""
    inner = getattr(model[0], "auto_model", None)
    session = getattr(inner, "session", None) or getattr(inner, "model", None)
    path = getattr(session, "_model_path", None)
    if path:
        return str(path)
    return None


def _error(e: BaseException) -> str:
    lines = [line for line in traceback.format_exception_only(type(e), e) if line.strip()]
    return " ".join((lines[-1].strip() if lines else type(e).__name__).split())[:500]


def main(job_path: str) -> int:
    with open(job_path, encoding="utf-8") as fh:
        job = json.load(fh)
    out = job["out"]
    result = {"ok": False, "error": None, "leaf_hub_importable": importlib.util.find_spec("leaf_hub") is not None}
    variants = [{"backend": "torch", "file_name": None}, *job.get("variants", [])]
    entries = [dict(v, ok=False, error=None) for v in variants]
    result["variants"] = entries
    arrays = {}
    try:
        import numpy as np
        import torch
        from sentence_transformers import SentenceTransformer

        result["versions"] = _versions()
        result["torch_threads"] = torch.get_num_threads()
        capture = _Capture()
        for name in ("sentence_transformers", "optimum"):
            logging.getLogger(name).addHandler(capture)
        models = {}
        for i, variant in enumerate(variants):
            entry = entries[i]
            kwargs = {"device": "cpu"}
            if job.get("revision"):
                kwargs["revision"] = job["revision"]
            if variant["backend"] != "torch":
                kwargs["backend"] = variant["backend"]
                if variant.get("file_name"):
                    kwargs["model_kwargs"] = {"file_name": variant["file_name"]}
            capture.messages.clear()
            start = time.perf_counter()
            try:
                torch.manual_seed(0)
                model = SentenceTransformer(job["model"], **kwargs)
                entry["load_seconds"] = round(time.perf_counter() - start, 3)
                entry["exported_by_sentence_transformers"] = any("Exporting the model" in m for m in capture.messages)
                entry["loaded_file"] = _loaded_file(model)
                entry["warnings"] = [" ".join(m.split())[:300] for m in capture.messages]
                texts = job["texts"]
                arrays[f"v{i}__plain"] = model.encode(texts, batch_size=16, convert_to_numpy=True)
                for prompt in job.get("prompt_names", []):
                    arrays[f"v{i}__{prompt}"] = model.encode(
                        texts, prompt_name=prompt, batch_size=16, convert_to_numpy=True
                    )
                entry["ok"] = True
                models[i] = model
            except Exception as e:  # every failure is data: the report shows it as a row
                entry["error"] = _error(e)
                entry["traceback"] = traceback.format_exc()[-4000:]
                if i == 0:
                    raise
        speed = job.get("speed")
        if speed:
            best = {i: float("inf") for i in models}
            texts = speed["texts"]
            prompt = speed.get("prompt_name")
            result["speed_load_average_before"] = [round(x, 2) for x in os.getloadavg()]
            for model in models.values():  # warm-up: first calls compile / allocate
                model.encode(texts[: speed["batch_size"]], prompt_name=prompt, batch_size=speed["batch_size"])
            for _ in range(int(speed["repeats"])):
                for i, model in models.items():
                    start = time.perf_counter()
                    model.encode(texts, prompt_name=prompt, batch_size=speed["batch_size"])
                    best[i] = min(best[i], time.perf_counter() - start)
            result["speed_load_average_after"] = [round(x, 2) for x in os.getloadavg()]
            for i, seconds in best.items():
                entries[i]["speed_seconds"] = round(seconds, 4)
                entries[i]["texts_per_s"] = round(len(texts) / seconds, 1)
        np.savez(f"{out}/embeddings.npz", **{k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()})
        result["ok"] = True
    except Exception as e:
        result["error"] = _error(e)
        result["traceback"] = traceback.format_exc()[-4000:]
    with open(f"{out}/result.json", "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
