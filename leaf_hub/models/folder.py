"""Facts of a saved sentence-transformers folder that its ``modules.json`` and module configs state.

Read from the folder's JSON files (no torch, no loading): the output dimension
(:func:`embedding_dimension`), and for the model card the parameter count, sequence length, module
types, prompts and similarity (:func:`read_model_facts`) and the library versions the folder was
saved with (:func:`saved_versions`; also recorded in the release manifest).

The one rule for "what dimension does this folder's model output", used by the leaderboard's
``ModelMeta`` (and meant for the model card's facts, which had a copy with slightly different rules):

* the modules are read in ``modules.json`` order; a module without a ``path`` (the ``Transformer`` at
  the folder's root) or without a ``config.json`` says nothing;
* a ``Dense`` sets the dimension to its ``out_features``, a ``Pooling`` to its
  ``word_embedding_dimension``; the last module that states one wins.

Where the two former copies disagreed (only on folders whose configs contradict each other):

* a ``Pooling`` *after* a ``Dense``: the leaderboard kept the ``Dense``'s ``out_features``, the card
  took the ``Pooling``'s ``word_embedding_dimension``. A token-level ``Dense`` before the pooling
  outputs exactly the pooling's input width, so both agree unless the folder is inconsistent; the
  card's reading (the last module wins) is kept, as it follows the modules' order;
* a ``Dense`` or ``Pooling`` listed without a ``path``: the card read the folder's root
  ``config.json`` (the transformer's, which has neither key); the leaderboard skipped it. Same result;
* no dimension at all: the card showed none, the leaderboard refused. This function raises
  :class:`~leaf_hub.errors.ModelFolderError`; a caller that can do without the value catches it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leaf_hub.errors import ModelFolderError
from leaf_hub.models.weights import count_parameters

__all__ = ["ModelFacts", "embedding_dimension", "module_configs", "read_model_facts", "saved_versions"]


def module_configs(model_dir: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """``(type, config)`` of each module ``modules.json`` lists, in order.

    A module without a ``path`` or without a ``config.json`` in it has the config ``{}``.

    Raises:
        OSError: If ``modules.json`` cannot be read.
        ValueError: If it or a module config is not JSON.
    """
    folder = Path(model_dir)
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    out = []
    for module in modules:
        cfg_path = folder / module.get("path", "") / "config.json"
        cfg = json.loads(cfg_path.read_text(encoding="utf-8")) if module.get("path") and cfg_path.is_file() else {}
        out.append((str(module.get("type", "")), cfg))
    return out


def embedding_dimension(model_dir: str | Path) -> int:
    """The dimension of the vectors a sentence-transformers folder outputs (see the module docstring for the rule).

    Args:
        model_dir: The folder (``modules.json`` at its root).

    Returns:
        The last ``Dense``'s ``out_features`` or ``Pooling``'s ``word_embedding_dimension``.

    Raises:
        ModelFolderError: If no ``Dense`` or ``Pooling`` config states a dimension.
    """
    dim = None
    modules = json.loads((Path(model_dir) / "modules.json").read_text(encoding="utf-8"))
    for module, (mtype, cfg) in zip(modules, module_configs(model_dir), strict=True):
        if mtype.endswith("Dense") and "out_features" in cfg:
            dim = int(cfg["out_features"])
        elif mtype.endswith("Pooling") and "word_embedding_dimension" in cfg:
            dim = int(cfg["word_embedding_dimension"])
        elif mtype.endswith("StaticEmbedding"):  # no config: the table's width, from its safetensors header
            dim = _static_width(Path(model_dir) / str(module.get("path", "")) / "model.safetensors")
    if dim is None:
        raise ModelFolderError(
            f"{model_dir}: cannot tell the embedding dimension (no Dense, Pooling or StaticEmbedding module)"
        )
    return dim


def _static_width(weights: Path) -> int | None:
    """Columns of a ``StaticEmbedding``'s ``embedding.weight``, read from the safetensors header only."""
    try:
        with weights.open("rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(size))
        return int(header["embedding.weight"]["shape"][1])
    except (OSError, ValueError, KeyError, IndexError):
        return None


@dataclass(frozen=True)
class ModelFacts:
    """Facts about a sentence-transformers folder, read without loading it."""

    n_parameters: int
    embedding_dim: int | None
    max_seq_length: int | None
    module_types: list[str]
    prompts: dict[str, str]
    similarity: str | None


def _read_json(path: Path, what: str, hint: str) -> Any:
    if not path.is_file():
        raise ModelFolderError(f"{what} not found: {path}; {hint}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFolderError(f"{what} {path} is not valid JSON ({e})") from e


def read_model_facts(folder: str | Path) -> ModelFacts:
    """Read parameter count, output dimension, sequence length and prompts of a model folder.

    Args:
        folder: A sentence-transformers folder (``modules.json`` at its root).

    Returns:
        The facts (``embedding_dim`` ``None`` when no module config states it).

    Raises:
        ModelFolderError: If ``modules.json`` is missing or unreadable.
    """
    root = Path(folder)
    modules = _read_json(root / "modules.json", "modules.json", "is this a sentence-transformers folder?")
    n_params = count_parameters(root)
    try:
        dim: int | None = embedding_dimension(root)
    except ModelFolderError:
        dim = None
    max_len = None
    sbert = root / "sentence_bert_config.json"
    if sbert.is_file():
        max_len = json.loads(sbert.read_text(encoding="utf-8")).get("max_seq_length")
    tok = root / "tokenizer_config.json"
    if max_len is None and tok.is_file():
        limit = json.loads(tok.read_text(encoding="utf-8")).get("model_max_length")
        max_len = int(limit) if isinstance(limit, (int, float)) and limit < 1_000_000 else None
    st_config = root / "config_sentence_transformers.json"
    prompts: dict[str, str] = {}
    similarity = None
    if st_config.is_file():
        cfg = json.loads(st_config.read_text(encoding="utf-8"))
        prompts = dict(cfg.get("prompts") or {})
        similarity = cfg.get("similarity_fn_name")
    return ModelFacts(
        n_parameters=n_params,
        embedding_dim=dim,
        max_seq_length=max_len,
        module_types=[m.get("type", "").rsplit(".", 1)[-1] for m in modules],
        prompts=prompts,
        similarity=similarity,
    )


def saved_versions(folder: str | Path) -> dict[str, str]:
    """The library versions a folder was saved with (``__version__`` of ``config_sentence_transformers.json``).

    Returns:
        ``{"sentence_transformers": ..., "transformers": ..., "pytorch": ...}`` as recorded; empty
        when the folder records none.
    """
    st_config = Path(folder) / "config_sentence_transformers.json"
    if not st_config.is_file():
        return {}
    return dict(json.loads(st_config.read_text(encoding="utf-8")).get("__version__") or {})
