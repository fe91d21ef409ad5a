"""Recipes: the validated YAML description of one leaf model, from teacher to Hub repo.

A recipe names every model and dataset by its real Hugging Face Hub id (so the same file works
against huggingface.co) and says where the offline copy lives. Loading is strict, like mteb's
``TaskMetadata``: an unknown key, a wrong type or a missing file is a :class:`RecipeError`
whose one-line message names the key.

Example:
    >>> from leaf_hub.recipe import load_recipe
    >>> recipe = load_recipe("recipes/leaf-ir-mini.yaml")  # doctest: +SKIP
    >>> recipe.teacher.id
    'sentence-transformers/all-mpnet-base-v2'
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from leaf_hub.assets import SHIPPED_DATA
from leaf_hub.errors import RecipeError
from leaf_hub.hashing import sha256_text
from leaf_hub.hub import check_repo_id

__all__ = [
    "CardSpec",
    "ComputeSpec",
    "DataSource",
    "DataSpec",
    "EvalSpec",
    "HubSpec",
    "ModelSpec",
    "Recipe",
    "StudentSpec",
    "TeacherKind",
    "TeacherSpec",
    "TrainingSpec",
    "TrainingStage",
    "find_recipe",
    "load_recipe",
]

#: Tasks evaluated unless a recipe names others: those with copies shipped in ``../shared/data``.
DEFAULT_TASKS: tuple[str, ...] = tuple(SHIPPED_DATA)
EvalMode = Literal["student", "teacher", "asymmetric", "init"]
_VERSION = re.compile(r"^\d+\.\d+\.\d+([.-]?[A-Za-z0-9.]+)?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """A model named by its Hub id, with an optional pinned revision and offline path.

    Attributes:
        id: Hub id, e.g. ``sentence-transformers/all-MiniLM-L6-v2``.
        revision: Pinned Hub revision (40-hex commit) used when loading from the Hub.
        path: Local folder; ``None`` lets :mod:`leaf_hub.assets` fetch the offline copy.
        source: ``auto`` (offline copy when one is known, else the Hub), ``offline``, ``hub`` or ``path``.
        max_seq_length: Token limit used for encoding.
        license: SPDX-style licence id of the weights, checked before publishing.
    """

    id: str
    revision: str | None = None
    path: str | None = None
    source: Literal["auto", "offline", "hub", "path"] = "auto"
    max_seq_length: int | None = Field(default=None, gt=0, le=8192)
    license: str = "apache-2.0"

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return check_repo_id(value)

    def resolve(self) -> str:
        """What ``SentenceTransformer(...)`` loads: a folder or the Hub id (:func:`~leaf_hub.assets.resolve_model`).

        Raises:
            AssetError: If the offline copy cannot be had.
            ModelFolderError: If a given path is not a model folder.
        """
        from leaf_hub.assets import resolve_model

        return resolve_model(self.id, path=self.path, source=self.source)


def check_task_prompts(prompts: dict[str, str]) -> dict[str, str]:
    """Check that every key of a per-task prompt table is one mteb resolves.

    Keys follow mteb's model-prompt convention: a task name (``SciFact``), a task type
    (``Retrieval``, ``STS``), either optionally followed by ``-query`` or ``-document``
    (``SciFact-query``). ``query`` and ``document`` themselves are the ``query_prompt`` and
    ``document_prompt`` fields.

    Raises:
        ValueError: On the first key mteb would not match to any task.
    """
    if not prompts:
        return prompts
    from typing import get_args

    import mteb
    from mteb.abstasks.task_metadata import TaskType

    for key in prompts:
        if key in ("query", "document"):
            raise ValueError(f"'{key}' is set with {key}_prompt, not in task_prompts")
        name = key.rsplit("-", 1)[0] if key.endswith(("-query", "-document")) else key
        if name in get_args(TaskType):
            continue
        try:
            mteb.get_task(name)
        except (KeyError, ValueError):
            raise ValueError(
                f"'{key}' is not an mteb task name or task type (e.g. SciFact, Retrieval, STS, "
                "optionally ending in -query or -document)"
            ) from None
    return prompts


#: A per-task prompt table, checked by :func:`check_task_prompts`.
TaskPrompts = Annotated[dict[str, str], AfterValidator(check_task_prompts)]


#: How a recipe's teacher produces vectors.
TeacherKind = Literal["sentence-transformers", "precomputed", "callable"]
_FUNCTION = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class TeacherSpec(ModelSpec):
    """The teacher: any model whose vectors the student learns to reproduce.

    ``kind`` says where the vectors come from:

    * ``sentence-transformers`` (default): a model loaded from ``id`` / ``path``;
    * ``precomputed``: a file of texts and their vectors (``vectors``: ``.parquet`` or ``.jsonl``
      with ``text`` and ``vector`` columns, or ``.npy`` plus a ``texts`` file), e.g. bought once
      from an embedding API; checked before any training (see :mod:`leaf_hub.encoders`);
    * ``callable``: ``function``, an import path ``module:function`` taking a list of texts and
      returning vectors, called in batches with bounded retries.

    For the last two (black-box teachers) ``id`` names the teacher and ``dim`` is required.

    Attributes:
        kind: Where the vectors come from.
        query_prompt: Text prepended to queries before encoding (empty for all-mpnet-base-v2).
        document_prompt: Text prepended to documents before encoding.
        normalize: Whether teacher vectors are L2-normalised (the student then ends in ``Normalize``);
            for ``precomputed`` it is checked, not applied.
        batch_size: Batch size for teacher encoding (texts per call of a ``callable``).
        task_prompts: Per-task prompts the teacher is evaluated with, keyed as mteb keys model
            prompts (see :func:`check_task_prompts`); distillation texts use ``query_prompt`` and
            ``document_prompt`` only.
        matryoshka: The teacher was trained with a Matryoshka loss (its own card says so). Only
            then may a card claim that the student inherits truncation behaviour, and carry the
            ``matryoshka`` tag. Left out of the serialised recipe while ``False``, so fingerprints
            of recipes written before it do not change.
        vectors: ``precomputed``: the vectors file (relative paths: to the current directory).
        texts: ``precomputed`` with ``.npy`` vectors: the texts, one per line (``.txt``) or a JSON list.
        function: ``callable``: ``module:function``.
        function_version: ``callable``: declared version of the function (part of the fingerprint).
        dim: Dimension of a black-box teacher's vectors.
        max_retries: ``callable``: retries of a failed batch before giving up.
        retry_backoff: ``callable``: seconds before the first retry, doubled after each.
        document_encoder: A sentence-transformers model that encodes documents into a black-box
            teacher's space (needed for ``publish --asym`` with such a teacher).
        training_datasets: mteb task names whose data the teacher was trained on, as its model
            card declares them (checked against mteb's tasks). The leaderboard ``ModelMeta`` lists
            them, so a distilled student is not counted as zero-shot on its teacher's training data.

    Fields added with ``kind`` are left out of the serialised recipe while they hold their
    defaults, so fingerprints of recipes written before them do not change.
    """

    kind: TeacherKind = "sentence-transformers"
    query_prompt: str = ""
    document_prompt: str = ""
    normalize: bool = True
    batch_size: int = Field(default=32, gt=0, le=4096)
    task_prompts: TaskPrompts = Field(default_factory=dict)
    matryoshka: bool = False
    vectors: str | None = None
    texts: str | None = None
    function: str | None = None
    function_version: str | None = None
    dim: int | None = Field(default=None, gt=0, le=16384)
    max_retries: int = Field(default=3, ge=0, le=20)
    retry_backoff: float = Field(default=1.0, ge=0, le=600)
    document_encoder: ModelSpec | None = None
    training_datasets: list[str] | None = None

    @field_validator("training_datasets")
    @classmethod
    def _check_training_datasets(cls, value: list[str] | None) -> list[str] | None:
        if not value:
            return None
        import mteb

        for name in value:
            try:
                mteb.get_task(name)
            except (KeyError, ValueError):
                raise ValueError(f"'{name}' is not an mteb task name") from None
        return sorted(set(value))

    @property
    def black_box(self) -> bool:
        """Whether the teacher is only known through its vectors (``precomputed`` or ``callable``)."""
        return self.kind != "sentence-transformers"

    @model_validator(mode="after")
    def _check_kind(self) -> TeacherSpec:
        kind = self.kind
        fields = {"vectors": "precomputed", "texts": "precomputed", "function": "callable"}
        fields["function_version"] = "callable"
        for name, owner in fields.items():
            if getattr(self, name) is not None and owner != kind:
                raise ValueError(f"{name} is only used with kind: {owner} (this teacher is kind: {kind})")
        if kind == "sentence-transformers":
            return self
        if self.dim is None:
            raise ValueError(f"a {kind} teacher needs dim (the dimension of its vectors)")
        if kind == "precomputed":
            if not self.vectors:
                raise ValueError("a precomputed teacher needs vectors (a .parquet, .jsonl or .npy file)")
            suffix = Path(self.vectors).suffix.lower()
            if suffix not in (".parquet", ".jsonl", ".npy"):
                raise ValueError(f"vectors must be a .parquet, .jsonl or .npy file, got {self.vectors!r}")
            if (suffix == ".npy") != (self.texts is not None):
                raise ValueError("texts (one per line) is needed with .npy vectors, and only with them")
            if self.query_prompt or self.document_prompt:
                raise ValueError("prompts cannot be applied to precomputed vectors; leave them empty")
        elif not self.function or not _FUNCTION.match(self.function):
            raise ValueError(f"a callable teacher needs function: module:function, got {self.function!r}")
        return self

    @model_serializer(mode="wrap")
    def _drop_default_kind_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for name in _TEACHER_KIND_FIELDS:
            if name in data and data[name] == type(self).model_fields[name].default:
                del data[name]
        return data


#: Teacher fields added after the first recipes (``matryoshka``, ``kind`` and its fields); omitted from
#: dumps while at their defaults.
_TEACHER_KIND_FIELDS = (
    "matryoshka",
    "kind",
    "vectors",
    "texts",
    "function",
    "function_version",
    "dim",
    "max_retries",
    "retry_backoff",
    "document_encoder",
    "training_datasets",
)


class StudentSpec(ModelSpec):
    """The student initialisation and its projection to the teacher's dimension.

    Attributes:
        projection_dim: Output dimension of the ``Dense`` projection; must equal the teacher's.
        projection_bias: Whether the projection has a bias (leaf-mt uses none).
        projection_init: ``ridge`` (least squares with an L2 penalty on a sample), ``identity``
            (when dimensions match) or ``random`` (PyTorch default). Plain least squares is not
            offered: it gives huge weights that wreck training.
        ridge_lambda: Penalty of the ridge initialisation, or ``auto`` (chosen on held-out
            training texts).
        ridge_samples: Training texts used to fit the ridge projection.
        query_prompt: Prompt stored in the saved model for queries (``prompts["query"]``).
        document_prompt: Prompt stored for documents.
        task_prompts: Per-task prompts stored next to them in the saved model's ``prompts``
            (``{"SciFact-query": "...", "STS": "..."}``, keyed as mteb keys model prompts), so
            evaluation here and stock mteb on the published model use the same prompt per task.
        kind: ``transformer`` (``id`` is a small encoder: Transformer, Pooling, ``Dense``) or
            ``static`` (``id`` is the model a token-embedding table is distilled from, normally
            the teacher: sentence-transformers' ``StaticEmbedding`` built by model2vec, its
            ridge-fitted map into the teacher's space folded into the table; see
            :mod:`leaf_hub.models.static`).
        pca_dims: ``static``: PCA dimensions of the table (``None``: none, the source's width).
        sif_coefficient: ``static``: model2vec's SIF token weighting (``None``: none).

    ``kind`` and the static options are left out of the serialised recipe while they hold their
    defaults, so fingerprints of recipes written before them do not change.
    """

    projection_dim: int = Field(gt=0, le=16384)
    projection_bias: bool = True
    projection_init: Literal["ridge", "identity", "random"] = "ridge"
    ridge_lambda: float | Literal["auto"] = "auto"
    ridge_samples: int = Field(default=8192, ge=16)
    query_prompt: str = ""
    document_prompt: str = ""
    task_prompts: TaskPrompts = Field(default_factory=dict)
    kind: Literal["transformer", "static"] = "transformer"
    pca_dims: int | None = Field(default=None, gt=0, le=16384)
    sif_coefficient: float | None = Field(default=1e-4, ge=0, lt=1)

    @field_validator("ridge_lambda")
    @classmethod
    def _check_lambda(cls, value: float | str) -> float | str:
        if value != "auto" and not float(value) > 0:
            raise ValueError("ridge_lambda must be > 0 or 'auto'")
        return value

    @model_validator(mode="after")
    def _check_static_options(self) -> StudentSpec:
        if self.kind != "static":
            for name in _STATIC_OPTIONS:
                if name in self.model_fields_set:
                    raise ValueError(f"{name} is only used with kind: static (this student is kind: {self.kind})")
        elif self.max_seq_length is not None:
            raise ValueError("max_seq_length does not apply to kind: static (a static table reads every token)")
        return self

    @model_serializer(mode="wrap")
    def _drop_default_kind(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for name in ("kind", *_STATIC_OPTIONS):
            if name in data and data[name] == type(self).model_fields[name].default:
                del data[name]
        return data


#: Student options of ``kind: static`` only.
_STATIC_OPTIONS = ("pca_dims", "sif_coefficient")


class DataSource(_Strict):
    """One file of unlabelled training text (one text per line).

    Attributes:
        path: File path, relative to ``data.root`` unless absolute.
        samples: How many lines to draw (``None``: all of them), sampled with the recipe seed.
        kind: ``query`` or ``document``: decides which teacher prompt is applied.
        license: Licence of the text, printed in the card.
    """

    path: str
    samples: int | None = Field(default=None, gt=0)
    kind: Literal["query", "document"] = "document"
    license: str = "research-only"


class DataSpec(_Strict):
    """Training and held-out text.

    Attributes:
        root: Folder holding the data (``None``: ``$LEAF_HUB_DATA`` or ``../shared/data``).
        sources: Training text files.
        heldout: Texts kept out of training to measure alignment (drawn from the same sources).
        max_chars: Texts are truncated to this many characters before tokenisation.
    """

    root: str | None = None
    sources: list[DataSource] = Field(min_length=1)
    heldout: int = Field(default=200, ge=10)
    max_chars: int = Field(default=4000, gt=0)


class TrainingStage(_Strict):
    """One stage of a staged training: only texts of the given kinds, its own epochs and learning rate.

    pyNIFE trains a static query encoder on documents first, then on queries at a lower learning
    rate; ``stages: [{kinds: [document], epochs: 2}, {kinds: [query], epochs: 2, learning_rate: 2e-4}]``
    says that. Each stage is a full run of the trainer (warm-up and schedule included) that starts
    from the weights the previous stage left.

    Attributes:
        kinds: The text kinds (``query``, ``document``) this stage trains on.
        epochs: Passes over those texts.
        learning_rate: Peak learning rate of this stage (``None``: ``training.learning_rate``).
    """

    kinds: list[Literal["query", "document"]] = Field(min_length=1)
    epochs: float = Field(gt=0)
    learning_rate: float | None = Field(default=None, gt=0, le=1.0)


class TrainingSpec(_Strict):
    """Optimisation settings.

    Attributes:
        batch_size: Texts per step.
        learning_rate: Peak learning rate of the encoder.
        projection_lr_multiplier: Learning-rate multiplier for the projection layer.
        epochs: Passes over the training texts (ignored when ``max_steps`` is set).
        max_steps: Stop after this many steps.
        warmup_ratio: Fraction of steps with linear warm-up.
        weight_decay: AdamW weight decay.
        seed: Seed of sampling, initialisation and data order.
        checkpoint_steps: Save a resumable checkpoint every N steps.
        loss: ``mse`` (squared L2 per sample, the LEAF loss) or ``cosine``.
        device: ``auto``, ``cpu`` or ``cuda``.
        bf16: Use bf16 autocast on GPU.
        focal_gamma: Focal-style reweighting (KaLM-Embedding-V2): each text's loss is weighted by
            ``(1 - cos(student, teacher))^focal_gamma``, normalised to mean 1 per batch; ``0``: off.
        score_distill_weight: Weight of soft-label score distillation (LG-ANNA): KL between the
            teacher's and the student's in-batch similarity distributions; ``0``: off.
        score_distill_temperature: Softmax temperature of that score distillation.
        schedule: Learning-rate schedule: ``linear`` (warm-up, linear decay), ``constant_cooldown``
            (warm-up, constant, linear cool-down over the last ``cooldown_ratio`` of the steps) or
            ``cycles`` (``cycles`` back-to-back linear schedules, as LEAF trains).
        cycles: Number of linear cycles of ``schedule: cycles``.
        cooldown_ratio: Share of steps of the cool-down of ``schedule: constant_cooldown``.
        trainable_layers: Train only the top N transformer layers and the projection (embeddings
            and lower layers frozen: cheaper steps); ``None``: every parameter trains.
        length_group: Batches per length-sorted mega-batch: texts of similar length share a batch
            (less padding); ``1``: the stock random batches.
        dataloader_workers: DataLoader worker processes (collation is cheap once texts are
            pre-tokenised; workers pay on a GPU machine with many cores).
        optimizer: ``adamw`` (the stock fused AdamW over every parameter) or ``sparse_adam``
            (``student.kind: static`` only: the table's gradient is sparse and ``SparseAdam``
            updates only the rows of the batch's tokens; no weight decay, no gradient clipping).
        stages: Train in stages (:class:`TrainingStage`), e.g. documents first, then queries at a
            lower learning rate; ``epochs`` is then unused. ``None``: one run over every text.

    The last three options are off by default, so a custom recipe trains plain LEAF; the shipped
    recipes switch score distillation on (weight 0.1, chosen in ``reports/ablation.json``). While
    the options hold their defaults they are left out of the serialised recipe, so fingerprints of
    recipes written before them do not change.
    """

    batch_size: int = Field(default=32, gt=0, le=8192)
    learning_rate: float = Field(default=1e-4, gt=0, le=1.0)
    projection_lr_multiplier: float = Field(default=1.0, gt=0)
    epochs: float = Field(default=1.0, gt=0)
    max_steps: int | None = Field(default=None, gt=0)
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1)
    weight_decay: float = Field(default=0.01, ge=0)
    seed: int = 42
    checkpoint_steps: int = Field(default=200, gt=0)
    loss: Literal["mse", "cosine"] = "mse"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool = False
    focal_gamma: float = Field(default=0.0, ge=0, le=10)
    score_distill_weight: float = Field(default=0.0, ge=0, le=100)
    score_distill_temperature: float = Field(default=0.05, gt=0, le=10)
    schedule: Literal["linear", "constant_cooldown", "cycles"] = "linear"
    cycles: int = Field(default=1, ge=1, le=100)
    cooldown_ratio: float = Field(default=0.2, gt=0, le=1)
    trainable_layers: int | None = Field(default=None, ge=0, le=128)
    length_group: int = Field(default=64, ge=1, le=100_000)
    dataloader_workers: int = Field(default=0, ge=0, le=64)
    optimizer: Literal["adamw", "sparse_adam"] = "adamw"
    stages: list[TrainingStage] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _check_stages(self) -> TrainingSpec:
        if self.stages and self.max_steps is not None:
            raise ValueError("max_steps and stages do not go together; give each stage its epochs")
        return self

    @model_serializer(mode="wrap")
    def _drop_default_options(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for name in _TRAINING_OPTIONS:
            if name in data and data[name] == type(self).model_fields[name].default:
                del data[name]
        return data


#: Training options added after the first recipes; omitted from dumps while at their defaults.
_TRAINING_OPTIONS = (
    "focal_gamma",
    "score_distill_weight",
    "score_distill_temperature",
    "schedule",
    "cycles",
    "cooldown_ratio",
    "trainable_layers",
    "length_group",
    "dataloader_workers",
    "optimizer",
    "stages",
)


class EvalSpec(_Strict):
    """What evaluation runs.

    Attributes:
        tasks: mteb task or benchmark names (``SciFact``, ``ArguAna``, ``BEIR``, ``MTEB(eng, v2)``),
            checked against mteb's metadata. Tasks with a local copy (the shipped SciFact, NFCorpus
            and STS-B, or a folder in ``local``) are read from it; mteb downloads the others, which
            needs the Hub (an unreachable one is refused before any model loads).
        local: Task name -> a BEIR-layout (Retrieval) or STS-layout (STS) folder that stands for
            that task, under its own mteb metadata (so its scores are that task's); relative paths
            are read from the data root. The files' checksum is recorded with each score.
        modes: ``student``, ``teacher`` (symmetric), ``asymmetric`` (teacher documents, student queries)
            and ``init`` (the student's initialisation as published, before distillation).
        split: Evaluation split (``test``; choose settings on ``dev``/``train``).
        corpus_limit: Sub-sample retrieval corpora to this many documents (all relevant documents
            kept), for CPU-sized runs; ``None`` evaluates the full corpus. Scores on a sub-sampled
            corpus are labelled as such and are not comparable with the MTEB leaderboard.
        query_limit: Evaluate at most this many queries per retrieval task (pairs for STS).
        sweep_dims: Matryoshka dimensions for the truncation × quantisation sweep (those above a
            model's dimension are skipped).
        sweep_precisions: Precisions of the sweep.
        batch_size: Encoding batch size.
        speed_texts: When > 0, time student and teacher uncached on this many query texts of the
            first task (interleaved repeats, :mod:`leaf_hub.evaluation.speed`): the only source of
            a card's speed claim; ``0``: no timing, no speed claim.
    """

    tasks: list[str] = Field(default_factory=lambda: list(DEFAULT_TASKS))
    local: dict[str, str] = Field(default_factory=dict)
    modes: list[EvalMode] = Field(default_factory=lambda: ["student", "teacher", "asymmetric"])
    split: Literal["test", "dev", "train"] = "test"
    corpus_limit: int | None = Field(default=None, gt=0)
    query_limit: int | None = Field(default=None, gt=0)
    sweep_dims: list[int] = Field(default_factory=lambda: [768, 512, 256, 128, 64])
    sweep_precisions: list[Literal["float32", "int8", "binary"]] = Field(
        default_factory=lambda: ["float32", "int8", "binary"]
    )
    batch_size: int = Field(default=32, gt=0)
    speed_texts: int = Field(default=0, ge=0, le=100_000)

    @field_validator("tasks")
    @classmethod
    def _check_tasks(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one mteb task or benchmark")
        if set(value) <= set(DEFAULT_TASKS):
            return value
        from leaf_hub.errors import EvalError
        from leaf_hub.task_meta import resolve_task_names

        try:
            resolve_task_names(value)
        except EvalError as e:
            raise ValueError(str(e)) from None
        return value

    @field_validator("local")
    @classmethod
    def _check_local(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            return value
        import mteb

        for name in value:
            try:
                mteb.get_task(name)
            except (KeyError, ValueError):
                raise ValueError(f"'{name}' is not an mteb task name (a local folder stands for one task)") from None
        return value

    @model_serializer(mode="wrap")
    def _drop_empty_local(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if not data.get("local"):
            data.pop("local", None)
        return data


class CardSpec(_Strict):
    """Model-card metadata that is not derived from results.

    Attributes:
        template: Card template name in ``model_cards/`` (``leaf-ir``, ``leaf-mt`` or ``generic``).
        model_name: Human name shown in the card.
        language: ISO codes.
        license: Licence the model is published under.
        tags: Extra Hub tags.
        pipeline_tag: Hub pipeline tag.
    """

    template: Literal["leaf-ir", "leaf-mt", "generic"] = "generic"
    model_name: str | None = None
    language: list[str] = Field(default_factory=lambda: ["en"])
    license: str = "apache-2.0"
    tags: list[str] = Field(default_factory=list)
    pipeline_tag: str = "sentence-similarity"


class HubSpec(_Strict):
    """Where the model is published.

    Attributes:
        repo_id: ``org/name`` on the Hub.
        private: Create the repository as private.
        endpoint: Hub endpoint (``None``: huggingface.co or ``$HF_ENDPOINT``).
    """

    repo_id: str
    private: bool = False
    endpoint: str | None = None

    @field_validator("repo_id")
    @classmethod
    def _check_repo(cls, value: str) -> str:
        return check_repo_id(value)


class ComputeSpec(_Strict):
    """What the whole release of a recipe needs: the device it is sized for, a time budget, the precision.

    The release workflow (``scripts/release_params.py``) refuses a recipe whose ``device`` differs
    from the runner's, before any work, and uses ``minutes`` as the release job's time limit.
    Neither changes the model, so :meth:`Recipe.fingerprint` leaves this section out. ``dtype`` is
    resolved per machine (:func:`leaf_hub.precision.resolve_precision`), so it is not part of it
    either: what each stage used is in its record, and the teacher cache's fingerprint has it.

    Attributes:
        device: ``gpu`` (full recipes: a GPU self-hosted runner) or ``cpu`` (small ones: a hosted runner).
        minutes: Wall-clock minutes the release job (install, distil, evaluate, card, publish,
            verify) may take on that device; becomes ``timeout-minutes``.
        dtype: Precision of the teacher's vectors and of training: ``auto`` (bf16 where the device
            runs it natively: a CPU with AMX or AVX512-BF16, a bf16 GPU; fp32 elsewhere), ``fp32``
            or ``bf16``. Evaluation encoders always run in fp32.
    """

    device: Literal["gpu", "cpu"]
    minutes: int = Field(gt=0, le=7200)
    dtype: Literal["auto", "fp32", "bf16"] = "auto"


class Recipe(_Strict):
    """A full leaf-hub recipe.

    Attributes:
        name: Short name of the model (``leaf-ir``).
        version: Semantic version; release tags must equal ``v{version}``.
        description: One sentence about the model.
        teacher: The teacher model.
        student: The student initialisation and projection.
        data: Training and held-out text.
        training: Optimisation settings.
        evaluation: Evaluation settings.
        card: Card metadata.
        hub: Publication target.
        output_dir: Run folder (relative paths are resolved against the current directory).
        compute: Device and time budget of a release (``None``: undeclared; the release workflow
            then refuses the recipe). Not part of :meth:`fingerprint`.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: str = "0.1.0"
    description: str = ""
    teacher: TeacherSpec
    student: StudentSpec
    data: DataSpec
    training: TrainingSpec = TrainingSpec()
    evaluation: EvalSpec = EvalSpec()
    card: CardSpec = CardSpec()
    hub: HubSpec
    output_dir: str = "runs/{name}"
    compute: ComputeSpec | None = None

    @field_validator("version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError(f"'{value}' is not a semantic version like 0.1.0")
        return value

    @model_validator(mode="after")
    def _check_student_kind(self) -> Recipe:
        if self.student.kind == "static":
            if self.training.trainable_layers is not None:
                raise ValueError("training.trainable_layers does not apply to student.kind: static (no layers)")
            if "init" in self.evaluation.modes:
                raise ValueError(
                    "evaluation.modes: init scores student.id as published, which for student.kind: static is the "
                    "model the table is distilled from (the teacher); leave init out"
                )
        elif self.training.optimizer == "sparse_adam":
            raise ValueError("training.optimizer: sparse_adam needs student.kind: static (a sparse embedding table)")
        return self

    @property
    def run_dir(self) -> Path:
        """The run folder, with ``{name}`` substituted."""
        return Path(self.output_dir.format(name=self.name))

    def fingerprint(self, *sections: str) -> str:
        """Return a stable sha256 of the recipe (or of the named top-level sections).

        Args:
            sections: Top-level keys to include (all when empty), e.g. ``"teacher", "data"``.

        Returns:
            64-hex digest of the canonical JSON of those sections. With no ``sections`` the
            ``compute`` section is left out: it sizes the release job and does not change the
            model, so declaring or changing it keeps run folders, caches and manifests up to date.
        """
        data = self.model_dump(mode="json")
        if sections:
            data = {k: data[k] for k in sections}
        else:
            data.pop("compute", None)
        return sha256_text(json.dumps(data, sort_keys=True))


def _format_validation_error(source: str, error: ValidationError) -> str:
    first = error.errors()[0]
    # keys come from the user's file: show odd ones (newlines, control characters, padding) quoted
    parts = [
        str(p) if str(p) and str(p).isprintable() and str(p).strip() == str(p) else repr(str(p)) for p in first["loc"]
    ]
    loc = ".".join(parts) or "(top level)"
    msg = " ".join(str(first["msg"]).split())
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif first["type"] == "missing":
        msg = "missing required key"
    msg = msg.removeprefix("Value error, ")
    more = f" (+{len(error.errors()) - 1} more)" if len(error.errors()) > 1 else ""
    return f"recipe {source}: {loc}: {msg}{more}"


def recipe_dirs() -> list[Path]:
    """Folders searched for recipes given by name: ``./recipes``, the source tree's and the installed copy."""
    here = Path(__file__).resolve().parent
    return [Path("recipes"), here.parent / "recipes", here / "_data" / "recipes"]


def find_recipe(name_or_path: str | Path) -> Path:
    """Resolve a recipe path or a bare name such as ``leaf-ir-mini``.

    Args:
        name_or_path: A path to a YAML file, or the stem of a recipe shipped with leaf-hub.

    Returns:
        The path of the recipe file.

    Raises:
        RecipeError: If no such file exists.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.suffix not in (".yaml", ".yml") and path.parent == Path("."):
        for folder in recipe_dirs():
            candidate = folder / f"{path.name}.yaml"
            if candidate.is_file():
                return candidate
    raise RecipeError(f"recipe not found: {name_or_path} (give a .yaml path or one of: {', '.join(list_recipes())})")


def list_recipes() -> list[str]:
    """Names of the recipes shipped with leaf-hub."""
    names: set[str] = set()
    for folder in recipe_dirs():
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.yaml"))
    return sorted(names)


def parse_recipe(data: Any, source: str = "<dict>") -> Recipe:
    """Validate an already-parsed recipe mapping.

    Args:
        data: The mapping read from YAML.
        source: Name used in error messages.

    Returns:
        The validated recipe.

    Raises:
        RecipeError: On any validation error, with a one-line message naming the key.
    """
    if not isinstance(data, dict):
        raise RecipeError(f"recipe {source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Recipe.model_validate(data)
    except ValidationError as e:
        raise RecipeError(_format_validation_error(source, e)) from e


def load_recipe(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Load and validate a recipe.

    Args:
        name_or_path: A YAML path or a shipped recipe name (``leaf-ir-mini``).
        overrides: Dotted keys to override, e.g. ``{"output_dir": "runs/x", "training.max_steps": 5}``.

    Returns:
        The validated :class:`Recipe`.

    Raises:
        RecipeError: If the file is missing, is not YAML, or fails validation.
    """
    path = find_recipe(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise RecipeError(f"recipe {path.name}: not valid YAML ({str(e).splitlines()[0]})") from e
    except RecursionError as e:
        raise RecipeError(f"recipe {path.name}: not valid YAML (nested too deeply)") from e
    except ValueError as e:  # e.g. an integer literal longer than Python converts (4300 digits)
        raise RecipeError(f"recipe {path.name}: not valid YAML ({str(e).splitlines()[0][:200]})") from e
    except OSError as e:
        raise RecipeError(f"recipe {path}: cannot read ({e.strerror})") from e
    for dotted, value in (overrides or {}).items():
        node = data if isinstance(data, dict) else {}
        *parents, leaf = dotted.split(".")
        for depth, key in enumerate(parents, start=1):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                where = ".".join(parents[:depth])
                raise RecipeError(f"recipe {path.name}: {where} must be a mapping to override {dotted}")
        node[leaf] = value
    return parse_recipe(data, path.name)
