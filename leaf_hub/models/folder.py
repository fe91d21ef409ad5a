"""Facts of a saved sentence-transformers folder that its ``modules.json`` and module configs state.

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
from pathlib import Path
from typing import Any

from leaf_hub.errors import ModelFolderError

__all__ = ["embedding_dimension", "module_configs"]


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
    for mtype, cfg in module_configs(model_dir):
        if mtype.endswith("Dense") and "out_features" in cfg:
            dim = int(cfg["out_features"])
        elif mtype.endswith("Pooling") and "word_embedding_dimension" in cfg:
            dim = int(cfg["word_embedding_dimension"])
    if dim is None:
        raise ModelFolderError(f"{model_dir}: cannot tell the embedding dimension (no Dense or Pooling config)")
    return dim
