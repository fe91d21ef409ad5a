"""Save a SentenceTransformer in the form every supported sentence-transformers major can load.

sentence-transformers 6 writes module types such as ``sentence_transformers.base.modules.dense.Dense``
into ``modules.json`` and module configs with keys that older releases do not accept, so a folder
saved with 6.x fails on 3.4 (``No module named 'sentence_transformers.base'``) and 5.1. This module
saves with the installed sentence-transformers and then post-processes the folder into the classic
layout that upstream models such as all-MiniLM-L6-v2 use, and which 3.4.x, 4.1.x, 5.1.x and 6.x all
load (checked against each release's source and by ``scripts/compat_matrix.py``):

- ``modules.json`` types are the classic ``sentence_transformers.models.<Class>`` paths. 6.x still
  resolves them: ``sentence_transformers.models`` is an alias of
  ``sentence_transformers.sentence_transformer.modules``, which re-exports every class.
- ``sentence_bert_config.json`` holds only ``max_seq_length`` and ``do_lower_case``. 3.4 passes
  this file's keys to ``Transformer.__init__`` and falls back to a broken path on any other key;
  6.x reads both keys and defaults to the text feature-extraction modality when
  ``modality_config`` is absent.
- ``<n>_Pooling/config.json`` holds ``word_embedding_dimension`` and the ``pooling_mode_*`` booleans
  (6.x renames and converts them silently on load).
- ``<n>_Dense/config.json`` holds ``in_features``, ``out_features``, ``bias`` and
  ``activation_function``; its weights are ``<n>_Dense/model.safetensors`` (3.4 loads that file
  with ``safetensors.torch.load_model``, strict).
- ``Normalize`` has no folder: no release before 6 reads one, and 6.x uses its defaults when
  ``config.json`` is missing (locally and on the Hub).
- ``config_sentence_transformers.json`` keeps ``prompts``, ``default_prompt_name`` and
  ``similarity_fn_name`` (read since 3.0) plus ``__version__`` and ``model_type``; older releases
  read these keys with ``dict.get`` and ignore everything else.
- Weights are safetensors only. Nothing is written by hand: every tensor is the one the installed
  sentence-transformers / transformers saved.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import ModelFolderError, NotPortableError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

__all__ = [
    "ASYM_MIN_SENTENCE_TRANSFORMERS",
    "CLASSIC_TYPES",
    "SUPPORTED_SENTENCE_TRANSFORMERS",
    "STATIC_MIN_SENTENCE_TRANSFORMERS",
    "SUPPORTED_ST_VERSIONS",
    "check_portable",
    "portability_problems",
    "save_portable",
]

#: sentence-transformers release lines a portable folder loads on (checked by the compat matrix).
SUPPORTED_ST_VERSIONS: tuple[str, ...] = ("3.4", "4.1", "5.1", "6")
#: sentence-transformers versions a published leaf model loads with (classic module types).
SUPPORTED_SENTENCE_TRANSFORMERS = ">=3.0,<7"
#: First sentence-transformers version with ``models.Router`` and ``encode_query``/``encode_document``.
ASYM_MIN_SENTENCE_TRANSFORMERS = "5.0"

#: Class name -> the classic ``modules.json`` type every supported release resolves.
CLASSIC_TYPES: dict[str, str] = {
    "Transformer": "sentence_transformers.models.Transformer",
    "Pooling": "sentence_transformers.models.Pooling",
    "Dense": "sentence_transformers.models.Dense",
    "Normalize": "sentence_transformers.models.Normalize",
    "StaticEmbedding": "sentence_transformers.models.StaticEmbedding",
}
#: First sentence-transformers release with ``models.StaticEmbedding`` (commit 78553270, "Add lightning-fast
#: StaticEmbedding module based on model2vec (#2961)", is first in tag v3.2.0): a static leaf loads on
#: 3.2 and later, so on every supported line (:data:`SUPPORTED_ST_VERSIONS`).
STATIC_MIN_SENTENCE_TRANSFORMERS = "3.2"
#: Files of a ``StaticEmbedding`` folder, as every release from 3.2 to 6.x saves and loads it.
STATIC_FILES: frozenset[str] = frozenset({"model.safetensors", "tokenizer.json"})

#: Keys of ``sentence_bert_config.json`` that 3.4's ``Transformer.__init__`` accepts and 6.x reads.
TRANSFORMER_CONFIG_KEYS: frozenset[str] = frozenset({"max_seq_length", "do_lower_case"})

#: Pooling modes in the order every release concatenates them (3.4's ``forward``).
_POOLING_MODE_KEYS: dict[str, str] = {
    "cls": "pooling_mode_cls_token",
    "max": "pooling_mode_max_tokens",
    "mean": "pooling_mode_mean_tokens",
    "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
    "weightedmean": "pooling_mode_weightedmean_tokens",
    "lasttoken": "pooling_mode_lasttoken",
}
POOLING_CONFIG_KEYS: frozenset[str] = frozenset(
    {"word_embedding_dimension", "include_prompt", *_POOLING_MODE_KEYS.values()}
)
DENSE_CONFIG_KEYS: frozenset[str] = frozenset({"in_features", "out_features", "bias", "activation_function"})
ST_CONFIG_KEYS: frozenset[str] = frozenset(
    {"__version__", "model_type", "prompts", "default_prompt_name", "similarity_fn_name"}
)
MODULES_JSON_KEYS: frozenset[str] = frozenset({"idx", "name", "path", "type"})
SIMILARITY_FNS: frozenset[str] = frozenset({"cosine", "dot", "euclidean", "manhattan"})
#: File suffixes that hold weights in a format other than safetensors (pickle-based or framework-specific).
NON_SAFETENSORS_WEIGHTS: frozenset[str] = frozenset(
    {".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".pkl", ".pickle", ".onnx", ".ot", ".joblib", ".npz"}
)
#: The Transformer settings 6.x writes that the classic layout expresses by leaving them out.
_DEFAULT_TRANSFORMER_SETTINGS: dict[str, Any] = {
    "transformer_task": "feature-extraction",
    "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
    "module_output_name": "token_embeddings",
}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ModelFolderError(f"missing {path}") from e
    except json.JSONDecodeError as e:
        raise ModelFolderError(f"{path} is not valid JSON: {e.msg} (line {e.lineno})") from e


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _class_name(module: object) -> str:
    """Return the sentence-transformers class name of ``module``, or raise if it is foreign."""
    cls = type(module)
    if not cls.__module__.startswith("sentence_transformers.") or cls.__name__ not in CLASSIC_TYPES:
        raise NotPortableError(
            f"module {cls.__module__}.{cls.__name__} has no classic type; "
            f"portable folders may only use {', '.join(CLASSIC_TYPES)}"
        )
    return cls.__name__


def _portable_transformer(folder: Path, module: Any) -> None:
    config_path = folder / "sentence_bert_config.json"
    saved = _read_json(config_path) if config_path.is_file() else {}
    for key, value in saved.items():
        if key in TRANSFORMER_CONFIG_KEYS:
            continue
        if _DEFAULT_TRANSFORMER_SETTINGS.get(key, object()) != value:
            raise NotPortableError(
                f"sentence_bert_config.json: {key}={json.dumps(value)} has no equivalent before sentence-transformers 6"
            )
    if getattr(module, "backend", "torch") != "torch":
        raise NotPortableError(f"Transformer backend {module.backend!r} is not portable; save the torch model")
    max_seq_length = getattr(module, "max_seq_length", None)
    _write_json(
        config_path,
        {
            "max_seq_length": int(max_seq_length) if max_seq_length else None,
            "do_lower_case": bool(module.do_lower_case),
        },
    )


def _portable_pooling(folder: Path, module: Any) -> None:
    mode = getattr(module, "pooling_mode", None)
    if mode is None:  # sentence-transformers < 6 keeps the booleans as attributes
        modes = tuple(m for m, key in _POOLING_MODE_KEYS.items() if getattr(module, key, False))
        dimension = module.word_embedding_dimension
    else:
        modes = (mode,) if isinstance(mode, str) else tuple(mode)
        dimension = module.embedding_dimension
    unknown = [m for m in modes if m not in _POOLING_MODE_KEYS]
    if unknown or not modes:
        raise NotPortableError(f"Pooling mode {modes!r} is not one of {tuple(_POOLING_MODE_KEYS)}")
    legacy_order = tuple(m for m in _POOLING_MODE_KEYS if m in modes)
    if modes != legacy_order:
        raise NotPortableError(
            f"Pooling modes {modes!r} concatenate in a different order before sentence-transformers 6 "
            f"(which always uses {legacy_order!r}); build the Pooling with pooling_mode={legacy_order!r}"
        )
    config: dict[str, Any] = {"word_embedding_dimension": int(dimension)}
    config.update({key: m in modes for m, key in _POOLING_MODE_KEYS.items()})
    config["include_prompt"] = bool(module.include_prompt)
    _write_json(folder / "config.json", config)


def _portable_dense(folder: Path, module: Any) -> None:
    from safetensors import safe_open

    for attr, default in (("module_input_name", "sentence_embedding"), ("module_output_name", "sentence_embedding")):
        if getattr(module, attr, default) != default:
            raise NotPortableError(f"Dense {attr}={getattr(module, attr)!r}; only {default!r} exists before 6.0")
    if getattr(module, "use_residual", False):
        raise NotPortableError("Dense use_residual=True has no equivalent before sentence-transformers 6")
    config = _read_json(folder / "config.json")
    activation = str(config.get("activation_function", ""))
    if not activation.startswith("torch.nn."):
        raise NotPortableError(f"Dense activation_function {activation!r} is not a torch.nn class")
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise NotPortableError(f"{weights.parent.name}: Dense weights are not in model.safetensors")
    with safe_open(str(weights), framework="pt") as fh:
        keys = set(fh.keys())
    expected = {"linear.weight", "linear.bias"} if module.bias else {"linear.weight"}
    if keys != expected:
        raise NotPortableError(
            f"{weights.parent.name}/model.safetensors holds {sorted(keys)}, expected {sorted(expected)}"
        )
    _write_json(folder / "config.json", {key: config[key] for key in sorted(DENSE_CONFIG_KEYS)})


def _portable_normalize(folder: Path, module: Any) -> None:
    for attr in ("module_input_name", "module_output_name"):
        if getattr(module, attr, "sentence_embedding") != "sentence_embedding":
            raise NotPortableError(f"Normalize {attr}={getattr(module, attr)!r}; only 'sentence_embedding' is portable")
    if folder.is_dir():
        shutil.rmtree(folder)


def _portable_static(folder: Path, module: Any) -> None:
    from safetensors import safe_open

    weights = folder / "model.safetensors"
    if not weights.is_file() or not (folder / "tokenizer.json").is_file():
        raise NotPortableError(f"{folder.name}: a StaticEmbedding needs model.safetensors and tokenizer.json")
    with safe_open(str(weights), framework="pt") as fh:
        keys = set(fh.keys())
    if keys != {"embedding.weight"}:
        raise NotPortableError(f"{folder.name}/model.safetensors holds {sorted(keys)}, expected ['embedding.weight']")
    for path in folder.iterdir():  # 3.2-5.x read exactly these two files; anything else is 6.x-only
        if path.name not in STATIC_FILES:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


_POST_PROCESSORS = {
    "Transformer": _portable_transformer,
    "Pooling": _portable_pooling,
    "Dense": _portable_dense,
    "Normalize": _portable_normalize,
    "StaticEmbedding": _portable_static,
}


def _portable_st_config(folder: Path, model: SentenceTransformer) -> None:
    path = folder / "config_sentence_transformers.json"
    saved = _read_json(path) if path.is_file() else {}
    prompts = {str(k): str(v) for k, v in (model.prompts or {}).items()}
    default_prompt_name = model.default_prompt_name
    if default_prompt_name is not None and default_prompt_name not in prompts:
        raise NotPortableError(
            f"default_prompt_name {default_prompt_name!r} is not one of the prompts {sorted(prompts)}"
        )
    similarity = model.similarity_fn_name or "cosine"
    similarity = getattr(similarity, "value", similarity)
    if similarity not in SIMILARITY_FNS:
        raise NotPortableError(f"similarity_fn_name {similarity!r} is not one of {sorted(SIMILARITY_FNS)}")
    _write_json(
        path,
        {
            "__version__": saved.get("__version__", {}),
            "model_type": "SentenceTransformer",
            "prompts": prompts,
            "default_prompt_name": default_prompt_name,
            "similarity_fn_name": similarity,
        },
    )


def _remove_non_safetensors(folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in NON_SAFETENSORS_WEIGHTS:
            logger.debug("removing non-safetensors weight file %s", path.relative_to(folder))
            path.unlink()


def save_portable(model: SentenceTransformer, path: str | Path) -> Path:
    """Save ``model`` so that sentence-transformers 3.4.x, 4.1.x, 5.1.x and 6.x all load it identically.

    The model is saved with the installed sentence-transformers (safetensors) into a temporary
    sibling folder, rewritten into the classic layout described in this module's docstring,
    checked with :func:`check_portable`, and only then moved to ``path`` (an existing folder there
    is replaced). Weights are never rewritten.

    Args:
        model: A loaded SentenceTransformer built from Transformer, Pooling, Dense and Normalize
            modules (the shape of a leaf student).
        path: The folder to write.

    Returns:
        The written folder.

    Raises:
        NotPortableError: If the model uses a module or setting that some supported release cannot
            express (e.g. a ``Router``, a Dense with ``use_residual``, a non-text Transformer).

    Example:
        >>> folder = save_portable(student, "runs/leaf-ir/model")  # doctest: +SKIP
        >>> check_portable(folder)  # doctest: +SKIP
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    names = [_class_name(module) for module in model]  # fail before writing anything
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save(str(staging), safe_serialization=True)
        modules_json = _read_json(staging / "modules.json")
        if len(modules_json) != len(names):
            raise NotPortableError(f"modules.json lists {len(modules_json)} modules, the model has {len(names)}")
        entries = []
        for entry, module, name in zip(modules_json, model, names, strict=True):
            subfolder = staging / entry["path"] if entry["path"] else staging
            if name == "Transformer" and entry["path"]:
                raise NotPortableError("the Transformer must be saved in the folder root (path '')")
            if name == "StaticEmbedding" and not entry["path"]:
                # 6.x saves an input module in the root; 3.x builds a root module as a Transformer would be
                # built (module_class(folder, ...)), which StaticEmbedding refuses: give it its own folder
                entry = {**entry, "path": f"{entry['idx']}_StaticEmbedding"}
                subfolder = staging / entry["path"]
                subfolder.mkdir()
                for file in STATIC_FILES:
                    os.replace(staging / file, subfolder / file)
            _POST_PROCESSORS[name](subfolder, module)
            entries.append(
                {"idx": entry["idx"], "name": entry["name"], "path": entry["path"], "type": CLASSIC_TYPES[name]}
            )
        _write_json(staging / "modules.json", entries)
        _portable_st_config(staging, model)
        _remove_non_safetensors(staging)
        check_portable(staging)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("saved portable model to %s (%s)", target, " -> ".join(names))
    return target


