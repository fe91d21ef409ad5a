"""The model-registry side of a submission: mteb's ``ModelMeta`` for a published model, and its Python source.

The MTEB leaderboard lists models that have a ``ModelMeta(...)`` entry in
``mteb/models/model_implementations``. :func:`build_model_meta` starts from what mteb itself reads
from the loaded folder (``ModelMeta.from_sentence_transformer_model``, no Hub lookup: loader, token
limit, similarity function, framework) and adds what leaf-hub knows: the published name and
revision, the parameter counts from the safetensors headers, the embedding dimension, the prompts,
languages, licence and release date from the recipe and release, the models it was distilled from
and their training data, and the training code. :func:`model_meta_source` writes it as the module
to add there.

The ``ModelMeta``'s ``training_datasets`` hold the student initialisation's and the teacher's
training data from mteb's registry plus the recipe's ``teacher.training_datasets`` (what the
teacher's own model card declares, :func:`card_training_data`), so the leaderboard does not count
the student as zero-shot on data its teacher was trained on.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from leaf_hub.errors import LeaderboardError, ModelFolderError

if TYPE_CHECKING:
    from mteb.models.model_meta import ModelMeta

    from leaf_hub.records import ReleaseManifest

logger = logging.getLogger(__name__)

__all__ = [
    "MTEB_REPO",
    "build_model_meta",
    "card_training_data",
    "model_meta_source",
    "release_date_of",
    "training_code_url",
]

MTEB_REPO = "https://github.com/embeddings-benchmark/mteb"


def training_code_url() -> str | None:
    """Where leaf-hub's code (the training code of every student it distils) is public: its ``Repository`` URL.

    Read from the installed distribution's metadata (``[project.urls]`` in ``pyproject.toml``);
    ``None`` when leaf-hub is not installed as a distribution or declares no such URL.
    """
    from importlib import metadata

    try:
        urls = metadata.metadata("leaf-hub").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = str(entry).partition(",")
        if label.strip().lower() == "repository" and url.strip():
            return url.strip()
    return None


def release_date_of(release: ReleaseManifest, source: Path) -> str:
    """``YYYY-MM-DD`` of a release: when ``publish`` recorded it, else the manifest file's modification day (UTC).

    Args:
        release: The run's manifest.
        source: The file it was read from (``release.json``).
    """
    if release.published_at:
        return release.published_at[:10]
    return dt.datetime.fromtimestamp(source.stat().st_mtime, tz=dt.UTC).date().isoformat()


def build_model_meta(
    model_dir: str | Path,
    *,
    repo_id: str,
    revision: str,
    release_date: str,
    languages: list[str],
    license: str,
    adapted_from: str | None,
    related_models: list[str] | None = None,
    training_datasets: set[str] | None = None,
    reference: str | None = None,
    public_training_code: str | None = None,
) -> ModelMeta:
    """Build mteb's ``ModelMeta`` for a published sentence-transformers folder.

    The starting point is mteb's own ``ModelMeta.from_sentence_transformer_model`` of the loaded folder
    (no Hub lookup); every field leaf-hub knows better then replaces mteb's reading. Sizes come from
    the folder itself: parameters from the safetensors headers
    (:func:`leaf_hub.models.weights.count_weights`), ``embed_dim`` from the final ``Dense`` (or
    ``Pooling``: :func:`leaf_hub.models.folder.embedding_dimension`), ``max_tokens`` from
    ``sentence_bert_config.json``, the similarity function and prompts from
    ``config_sentence_transformers.json``. (mteb's own reading of ``n_embedding_parameters``
    multiplies the vocabulary by the *output* width, 768 for a projected student; the headers give
    the embedding table's real size.)

    Args:
        model_dir: The local model folder (the weights that were evaluated and published).
        repo_id: ``org/name`` on the Hub.
        revision: The published commit id.
        release_date: ``YYYY-MM-DD``.
        languages: ISO 639-1 codes from the recipe (``["en"]``), mapped to mteb's ``eng-Latn`` form.
        license: Licence id of the published model.
        adapted_from: The student initialisation's Hub id.
        related_models: Models whose training data the student inherits (its initialisation and the
            teacher it was distilled from); their ``training_datasets`` from mteb's registry are included.
        training_datasets: Further mteb dataset names the student was trained on.
        reference: URL of the model page (default ``https://huggingface.co/<repo_id>``).
        public_training_code: URL of the training code, if public.

    Returns:
        The validated ``ModelMeta``.

    Raises:
        RepoIdError: If ``repo_id`` is not a valid ``org/name`` (:func:`leaf_hub.hub.check_repo_id`).
        LeaderboardError: If a field fails mteb's validation (unknown licence or language, ...).
    """
    from mteb.languages.iso_mappings import _hf_langs_to_iso_lang_scripts
    from mteb.models.model_implementations import MODEL_REGISTRY
    from mteb.models.model_meta import ModelMeta, ScoringFunction
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
    from pydantic import ValidationError
    from sentence_transformers import SentenceTransformer

    from leaf_hub.hub import check_repo_id
    from leaf_hub.models.folder import embedding_dimension
    from leaf_hub.models.weights import count_weights

    check_repo_id(repo_id)
    folder = Path(model_dir)
    counts = count_weights(folder)
    st_config_path = folder / "config_sentence_transformers.json"
    st_config = json.loads(st_config_path.read_text(encoding="utf-8")) if st_config_path.is_file() else {}
    bert_path = folder / "sentence_bert_config.json"
    bert_config = json.loads(bert_path.read_text(encoding="utf-8")) if bert_path.is_file() else {}
    # every non-empty prompt, per-task ones included: mteb resolves them as the evaluation here did
    model_prompts = {k: v for k, v in (st_config.get("prompts") or {}).items() if v}

    iso = _hf_langs_to_iso_lang_scripts(list(languages)) or []
    if len(iso) != len(languages):
        raise LeaderboardError(f"languages {languages}: mteb knows only {iso}; use ISO 639-1 codes such as 'en'")

    datasets = set(training_datasets or ())
    for other in related_models or []:
        known = MODEL_REGISTRY.get(other)
        inherited = known.training_datasets if known is not None else None
        if inherited is None:
            logger.warning("mteb's registry has no training_datasets for %s; they are not listed", other)
        datasets |= set(inherited or ())

    try:
        embed_dim = embedding_dimension(folder)
    except ModelFolderError as e:
        raise LeaderboardError(str(e)) from e
    stock = _stock_meta(ModelMeta, SentenceTransformer(str(folder), device="cpu"), revision)
    similarity = st_config.get("similarity_fn_name") or (stock.similarity_fn_name or ScoringFunction.COSINE)
    try:
        return ModelMeta(
            **{
                **stock.model_dump(),  # mteb's reading of the folder; leaf-hub's facts below replace it
                "loader": SentenceTransformerEncoderWrapper,
                "loader_kwargs": {"model_prompts": model_prompts} if model_prompts else {},
                "name": repo_id,
                "revision": revision,
                "release_date": release_date,
                "languages": iso,
                "n_parameters": counts.parameters,
                "n_embedding_parameters": counts.embedding_parameters or stock.n_embedding_parameters,
                "memory_usage_mb": round(counts.size_bytes / 2**20),
                "max_tokens": bert_config.get("max_seq_length") or stock.max_tokens,
                "embed_dim": embed_dim,
                "license": license,
                "open_weights": True,
                "public_training_code": public_training_code,
                "public_training_data": None,
                "framework": list(dict.fromkeys([*stock.framework, "Sentence Transformers", "PyTorch", "safetensors"])),
                "reference": reference or f"https://huggingface.co/{repo_id}",
                "similarity_fn_name": ScoringFunction(similarity),
                "use_instructions": bool(model_prompts),
                "training_datasets": datasets or None,
                "adapted_from": adapted_from or stock.adapted_from,
                "model_type": ["dense"],
                "modalities": ["text"],
            }
        )
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise LeaderboardError(f"ModelMeta.{loc}: {first['msg']}") from e


def _stock_meta(model_meta: type[ModelMeta], model: Any, revision: str) -> ModelMeta:
    """The ``ModelMeta`` mteb's ``from_sentence_transformer_model`` reads from a loaded folder (no Hub lookup).

    (mteb's ``fill_missing`` defaults to ``False`` and is read as "given", so every call warns that it
    is deprecated; the call is made with the arguments mteb documents and that warning is dropped.)
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return model_meta.from_sentence_transformer_model(model, revision=revision, fetch_from_hf=False)


def model_meta_source(meta: ModelMeta, variable: str | None = None) -> str:
    """Render ``meta`` as the Python source of an entry in ``mteb/models/model_implementations``.

    Args:
        meta: The model metadata (loader ``SentenceTransformerEncoderWrapper``).
        variable: Module-level name (default: the model name in snake case).

    Returns:
        A self-contained module that defines the entry; exec'ing it gives a ``ModelMeta`` equal to ``meta``.
    """
    name = variable or re.sub(r"\W+", "_", (meta.name or "model").split("/")[-1]).strip("_").lower()
    if not name.isidentifier():
        name = f"model_{name}"

    def lit(value: object) -> str:
        if isinstance(value, (set, frozenset)):
            return "{" + ", ".join(repr(v) for v in sorted(value)) + "}" if value else "set()"
        if isinstance(value, float) and value.is_integer():
            return repr(int(value))
        return repr(value)

    sim = meta.similarity_fn_name
    fields = [
        ("loader", "SentenceTransformerEncoderWrapper"),
        ("loader_kwargs", lit(dict(meta.loader_kwargs))),
        ("name", lit(meta.name)),
        ("revision", lit(meta.revision)),
        ("release_date", lit(meta.release_date)),
        ("languages", lit(meta.languages)),
        ("n_parameters", lit(meta.n_parameters)),
        ("n_embedding_parameters", lit(meta.n_embedding_parameters)),
        ("memory_usage_mb", lit(meta.memory_usage_mb)),
        ("max_tokens", lit(meta.max_tokens)),
        ("embed_dim", lit(meta.embed_dim)),
        ("license", lit(meta.license)),
        ("open_weights", lit(meta.open_weights)),
        ("public_training_code", lit(meta.public_training_code)),
        ("public_training_data", lit(meta.public_training_data)),
        ("framework", lit(list(meta.framework))),
        ("reference", lit(meta.reference)),
        ("similarity_fn_name", f"ScoringFunction.{sim.name}" if sim is not None else "None"),
        ("use_instructions", lit(meta.use_instructions)),
        ("training_datasets", lit(meta.training_datasets)),
        ("adapted_from", lit(meta.adapted_from)),
        ("model_type", lit(list(meta.model_type))),
        ("modalities", lit(list(meta.modalities))),
    ]
    body = "\n".join(f"    {key}={value}," for key, value in fields)
    return (
        f'"""mteb model-registry entry for {meta.name} (generated by `leaf-hub leaderboard`).\n\n'
        "Add it to mteb/models/model_implementations/ (a new module or an existing one) in a pull request to\n"
        f'{MTEB_REPO}.\n"""\n\n'
        "from mteb.models.model_meta import ModelMeta, ScoringFunction\n"
        "from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper\n\n"
        f"{name} = ModelMeta(\n{body}\n)\n"
    )


def card_training_data(model_dir: str | Path) -> list[str]:
    """The training datasets a model's own card declares (the ``datasets:`` list of its README front matter).

    These are Hub dataset ids (``ms_marco``, ``natural_questions``); a recipe's
    ``teacher.training_datasets`` lists the mteb tasks built from them.

    Returns:
        The ids in card order (``[]`` when the folder has no README or the card declares none).
    """
    path = Path(model_dir) / "README.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    if not text.startswith("---"):
        return []
    try:
        front = yaml.safe_load(text.split("---", 2)[1]) or {}
    except (yaml.YAMLError, IndexError):
        return []
    datasets = front.get("datasets") if isinstance(front, dict) else None
    return [str(d) for d in datasets] if isinstance(datasets, list) else []
