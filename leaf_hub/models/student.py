"""The leaf student: a small encoder, mean pooling, a ``Dense`` projection to the teacher's width.

Built from stock sentence-transformers modules only, so the saved folder loads without leaf-hub.
The projection is initialised by ridge regression from the init's pooled embeddings to the
teacher's vectors: plain least squares gives weights of ~1e6 on the init's anisotropic space and
wrecks the first optimizer step (see ``shared/DEVICE.md``); a ridge penalty keeps them small.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

__all__ = ["RIDGE_GRID", "build_student", "encoder_only", "init_projection", "ridge_projection", "select_ridge_lambda"]


def build_student(
    init: str,
    *,
    projection_dim: int,
    projection_bias: bool = True,
    normalize: bool = True,
    max_seq_length: int | None = None,
    prompts: dict[str, str] | None = None,
    revision: str | None = None,
    device: str | None = None,
) -> SentenceTransformer:
    """Assemble a student: the init's transformer and pooling, a linear ``Dense``, optional ``Normalize``.

    Args:
        init: Local folder or Hub id of the student initialisation (e.g. all-MiniLM-L6-v2).
        projection_dim: Output dimension (the teacher's).
        projection_bias: Whether the projection has a bias.
        normalize: End with ``Normalize`` (when the teacher's vectors are normalised).
        max_seq_length: Token limit.
        prompts: ``{"query": ..., "document": ..., **task_prompts}`` stored in the model config.
        revision: Hub revision when ``init`` is an id.
        device: Torch device.

    Returns:
        The student; its projection holds PyTorch's default initialisation until
        :func:`init_projection` is called.
    """
    import torch
    from sentence_transformers import SentenceTransformer, models

    base = SentenceTransformer(init, revision=revision, device=device)
    encoder = [m for m in base if not isinstance(m, models.Normalize | models.Dense)]
    width = int(base.get_embedding_dimension())
    torch.manual_seed(0)
    dense = models.Dense(width, projection_dim, bias=projection_bias, activation_function=torch.nn.Identity())
    modules = [*encoder, dense] + ([models.Normalize()] if normalize else [])
    clean_prompts = {k: v for k, v in (prompts or {}).items()}
    student = SentenceTransformer(modules=modules, device=device, prompts=clean_prompts or None)
    if max_seq_length is not None:
        student.max_seq_length = max_seq_length
    student.similarity_fn_name = "cosine"
    return student


def encoder_only(student: SentenceTransformer) -> SentenceTransformer:
    """A view of the student up to pooling (shares its modules), for the projection's inputs."""
    from sentence_transformers import SentenceTransformer, models

    modules = []
    for module in student:
        if isinstance(module, models.Dense):
            break
        modules.append(module)
    return SentenceTransformer(modules=modules, device=str(student.device))


def ridge_projection(
    x: np.ndarray, y: np.ndarray, *, lam: float = 1.0, bias: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Solve ``min ||x W + b - y||² + lam ||W||²`` in closed form.

    Args:
        x: Inputs, shape ``(n, d_in)``.
        y: Targets, shape ``(n, d_out)``.
        lam: Ridge penalty (> 0).
        bias: Fit an intercept (on centred data, not penalised).

    Returns:
        ``(weight, bias)`` with ``weight`` shaped ``(d_out, d_in)`` as in ``torch.nn.Linear``.
    """
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    x_mean = x.mean(axis=0) if bias else np.zeros(x.shape[1])
    y_mean = y.mean(axis=0) if bias else np.zeros(y.shape[1])
    xc, yc = x - x_mean, y - y_mean
    gram = xc.T @ xc + lam * np.eye(x.shape[1])
    w = np.linalg.solve(gram, xc.T @ yc)  # (d_in, d_out)
    b = (y_mean - x_mean @ w) if bias else None
    return w.T.astype(np.float32), (b.astype(np.float32) if b is not None else None)


def init_projection(
    student: SentenceTransformer,
    texts: Sequence[str],
    targets: np.ndarray,
    *,
    method: str = "ridge",
    lam: float | str = "auto",
    batch_size: int = 32,
) -> dict[str, float]:
    """Initialise the student's ``Dense`` projection in place.

    Args:
        student: A student from :func:`build_student`.
        texts: Sample texts (as the student sees them, prompts included).
        targets: Teacher vectors of ``texts``.
        method: ``ridge``, ``identity`` (square projections only) or ``random`` (leave as is).
        lam: Ridge penalty, or ``"auto"``: chosen from :data:`RIDGE_GRID` by the mean cosine on
            a held-out fifth of the sample, then refitted on all of it.
        batch_size: Encoding batch size.

    Returns:
        Facts about the fit: largest absolute weight, the penalty used and the sample's mean
        cosine to the targets.
    """
    import torch
    from sentence_transformers import models

    dense = next(m for m in student if isinstance(m, models.Dense))
    linear = dense.linear
    if method == "identity":
        if linear.weight.shape[0] != linear.weight.shape[1]:
            raise ValueError("identity projection needs equal input and output dimensions")
        with torch.no_grad():
            linear.weight.copy_(torch.eye(linear.weight.shape[0]))
            if linear.bias is not None:
                linear.bias.zero_()
    elif method == "ridge":
        pooled = encoder_only(student).encode(
            list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        targets = np.asarray(targets)
        has_bias = linear.bias is not None
        lam = select_ridge_lambda(pooled, targets, bias=has_bias) if lam == "auto" else float(lam)
        weight, bias = ridge_projection(pooled, targets, lam=lam, bias=has_bias)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight))
            if bias is not None:
                linear.bias.copy_(torch.from_numpy(bias))
    fitted = student.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    cos = _mean_cosine(fitted, np.asarray(targets))
    max_w = float(linear.weight.detach().abs().max())
    logger.info("projection init %s: max |w| %.3f, sample cosine %.4f", method, max_w, cos)
    info = {"max_abs_weight": max_w, "sample_cosine": cos, "n_samples": float(len(texts))}
    if method == "ridge":
        info["ridge_lambda"] = float(lam)
    return info


#: Penalties tried by ``lam="auto"``.
RIDGE_GRID = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)


def select_ridge_lambda(x: np.ndarray, y: np.ndarray, *, bias: bool = True, seed: int = 0) -> float:
    """Pick the ridge penalty with the best mean cosine on a held-out fifth of ``(x, y)``.

    Args:
        x: Pooled student embeddings, ``(n, d_in)``.
        y: Teacher vectors, ``(n, d_out)``.
        bias: Fit an intercept.
        seed: Seed of the split.

    Returns:
        The chosen penalty from :data:`RIDGE_GRID`.
    """
    order = np.random.default_rng(seed).permutation(len(x))
    cut = max(1, len(x) // 5)
    val, fit = order[:cut], order[cut:]
    best, best_cos = RIDGE_GRID[0], -2.0
    for lam in RIDGE_GRID:
        w, b = ridge_projection(x[fit], y[fit], lam=lam, bias=bias)
        pred = x[val] @ w.T + (b if b is not None else 0)
        cos = _mean_cosine(pred, y[val])
        logger.debug("ridge lambda %g: held-out cosine %.4f", lam, cos)
        if cos > best_cos:
            best, best_cos = lam, cos
    logger.info("ridge lambda %g chosen (held-out cosine %.4f on %d texts)", best, best_cos, len(val))
    return best


def _mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float((a * b).sum(axis=1).mean())
