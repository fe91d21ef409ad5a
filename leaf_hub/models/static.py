"""The static leaf: a token-embedding table with mean pooling (sentence-transformers' ``StaticEmbedding``).

The table is built from a model (the teacher) with the library, never by hand:
``StaticEmbedding.from_distillation`` runs model2vec's ``distill`` (one forward pass per vocabulary
token). Building takes minutes on a CPU, so the table is kept once per machine under
``$LEAF_HUB_HOME/static_tables/<key>``, keyed by the source model's files, the options and the
model2vec version (:func:`static_table`).

Averaging per-token teacher vectors does not land in the teacher's sentence space, so the student
is first ``StaticEmbedding → Dense → Normalize``: the ``Dense`` map is ridge-fitted exactly like the
transformer leaf's projection (:func:`leaf_hub.models.student.init_projection`) and then folded
into the table (:func:`fold_projection`). Mean pooling is linear, so for any non-empty text

    ``mean_t(E[t]) Wᵀ + b == mean_t(E[t] Wᵀ + b)``

and the folded ``StaticEmbedding → Normalize`` gives the same vectors as the three modules (a text
with no known token gets the zero vector from the folded table, ``b`` from the unfolded one). The
saved folder holds stock modules only.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

__all__ = [
    "build_static_student",
    "fold_projection",
    "is_static",
    "static_table",
    "static_table_key",
]


def _static_embedding_class() -> Any:
    try:
        from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import StaticEmbedding
    return StaticEmbedding


def is_static(model: SentenceTransformer) -> bool:
    """Whether ``model`` starts with a ``StaticEmbedding`` (a static leaf)."""
    return type(model[0]).__name__ == "StaticEmbedding"


def static_table_key(source: str | Path, *, pca_dims: int | None, sif_coefficient: float | None) -> str:
    """The cache key of a table: the source's files (or id), the options and the model2vec version."""
    import importlib.metadata as md

    from leaf_hub.assets import model_fingerprint
    from leaf_hub.hashing import digest

    weights = model_fingerprint(source) if Path(source).is_dir() else str(source)
    return digest("static-table", weights, pca_dims, sif_coefficient, md.version("model2vec"))


def static_table(
    source: str | Path,
    *,
    pca_dims: int | None = None,
    sif_coefficient: float | None = 1e-4,
    cache_root: Path | None = None,
    device: str | None = None,
) -> Any:
    """A ``StaticEmbedding`` distilled from ``source`` by model2vec, built once per machine.

    Args:
        source: Local model folder (the teacher's offline copy) or Hub id.
        pca_dims: PCA dimensions of the table (``None``: none, the source's width).
        sif_coefficient: model2vec's SIF token weighting (``None``: none).
        cache_root: Folder of built tables (default ``$LEAF_HUB_HOME/static_tables``).
        device: Torch device of the distillation forward passes.

    Returns:
        A fresh ``StaticEmbedding`` module (float32), loaded from the cache.
    """
    from leaf_hub.assets import leaf_hub_home

    static_cls = _static_embedding_class()
    key = static_table_key(source, pca_dims=pca_dims, sif_coefficient=sif_coefficient)
    root = Path(cache_root) if cache_root else leaf_hub_home() / "static_tables"
    folder = root / key[:16]
    if not (folder / "model.safetensors").is_file() or not (folder / "tokenizer.json").is_file():
        logger.info("building the static table of %s with model2vec (once per machine) ...", source)
        module = static_cls.from_distillation(
            str(source), pca_dims=pca_dims, sif_coefficient=sif_coefficient, quantize_to="float32", device=device
        )
        tmp = root / f".{key[:16]}.{uuid.uuid4().hex}.tmp"
        tmp.mkdir(parents=True)
        try:
            module.save(str(tmp), safe_serialization=True)
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    module = static_cls.load(str(folder))
    module.embedding.weight.data = module.embedding.weight.data.float()
    return module


def build_static_student(
    source: str | Path,
    *,
    projection_dim: int,
    projection_bias: bool = True,
    normalize: bool = True,
    pca_dims: int | None = None,
    sif_coefficient: float | None = 1e-4,
    prompts: dict[str, str] | None = None,
    device: str | None = None,
    cache_root: Path | None = None,
) -> SentenceTransformer:
    """``StaticEmbedding → Dense → Normalize``, the ``Dense`` waiting for its ridge fit.

    After :func:`~leaf_hub.models.student.init_projection` fits the ``Dense``, :func:`fold_projection`
    folds it into the table.

    Args:
        source: The model the table is distilled from (the teacher's folder).
        projection_dim: Output dimension (the teacher's).
        projection_bias: Whether the map has a bias.
        normalize: End with ``Normalize``.
        pca_dims: PCA dimensions of the table (``None``: none).
        sif_coefficient: model2vec's SIF weighting.
        prompts: Prompts stored in the model config.
        device: Torch device.
        cache_root: Folder of built tables.

    Returns:
        The student.
    """
    import torch
    from sentence_transformers import SentenceTransformer, models

    table = static_table(source, pca_dims=pca_dims, sif_coefficient=sif_coefficient, cache_root=cache_root)
    torch.manual_seed(0)
    dense = models.Dense(
        table.get_embedding_dimension(), projection_dim, bias=projection_bias, activation_function=torch.nn.Identity()
    )
    modules = [table, dense] + ([models.Normalize()] if normalize else [])
    clean = {k: v for k, v in (prompts or {}).items()}
    student = SentenceTransformer(modules=modules, device=device, prompts=clean or None)
    student.similarity_fn_name = "cosine"
    return student


def fold_projection(student: SentenceTransformer) -> SentenceTransformer:
    """Fold the ``Dense`` after a ``StaticEmbedding`` into the table: ``E' = E Wᵀ + b``.

    Exact for mean pooling (up to float rounding; computed in float64). The result shares nothing
    with ``student``.

    Args:
        student: ``StaticEmbedding → Dense (identity activation) [→ Normalize]``.

    Returns:
        ``StaticEmbedding [→ Normalize]`` giving the same vectors.

    Raises:
        ValueError: If the model is not a static table followed by a linear ``Dense``.
    """
    import torch
    from sentence_transformers import SentenceTransformer, models

    table, rest = student[0], list(student)[1:]
    if not is_static(student) or not rest or not isinstance(rest[0], models.Dense):
        raise ValueError("fold_projection needs StaticEmbedding followed by Dense")
    dense = rest[0]
    if not isinstance(dense.activation_function, torch.nn.Identity):
        raise ValueError("only a linear Dense (identity activation) folds into the table")
    with torch.no_grad():
        weight = dense.linear.weight.detach().double().cpu()
        folded = table.embedding.weight.detach().double().cpu() @ weight.T
        if dense.linear.bias is not None:
            folded += dense.linear.bias.detach().double().cpu()
    static_cls = _static_embedding_class()
    new_table = static_cls(table.tokenizer, embedding_weights=folded.float().contiguous())
    new_table.base_model = getattr(table, "base_model", None)
    modules = [new_table, *[m for m in rest[1:]]]
    out = SentenceTransformer(modules=modules, device=str(student.device), prompts=dict(student.prompts) or None)
    out.similarity_fn_name = student.similarity_fn_name or "cosine"
    return out
