"""Load a model with whatever sentence-transformers this interpreter has, and encode probe texts.

Run by ``harness.py`` (beside this file) inside each compat venv as ``python -I probe.py JOB``
from an empty working directory, so that ``leaf_hub`` cannot be imported: the model must load with
stock sentence-transformers alone. Standard library + numpy + sentence-transformers only; this
file must stay importable on Python 3.10 and every supported sentence-transformers release.

JOB is a JSON file: ``{"model": path or repo id, "revision": str | null, "texts": [...],
"prompt_names": ["query", ...], "out": dir}``. Writes ``out/result.json`` (versions, seconds,
error) and ``out/embeddings.npz`` (``plain`` plus one array per prompt name).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import traceback


def main(job_path: str) -> int:
    with open(job_path, encoding="utf-8") as fh:
        job = json.load(fh)
    out = job["out"]
    result = {"ok": False, "error": None, "leaf_hub_importable": importlib.util.find_spec("leaf_hub") is not None}
    start = time.perf_counter()
    try:
        import numpy as np
        import sentence_transformers
        import torch
        import transformers

        result["versions"] = {
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "python": sys.version.split()[0],
        }
        try:
            import huggingface_hub

            result["versions"]["huggingface_hub"] = huggingface_hub.__version__
        except ImportError:  # pragma: no cover - always installed with sentence-transformers
            pass
        from sentence_transformers import SentenceTransformer

        torch.manual_seed(0)
        kwargs = {"device": "cpu"}
        if job.get("revision"):
            kwargs["revision"] = job["revision"]
        model = SentenceTransformer(job["model"], **kwargs)
        result["modules"] = [type(module).__name__ for module in model]
        result["prompts"] = dict(model.prompts)
        result["similarity_fn_name"] = getattr(model, "similarity_fn_name", None)
        texts = job["texts"]
        arrays = {"plain": model.encode(texts, batch_size=16, convert_to_numpy=True)}
        for name in job.get("prompt_names", []):
            arrays[name] = model.encode(texts, prompt_name=name, batch_size=16, convert_to_numpy=True)
        np.savez(f"{out}/embeddings.npz", **{k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()})
        result["ok"] = True
    except Exception as e:  # report every failure as data: the matrix shows it as a row
        lines = [line for line in traceback.format_exception_only(type(e), e) if line.strip()]
        result["error"] = lines[-1].strip() if lines else type(e).__name__
        result["traceback"] = traceback.format_exc()
    result["seconds"] = round(time.perf_counter() - start, 3)
    with open(f"{out}/result.json", "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
