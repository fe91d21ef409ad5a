"""Parameter counts and weight sizes of a saved sentence-transformers folder, read from safetensors headers.

The one rule for "how many parameters a model has", used by the model card, ``release``'s summary
and the leaderboard's ``ModelMeta``:

* the files counted are the ``*.safetensors`` files of every module ``modules.json`` lists: those
  directly in the folder for a module at the root (the ``Transformer``), and those anywhere under a
  module's own sub-folder (``2_Dense``, a ``Router``'s routes); a stray file elsewhere is not part of
  the model and is not counted;
* a parameter is an element of a floating-point tensor (``F16``, ``BF16``, ``F32``, ``F64``, ``F8_*``);
  integer tensors (``position_ids``, ``token_type_ids``) are buffers, not parameters.

That equals ``sum(p.numel() for p in SentenceTransformer(folder).parameters())`` for the folders
leaf-hub writes and loads (checked in ``tests/models/test_weights.py``). Only the headers are read:
no torch, no tensor data.

Example:
    >>> from leaf_hub.models.weights import count_parameters
    >>> n = count_parameters("runs/leaf-ir-mini/model")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

from leaf_hub.errors import ModelFolderError

__all__ = ["WeightCounts", "count_parameters", "count_weights", "weight_files", "weights_size_bytes"]


@dataclass(frozen=True)
class WeightCounts:
    """What the safetensors headers of a model folder say (see the module docstring for the rule).

    Attributes:
        parameters: Elements of the floating-point tensors.
        embedding_parameters: Those of the word-embedding matrices (tensor names holding ``word_embeddings``).
        size_bytes: Bytes of the counted ``*.safetensors`` files (headers included).
    """

    parameters: int
    embedding_parameters: int
    size_bytes: int


def weight_files(model_dir: str | Path) -> list[Path]:
    """The ``*.safetensors`` files of the modules ``modules.json`` lists, sorted.

    Raises:
        ModelFolderError: If the folder has no readable ``modules.json``.
    """
    root = Path(model_dir)
    try:
        modules = json.loads((root / "modules.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFolderError(f"not a sentence-transformers model folder: {root} (no modules.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFolderError(f"{root}/modules.json is not readable JSON ({e})") from None
    if not isinstance(modules, list):
        raise ModelFolderError(f"{root}/modules.json is not a list of modules")
    files: set[Path] = set()
    for module in modules:
        path = str(module.get("path", "")) if isinstance(module, dict) else ""
        folder = root / path
        files |= set(folder.rglob("*.safetensors") if path else folder.glob("*.safetensors"))
    return sorted(files)


def _header(path: Path) -> dict[str, dict]:
    try:
        with path.open("rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(length))
    except (OSError, struct.error, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFolderError(f"{path} is not a readable safetensors file ({type(e).__name__})") from None
    return {k: v for k, v in header.items() if k != "__metadata__"}


def count_weights(model_dir: str | Path) -> WeightCounts:
    """Parameters, word-embedding parameters and bytes of a model folder's weights.

    Args:
        model_dir: A sentence-transformers folder (``modules.json`` at its root).

    Returns:
        The counts.

    Raises:
        ModelFolderError: If ``modules.json`` or a weights file cannot be read.
    """
    total = embedding = size = 0
    for path in weight_files(model_dir):
        size += path.stat().st_size
        for name, info in _header(path).items():
            if not str(info.get("dtype", "")).startswith(("F", "BF")):
                continue  # integer tensors are buffers (position_ids), not parameters
            count = math.prod(int(d) for d in info["shape"])
            total += count
            if "word_embeddings" in name:
                embedding += count
    return WeightCounts(parameters=total, embedding_parameters=embedding, size_bytes=size)


def count_parameters(model_dir: str | Path) -> int:
    """Parameters of a model folder: elements of the floating-point tensors of its modules' safetensors files.

    Raises:
        ModelFolderError: If ``modules.json`` or a weights file cannot be read.
    """
    return count_weights(model_dir).parameters


def weights_size_bytes(model_dir: str | Path) -> int:
    """Bytes of a model folder's weights files (the same files :func:`count_parameters` reads).

    Raises:
        ModelFolderError: If ``modules.json`` or a weights file cannot be read.
    """
    return count_weights(model_dir).size_bytes
