"""From a recipe and its run folder to a distilled student: :func:`distill`."""

from __future__ import annotations

import logging
import os
import platform
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leaf_hub import parallel
from leaf_hub.distill.alignment import alignment_by_kind, alignment_cosines, gain_standard_error
from leaf_hub.distill.checkpoints import _last_checkpoint
from leaf_hub.distill.texts import _with_prompt, load_texts, teacher_vectors
from leaf_hub.distill.train import distill_models
from leaf_hub.errors import DistillError
from leaf_hub.recipe import Recipe
from leaf_hub.records import DistillReport
from leaf_hub.run_folder import RunFolder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


logger = logging.getLogger(__name__)

__all__ = ["distill"]


def _check_writable(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / f".write-probe-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise DistillError(f"output folder is not writable: {run_dir} ({e.strerror})") from e


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("leaf-hub", "torch", "sentence-transformers", "transformers", "huggingface-hub", "mteb"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def _hardware() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def distill(recipe: Recipe, run: RunFolder, *, resume: bool = False, device: str | None = None) -> DistillReport:
    """Run a recipe's distillation end to end and write the run folder.

    Args:
        recipe: A validated recipe.
        run: Its run folder (``RunFolder(recipe.run_dir)`` unless the caller chose another).
        resume: Continue training from the last checkpoint of an interrupted run.
        device: Override the torch device.

    Returns:
        The report also written to ``<run_dir>/metrics.json``.

    Raises:
        AssetError: A model or data file is missing.
        DistillError: Dimension mismatch, unwritable output, non-finite loss.
    """
    from leaf_hub.encoders import apply_teacher_precision, build_teacher
    from leaf_hub.models.static import build_static_student, fold_projection
    from leaf_hub.models.student import build_student, init_projection
    from leaf_hub.precision import resolve_precision

    wall = time.perf_counter()
    here = parallel.init_distributed()  # torchrun / accelerate launch: one process per device
    run_dir = run.root
    folder = run
    _check_writable(run_dir)
    if resume and recipe.training.stages:
        raise DistillError("--resume is not supported with training.stages; run the distillation again")
    if resume:  # refuse before the slow teacher work
        with parallel.main_first():
            last = _last_checkpoint(folder.checkpoints_dir)
        if last is None:
            raise DistillError(f"--resume: no checkpoint in {folder.checkpoints_dir}")
    texts = load_texts(recipe.data, recipe.training.seed)  # fail on bad data before loading models
    logger.info("texts: %d training, %d held-out", len(texts.train), len(texts.heldout))

    teacher = build_teacher(recipe.teacher, device=device)
    if teacher.dim != recipe.student.projection_dim:
        raise DistillError(
            f"student.projection_dim is {recipe.student.projection_dim} but the teacher's vectors have "
            f"{teacher.dim} dimensions; set student.projection_dim: {teacher.dim}"
        )
    t0 = time.perf_counter()
    dtype = recipe.compute.dtype if recipe.compute else "auto"
    model = getattr(teacher, "model", None)
    teacher_device = str(model.device) if model is not None else "cpu"
    with parallel.main_first():  # rank 0 checks bf16 against fp32 (cached); the others read its vectors
        teacher_precision = apply_teacher_precision(teacher, resolve_precision(dtype, teacher_device), texts.heldout)
    work = folder.work_dir
    work.mkdir(exist_ok=True)
    suffix = f".rank{here.rank}" if here.distributed else ""
    train_targets, train_stats = teacher_vectors(teacher, texts.train, work / f"train_targets{suffix}.npy")
    held_targets, held_stats = teacher_vectors(teacher, texts.heldout, work / f"heldout_targets{suffix}.npy")
    teacher_seconds = time.perf_counter() - t0
    encoded_per_rank = parallel.all_gather_ints(train_stats["encoded"] + held_stats["encoded"])
    teacher_fingerprint = teacher.fingerprint
    del teacher  # free the big model before training

    prompts = {"query": recipe.student.query_prompt, "document": recipe.student.document_prompt}
    static = recipe.student.kind == "static"
    if static:  # StaticEmbedding (model2vec, cached per machine) -> Dense -> Normalize; Dense folded below
        with parallel.main_first():
            student = build_static_student(
                recipe.student.resolve(),
                projection_dim=recipe.student.projection_dim,
                projection_bias=recipe.student.projection_bias,
                normalize=recipe.teacher.normalize,
                pca_dims=recipe.student.pca_dims,
                sif_coefficient=recipe.student.sif_coefficient,
                prompts={**prompts, **recipe.student.task_prompts},
                device=device,
            )
    else:
        student = build_student(
            recipe.student.resolve(),
            projection_dim=recipe.student.projection_dim,
            projection_bias=recipe.student.projection_bias,
            normalize=recipe.teacher.normalize,
            max_seq_length=recipe.student.max_seq_length,
            prompts={**prompts, **recipe.student.task_prompts},
            revision=recipe.student.revision if recipe.student.source == "hub" else None,
            device=device,
        )
    train_texts = _with_prompt(texts.train, prompts)
    held_texts = _with_prompt(texts.heldout, prompts)
    sample = min(len(train_texts), recipe.student.ridge_samples)
    fit: dict[str, float] = {}
    if here.is_main:  # fitted once; every rank starts from rank 0's weights
        fit = init_projection(
            student,
            train_texts[:sample],
            train_targets[:sample],
            method=recipe.student.projection_init,
            lam=recipe.student.ridge_lambda,
        )
    if static:  # the ridge map folded into the table: exact for mean pooling, stock modules only
        student = fold_projection(student)
    parallel.broadcast_parameters(student)
    held_kinds = [kind for _, kind in texts.heldout]
    before_cos = alignment_cosines(student, held_texts, held_targets) if here.is_main else np.zeros(0)
    before = float(before_cos.mean()) if here.is_main else float("nan")
    if here.is_main:
        logger.info("held-out alignment before training: %.4f %s", before, _by_kind_line(before_cos, held_kinds))
    if recipe.training.stages:
        trained = _train_in_stages(
            student, train_texts, train_targets, [k for _, k in texts.train], recipe, folder.checkpoints_dir, dtype
        )
    else:
        trained = distill_models(
            student, train_texts, train_targets, recipe.training, folder.checkpoints_dir, resume=resume, dtype=dtype
        )
    if not here.is_main:  # rank 0 alone measures and writes the run folder; return what it wrote
        parallel.barrier()
        return folder.load_report()
    after_cos = alignment_cosines(student, held_texts, held_targets)
    after = float(after_cos.mean())
    gain_se = gain_standard_error(before_cos, after_cos)
    logger.info(
        "held-out alignment after training: %.4f (gain %+.4f ± %.4f) %s",
        after,
        after - before,
        gain_se,
        _by_kind_line(after_cos, held_kinds),
    )

    _save_model(student, folder.model_dir)
    folder.save_recipe(recipe)
    report = DistillReport(
        recipe_name=recipe.name,
        recipe_fingerprint=recipe.fingerprint(),
        teacher_id=recipe.teacher.id,
        teacher_fingerprint=teacher_fingerprint,
        student_init_id=recipe.student.id,
        run_dir=str(run_dir),
        n_train_texts=len(train_texts),
        n_heldout=len(held_texts),
        alignment_before=before,
        alignment_after=after,
        alignment_gain_se=gain_se,
        steps=trained["steps"],
        train_seconds=trained["train_seconds"],
        train_texts_per_s=trained["steps"] * recipe.training.batch_size / max(trained["train_seconds"], 1e-9),
        teacher_seconds=teacher_seconds,
        teacher_texts_encoded=sum(encoded_per_rank),
        teacher_cache_hits=train_stats["hits"] + held_stats["hits"],
        wall_seconds=time.perf_counter() - wall,
        projection_init=fit,
        loss_history=trained["loss_history"],
        hardware=_hardware(),
        versions=_versions(),
        resumed_from=trained["resumed_from"],
        text_passes=trained["text_passes"],
        train_tokens_per_s=trained["text_passes"] * trained["mean_tokens"] / max(trained["train_seconds"], 1e-9),
        parameters=trained["parameters"],
        world_size=here.world,
        teacher_encoded_per_rank=encoded_per_rank,
        citations=trained["citations"],
        precision={"teacher": teacher_precision, "training": trained["precision"]},
        student_kind=recipe.student.kind,
        alignment_by_kind=alignment_by_kind(before_cos, after_cos, held_kinds),
    )
    folder.save_report(report)
    shutil.rmtree(work, ignore_errors=True)
    parallel.barrier()  # the other ranks wait for metrics.json
    return report


def _train_in_stages(
    student: SentenceTransformer,
    texts: list[str],
    targets: np.ndarray,
    kinds: list[str],
    recipe: Recipe,
    checkpoints: Path,
    dtype: str = "fp32",
) -> dict[str, Any]:
    """Run ``training.stages`` one after the other (each a full trainer run on its kinds' texts)."""
    total: dict[str, Any] = {"steps": 0, "train_seconds": 0.0, "loss_history": [], "text_passes": 0}
    tokens = 0.0
    labels = np.asarray(kinds)
    for index, stage in enumerate(recipe.training.stages or []):
        rows = np.flatnonzero(np.isin(labels, stage.kinds))
        if not len(rows):
            raise DistillError(f"training.stages[{index}]: no training texts of kind {', '.join(stage.kinds)}")
        settings = recipe.training.model_copy(
            update={"epochs": stage.epochs, "learning_rate": stage.learning_rate or recipe.training.learning_rate}
        )
        logger.info("stage %d: %d %s texts, %g epochs", index, len(rows), "+".join(stage.kinds), stage.epochs)
        out = distill_models(
            student,
            [texts[i] for i in rows],
            np.asarray(targets[rows]),
            settings,
            checkpoints / f"stage-{index}",
            dtype=dtype,
        )
        offset = total["steps"]
        total["loss_history"] += [[step + offset, loss] for step, loss in out["loss_history"]]
        total["steps"] += out["steps"]
        total["train_seconds"] += out["train_seconds"]
        total["text_passes"] += out["text_passes"]
        tokens += out["text_passes"] * out["mean_tokens"]
        total.update({k: out[k] for k in ("parameters", "citations", "precision")})
    total["mean_tokens"] = tokens / max(total["text_passes"], 1)
    total["resumed_from"] = None
    return total


def _by_kind_line(cosines: np.ndarray, kinds: list[str]) -> str:
    parts = [f"{k} {float(cosines[np.asarray(kinds) == k].mean()):.4f}" for k in sorted(set(kinds))]
    return f"({', '.join(parts)})" if parts else ""


def _save_model(student: SentenceTransformer, path: Path) -> None:
    """Save into a temp folder, make it portable, then swap it in (no half-written model)."""
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        from leaf_hub.models.portable import save_portable
    except ImportError:  # portable layer not present: stock save
        student.save(str(tmp), safe_serialization=True)
    else:
        save_portable(student, tmp)
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
