"""The ``-asym`` companion model: one stock sentence-transformers ``Router`` over student and teacher.

Queries go to the leaf student, documents to its teacher, so ``model.encode_query`` and
``model.encode_document`` do the right thing with no leaf-hub code. The folder is composed from
the two (portable, classic-layout) model folders by copying their files under a
``router_config.json``: every weight and module config is the one sentence-transformers saved,
and the module types are the classic ``sentence_transformers.models.*`` paths, which
sentence-transformers 5.x (where ``Router`` first appeared) and 6.x both load.

The folder is what ``Router.for_query_document(query_modules=leaf, document_modules=teacher)`` holds
(routes ``query`` and ``document``, ``default_route: document``, ``allow_empty_key: true``), written so
that 5.x reads it too. sentence-transformers 6's own ``Router.save`` does not load on 5.x: it writes
6-only module paths (``sentence_transformers.base.modules.router.Router``: on 5.1.2
``ModuleNotFoundError: No module named 'sentence_transformers.base'``) and a ``route_mappings``
parameter that 5.x's ``Router.__init__`` does not take. ``Router`` itself first appears in
sentence-transformers v5.0.0 (the commit that adds ``models/Router.py``, 6ed4a1c7, is in no earlier
tag), so no 3.x or 4.x release loads an ``-asym`` folder: the card says 5.0 or later. The leaf on
the query route may be either kind (a transformer leaf or a static ``StaticEmbedding`` one).

Example:
    >>> build_asym_folder("runs/leaf-ir/model", teacher_folder, "staging/asym")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from leaf_hub.errors import ModelFolderError

logger = logging.getLogger(__name__)

__all__ = ["ROUTER_TYPE", "build_asym_folder"]

#: Classic module path of the Router (resolves on sentence-transformers 5.x and 6.x).
ROUTER_TYPE = "sentence_transformers.models.Router"

# Root files of a model folder that describe the whole model, not its Transformer module.
_MODEL_LEVEL_FILES = frozenset(
    {
        "modules.json",
        "config_sentence_transformers.json",
        "README.md",
        "PROVENANCE.txt",
        "LICENSE",
        "NOTICE",
        "data_config.json",
        ".gitattributes",
    }
)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ModelFolderError(f"cannot read {path}: {e}") from e


def _copy_route(source: Path, route: str, out: Path, max_seq_length: int | None) -> tuple[dict[str, str], list[str]]:
    modules = _read_json(source / "modules.json")
    types: dict[str, str] = {}
    names: list[str] = []
    has_safetensors = any(source.glob("*.safetensors"))
    for index, entry in enumerate(modules):
        mtype = str(entry["type"])
        if not mtype.startswith("sentence_transformers.models."):
            raise ModelFolderError(f"{source}/modules.json[{index}]: {mtype} is not a classic module type")
        name = f"{route}_{index}_{mtype.rsplit('.', 1)[-1]}"
        target = out / name
        target.mkdir(parents=True)
        sub = str(entry.get("path", ""))
        if sub == "":
            for file in sorted(source.iterdir()):
                if not file.is_file() or file.name in _MODEL_LEVEL_FILES or file.suffix == ".md":
                    continue
                if has_safetensors and file.suffix in (".bin", ".pt", ".h5", ".msgpack", ".onnx"):
                    continue
                shutil.copy2(file, target / file.name)
            sbert = target / "sentence_bert_config.json"
            if max_seq_length is not None and sbert.is_file():
                config = _read_json(sbert)
                config["max_seq_length"] = max_seq_length
                sbert.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        elif (source / sub).is_dir():
            shutil.copytree(source / sub, target, dirs_exist_ok=True)
        types[name] = mtype
        names.append(name)
    return types, names


def build_asym_folder(
    student_folder: str | Path,
    teacher_folder: str | Path,
    out: str | Path,
    *,
    document_prompt: str = "",
    teacher_max_seq_length: int | None = None,
) -> Path:
    """Compose a Router model folder: ``query`` route = student, ``document`` route = teacher.

    Args:
        student_folder: The leaf student (portable folder, classic module types).
        teacher_folder: The teacher folder (classic module types, as published upstream).
        out: The folder to create (must not exist).
        document_prompt: Prompt stored for documents (the teacher's document prompt).
        teacher_max_seq_length: Token limit of the teacher route (the one used in evaluation).

    Returns:
        The folder.

    Raises:
        ModelFolderError: If a source folder is not a classic sentence-transformers folder.
    """
    student, teacher, target = Path(student_folder), Path(teacher_folder), Path(out)
    if target.exists():
        raise ModelFolderError(f"asym output folder already exists: {target}")
    target.mkdir(parents=True)
    q_types, q_names = _copy_route(student, "query", target, None)
    d_types, d_names = _copy_route(teacher, "document", target, teacher_max_seq_length)
    router = {
        "types": {**q_types, **d_types},
        "structure": {"query": q_names, "document": d_names},
        "parameters": {"default_route": "document", "allow_empty_key": True},
    }
    (target / "router_config.json").write_text(json.dumps(router, indent=4) + "\n", encoding="utf-8")
    modules = [{"idx": 0, "name": "0", "path": "", "type": ROUTER_TYPE}]
    (target / "modules.json").write_text(json.dumps(modules, indent=2) + "\n", encoding="utf-8")
    st_config = _read_json(student / "config_sentence_transformers.json")
    prompts = dict(st_config.get("prompts") or {})
    config = {
        "__version__": st_config.get("__version__", {}),
        "model_type": "SentenceTransformer",
        "prompts": {"query": prompts.get("query", ""), "document": document_prompt},
        "default_prompt_name": None,
        "similarity_fn_name": st_config.get("similarity_fn_name") or "cosine",
    }
    (target / "config_sentence_transformers.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    logger.info("composed asym Router at %s (%d query, %d document modules)", target, len(q_names), len(d_names))
    return target