def _check_keys(problems: list[str], where: str, config: object, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(config, Mapping):
        problems.append(f"{where}: expected a JSON object")
        return {}
    unknown = sorted(set(config) - allowed)
    if unknown:
        problems.append(f"{where}: unknown key(s) {unknown}")
    return dict(config)


def _module_problems(folder: Path, index: int, entry: Mapping[str, Any], problems: list[str]) -> None:
    where = f"modules.json[{index}]"
    _check_keys(problems, where, entry, MODULES_JSON_KEYS)
    type_ = str(entry.get("type", ""))
    name = next((n for n, t in CLASSIC_TYPES.items() if t == type_), None)
    if name is None:
        problems.append(f"{where}: type {type_} is not a classic sentence_transformers.models type")
        name = type_.rsplit(".", 1)[-1] if type_.startswith("sentence_transformers.") else None
        if name not in CLASSIC_TYPES:
            return  # nothing more can be said about a module of unknown kind
    sub = folder / str(entry.get("path", ""))
    if name == "Transformer":
        if entry.get("path"):
            problems.append(f"{where}: the Transformer must be in the folder root (path ''), not {entry['path']!r}")
        config_path = folder / "sentence_bert_config.json"
        if config_path.is_file():
            _check_keys(problems, "sentence_bert_config.json", _read_json(config_path), TRANSFORMER_CONFIG_KEYS)
        if not any(folder.glob("*.safetensors")):
            problems.append("no *.safetensors transformer weights in the folder root")
    elif name == "Pooling":
        config = _check_keys(problems, f"{sub.name}/config.json", _read_json(sub / "config.json"), POOLING_CONFIG_KEYS)
        if "word_embedding_dimension" not in config:
            problems.append(f"{sub.name}/config.json: missing word_embedding_dimension")
    elif name == "Dense":
        config = _check_keys(problems, f"{sub.name}/config.json", _read_json(sub / "config.json"), DENSE_CONFIG_KEYS)
        missing = sorted(DENSE_CONFIG_KEYS - set(config))
        if missing:
            problems.append(f"{sub.name}/config.json: missing key(s) {missing}")
        if not str(config.get("activation_function", "")).startswith("torch.nn."):
            problems.append(f"{sub.name}/config.json: activation_function is not a torch.nn class")
        if not (sub / "model.safetensors").is_file():
            problems.append(f"{sub.name}: no model.safetensors")
    elif name == "StaticEmbedding":
        present = {p.name for p in sub.iterdir()} if sub.is_dir() else set()
        if STATIC_FILES - present:
            problems.append(f"{sub.name}: missing {sorted(STATIC_FILES - present)}")
        if not entry.get("path"):
            problems.append(f"{where}: a StaticEmbedding needs its own folder (3.x loads root modules as Transformers)")
        elif present - STATIC_FILES:
            problems.append(f"{sub.name}: files no release before 6 reads {sorted(present - STATIC_FILES)}")
    elif name == "Normalize" and (sub / "config.json").is_file():
        _check_keys(problems, f"{sub.name}/config.json", _read_json(sub / "config.json"), frozenset())


def portability_problems(path: str | Path) -> list[str]:
    """List why a model folder would not load on every supported sentence-transformers version.

    Checks ``modules.json`` (classic types only, known keys), each module's config keys, the
    ``config_sentence_transformers.json`` keys and values, and that every weight file is safetensors.

    Args:
        path: A local sentence-transformers model folder.

    Returns:
        One line per problem; empty when the folder is portable.

    Raises:
        ModelFolderError: If the folder has no ``modules.json`` or a config file is not valid JSON.
    """
    folder = Path(path)
    if not (folder / "modules.json").is_file():
        raise ModelFolderError(f"not a sentence-transformers model folder: {folder} (no modules.json)")
    problems: list[str] = []
    modules = _read_json(folder / "modules.json")
    if not isinstance(modules, list) or not modules:
        return ["modules.json: expected a non-empty list"]
    for index, entry in enumerate(modules):
        if not isinstance(entry, Mapping):
            problems.append(f"modules.json[{index}]: expected a JSON object")
            continue
        _module_problems(folder, index, entry, problems)
    st_config_path = folder / "config_sentence_transformers.json"
    if st_config_path.is_file():
        st_config = _check_keys(problems, st_config_path.name, _read_json(st_config_path), ST_CONFIG_KEYS)
        prompts = st_config.get("prompts") or {}
        if not isinstance(prompts, Mapping) or not all(isinstance(v, str) for v in prompts.values()):
            problems.append(f"{st_config_path.name}: prompts must map names to strings")
        default = st_config.get("default_prompt_name")
        if default is not None and default not in prompts:
            problems.append(f"{st_config_path.name}: default_prompt_name {default!r} is not a prompt")
        similarity = st_config.get("similarity_fn_name")
        if similarity is not None and similarity not in SIMILARITY_FNS:
            problems.append(f"{st_config_path.name}: similarity_fn_name {similarity!r} is unknown")
    for weights in sorted(folder.rglob("*")):
        if weights.is_file() and weights.suffix in NON_SAFETENSORS_WEIGHTS:
            problems.append(f"{weights.relative_to(folder)}: weights must be safetensors only")
    return problems


def check_portable(path: str | Path) -> Path:
    """Raise unless ``path`` is a portable model folder (see :func:`portability_problems`).

    Args:
        path: A local sentence-transformers model folder.

    Returns:
        The folder, for chaining.

    Raises:
        NotPortableError: Naming every problem found, in one line.
        ModelFolderError: If the folder is not a model folder at all.
    """
    problems = portability_problems(path)
    if problems:
        raise NotPortableError(f"{path} is not portable: {'; '.join(problems)}")
    return Path(path)
