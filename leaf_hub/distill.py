"""LEAF distillation: from a recipe to a student aligned with its teacher.

Reads top to bottom like the method:

1. sample the training and held-out texts (:func:`load_texts`);
2. get the teacher's vectors of all of them once, through :class:`~leaf_hub.encoders.EmbeddingCache`;
3. build the student (init encoder + ``Dense`` projection + ``Normalize``) and ridge-initialise
   the projection;
4. measure held-out alignment (mean cosine student↔teacher), train with
   :class:`~leaf_hub.losses.LeafDistillLoss` on ``SentenceTransformerTrainer``, measure again;
5. save a portable model folder and ``metrics.json``.

:func:`distill` works from a recipe; :func:`distill_models` from already-loaded objects.
Data-parallel (``torchrun --nproc_per_node N -m leaf_hub.cli distill RECIPE`` or ``accelerate
launch``, see :mod:`leaf_hub.parallel`): every rank encodes a disjoint shard of the missing teacher
vectors into the shared cache, rank 0 fills the token cache and ridge-fits the projection (broadcast
to all), the trainer splits each global batch of ``training.batch_size`` texts across the ranks
(:mod:`leaf_hub.training.sharding`: same steps and learning rates as one process), and rank 0 alone
measures alignment and writes the run folder; every rank returns the report rank 0 wrote.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leaf_hub import parallel
from leaf_hub.errors import AssetError, DistillError
from leaf_hub.hashing import atomic_write, sha256_file
from leaf_hub.recipe import DataSpec, Recipe, TrainingSpec
from leaf_hub.records import DistillReport
from leaf_hub.run_folder import RunFolder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from leaf_hub.encoders import Teacher, TextKind

logger = logging.getLogger(__name__)

__all__ = [
    "DistillReport",
    "TrainingTexts",
    "distill",
    "distill_models",
    "has_intact_checkpoint",
    "load_texts",
    "mean_alignment",
]


@dataclass
class TrainingTexts:
    """Texts sampled from a recipe's sources.

    Attributes:
        train: ``(text, kind)`` pairs to train on.
        heldout: ``(text, kind)`` pairs never trained on, for the alignment metric.
    """

    train: list[tuple[str, TextKind]]
    heldout: list[tuple[str, TextKind]]


# ---------------------------------------------------------------------------------------------
# 1. texts
# ---------------------------------------------------------------------------------------------


def _read_lines(path: Path, max_chars: int) -> list[str]:
    try:
        with path.open(encoding="utf-8") as fh:
            lines = [line.strip()[:max_chars] for line in fh]
    except UnicodeDecodeError as e:
        raise AssetError(f"data file is not UTF-8 text: {path} (byte {e.start})") from e
    lines = [line for line in lines if line]
    if not lines:
        raise AssetError(f"data file has no text lines: {path}")
    return lines


def load_texts(spec: DataSpec, seed: int) -> TrainingTexts:
    """Sample training and held-out texts from a recipe's data sources.

    Each source contributes ``samples`` lines (all when ``None``), drawn with ``seed``; the
    held-out set takes ``heldout`` texts spread across sources in proportion and is removed
    from training.

    Raises:
        AssetError: If a file is missing, empty or not UTF-8.
    """
    from leaf_hub.assets import resolve_data_file

    rng = random.Random(seed)
    per_source: list[list[tuple[str, TextKind]]] = []
    for source in spec.sources:
        lines = _read_lines(resolve_data_file(source.path, spec.root), spec.max_chars)
        lines = list(dict.fromkeys(lines))
        rng.shuffle(lines)
        per_source.append([(t, source.kind) for t in lines])
    wanted = [s.samples for s in spec.sources]
    total = sum(min(w or len(p), len(p)) for w, p in zip(wanted, per_source, strict=True))
    train: list[tuple[str, TextKind]] = []
    heldout: list[tuple[str, TextKind]] = []
    for want, items in zip(wanted, per_source, strict=True):
        take = min(want or len(items), len(items))
        n_held = max(1, round(spec.heldout * take / total))
        if take - n_held < 1:
            raise AssetError(f"too few texts ({len(items)}) for {n_held} held-out ones")
        heldout.extend(items[:n_held])
        train.extend(items[n_held:take])
    rng.shuffle(train)
    return TrainingTexts(train=train, heldout=heldout)


def _with_prompt(pairs: Sequence[tuple[str, TextKind]], prompts: dict[str, str]) -> list[str]:
    return [prompts.get(kind, "") + text for text, kind in pairs]


# ---------------------------------------------------------------------------------------------
# 2. teacher vectors
# ---------------------------------------------------------------------------------------------


def teacher_vectors(
    teacher: Teacher, pairs: Sequence[tuple[str, TextKind]], out: Path, *, cache_root: Path | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """Teacher vectors of ``pairs`` in order, via the cache, gathered into a memory-mapped file.

    In a data-parallel run every rank calls this: each encodes its shard of the missing texts
    (:meth:`~leaf_hub.encoders.EmbeddingCache.encode_shard`), then after a barrier reloads the index.

    Returns:
        The ``(n, dim)`` array and this rank's cache counters (``encoded``, ``hits``).
    """
    from leaf_hub.encoders import EmbeddingCache, teacher_cache_root

    cache = EmbeddingCache(teacher, cache_root or teacher_cache_root(teacher.fingerprint))
    here = parallel.ranks()
    if here.distributed:
        parallel.barrier()  # every rank indexed the same chunks: the shards are disjoint and complete
        for kind in ("query", "document"):
            cache.encode_shard(
                [t for t, k in pairs if k == kind], kind, rank=here.rank, world=here.world, progress=here.is_main
            )
        parallel.barrier()
        cache.reload()
    hits = cache.stats.hits  # texts cached before this call (the gather below finds them all)
    result = np.lib.format.open_memmap(out, mode="w+", dtype=np.float32, shape=(len(pairs), teacher.dim))
    for kind in ("query", "document"):
        positions = [i for i, (_, k) in enumerate(pairs) if k == kind]
        if positions:
            vectors = cache.embed([pairs[i][0] for i in positions], kind=kind)
            result[np.asarray(positions)] = vectors
    result.flush()
    del result
    if not here.distributed:
        hits = cache.stats.hits
    return np.load(out, mmap_mode="r"), {"encoded": cache.stats.encoded, "hits": hits}


# ---------------------------------------------------------------------------------------------
# 4. alignment and training
# ---------------------------------------------------------------------------------------------


def alignment_cosines(
    student: SentenceTransformer, texts: Sequence[str], targets: np.ndarray, batch_size: int = 64
) -> np.ndarray:
    """Cosine between the student's and the teacher's vector of each text, ``(len(texts),)``."""
    vectors = student.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    a = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    t = np.asarray(targets)
    b = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(axis=1)


def mean_alignment(
    student: SentenceTransformer, texts: Sequence[str], targets: np.ndarray, batch_size: int = 64
) -> float:
    """Mean cosine between the student's and the teacher's vectors of the same texts."""
    return float(alignment_cosines(student, texts, targets, batch_size).mean())


def gain_standard_error(before: np.ndarray, after: np.ndarray) -> float:
    """Standard error of the mean per-text alignment gain (paired: the same held-out texts)."""
    diff = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    return float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")


#: Written into each checkpoint once it is completely saved: size and sha256 of every file.
CHECKPOINT_CHECKSUMS = "leaf_hub_checksums.json"


def write_checkpoint_checksums(folder: Path) -> None:
    """Record the size and sha256 of every file of a saved checkpoint (atomically, last)."""
    files = {
        p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != CHECKPOINT_CHECKSUMS and not p.name.startswith(".")
    }
    atomic_write(folder / CHECKPOINT_CHECKSUMS, json.dumps({"files": files}, indent=1, sort_keys=True))


def checkpoint_problem(folder: Path) -> str | None:
    """Why a checkpoint must not be resumed from (``None``: every file matches its recorded checksum).

    transformers and safetensors keep no checksums: a bit-flipped weight file loads silently and a
    truncated one fails deep inside ``torch``/``safetensors``. The checksum file written after each
    save (:func:`write_checkpoint_checksums`) catches both, and a save cut short by a crash.
    """
    manifest = folder / CHECKPOINT_CHECKSUMS
    if not manifest.is_file():
        return f"no {CHECKPOINT_CHECKSUMS}: the save was interrupted or did not finish"
    try:
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        expected = {str(k): (int(v["size"]), str(v["sha256"])) for k, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return f"{CHECKPOINT_CHECKSUMS} is unreadable"
    if "trainer_state.json" not in expected:
        return "trainer_state.json is not recorded"
    for name, (size, sha) in sorted(expected.items()):
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        actual = path.stat().st_size
        if actual != size:
            return f"{name} is truncated or resized ({actual} bytes, {size} recorded)"
        if sha256_file(path) != sha:
            return f"{name} fails its sha256 check (corrupted)"
    return None


def _step(path: Path) -> int:
    return int(path.name.split("-")[-1])


def has_intact_checkpoint(folder: Path) -> bool:
    """Whether ``--resume`` would find a checkpoint to continue from in ``folder`` (never raises).

    Damaged checkpoints newer than the intact one are moved aside as by ``--resume``.
    """
    try:
        return _last_checkpoint(folder) is not None
    except DistillError as e:
        logger.warning("%s", e)
        return False


def _last_checkpoint(folder: Path) -> Path | None:
    """The newest intact checkpoint; newer damaged ones are moved aside to ``corrupt-checkpoint-N``.

    Raises:
        DistillError: If checkpoints exist but none is intact.
    """
    if not folder.is_dir():
        return None
    candidates = sorted(
        (p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()),
        key=_step,
        reverse=True,
    )
    problems: list[str] = []
    for checkpoint in candidates:
        problem = checkpoint_problem(checkpoint)
        if problem is None:
            for damaged in candidates[: candidates.index(checkpoint)]:
                aside = damaged.with_name(f"corrupt-{damaged.name}")
                shutil.rmtree(aside, ignore_errors=True)
                os.replace(damaged, aside)  # out of the trainer's way, kept for inspection
            return checkpoint
        logger.warning("--resume: skipping %s: %s", checkpoint.name, problem)
        problems.append(f"{checkpoint.name}: {problem}")
    if problems:
        raise DistillError(f"--resume: no intact checkpoint in {folder} ({'; '.join(problems)})")
    return None


def distill_models(
    student: SentenceTransformer,
    texts: Sequence[str],
    targets: np.ndarray,
    training: TrainingSpec,
    checkpoint_dir: Path,
    *,
    resume: bool = False,
    token_cache_root: Path | None = None,
) -> dict[str, Any]:
    """Train an already-built student to reproduce ``targets`` on ``texts``.

    Args:
        student: The student (modified in place).
        texts: Training texts, prompts already applied.
        targets: Teacher vectors, row ``i`` for ``texts[i]``.
        training: Optimisation settings.
        checkpoint_dir: Where periodic checkpoints go.
        resume: Continue from the last complete checkpoint in ``checkpoint_dir``.
        token_cache_root: Folder of the token-id cache (default: under ``$LEAF_HUB_HOME``).

    Returns:
        ``{"steps", "train_seconds", "loss_history", "resumed_from", "text_passes", "mean_tokens",
        "parameters", "citations"}``; ``citations``: label -> BibTeX of each method of the loss that was
        built (:func:`leaf_hub.losses.loss_citations`), which the model card cites.

    Raises:
        DistillError: On a non-finite loss or when ``resume`` finds no checkpoint.
    """
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainingArguments
    from transformers import TrainerCallback

    from leaf_hub.losses import build_loss, loss_citations
    from leaf_hub.training import LeafTrainer, PretokenizedCollator, TokenCache, freeze_lower_layers

    if len(texts) != len(targets):
        raise DistillError(f"{len(texts)} texts but {len(targets)} teacher vectors")
    with parallel.main_first():  # rank 0 tokenises and writes the chunks; the others then read them
        tokens = TokenCache(student, token_cache_root).tokenize(texts)  # once, cached beside the teacher vectors
    dataset = Dataset.from_dict({"label": list(range(len(texts)))})
    loss = build_loss(student, targets, training)  # LEAF, or with focal / score-distillation options
    here = parallel.ranks()
    if here.distributed and here.is_main and training.score_distill_weight > 0:
        logger.warning(
            "score distillation compares texts within each process's slice of the batch (%d of %d texts), "
            "not the whole batch as one process does",
            -(-training.batch_size // here.world),
            training.batch_size,
        )
    params = freeze_lower_layers(student, training.trainable_layers)
    use_cpu = training.device == "cpu" or (training.device == "auto" and not torch.cuda.is_available())
    args = SentenceTransformerTrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=training.epochs,
        max_steps=training.max_steps or -1,
        per_device_train_batch_size=training.batch_size,
        learning_rate=training.learning_rate,
        weight_decay=training.weight_decay,
        optim="adamw_torch_fused",
        seed=training.seed,
        data_seed=training.seed,
        save_strategy="steps",
        save_steps=training.checkpoint_steps,
        save_total_limit=2,
        logging_steps=max(1, min(25, _total_steps(len(texts), training) // 20)),
        report_to="none",
        bf16=training.bf16 and not use_cpu,
        use_cpu=use_cpu,
        # sentence-transformers forces (and warns about) drop_last under DDP; passing it avoids the
        # warning, and it is turned off again below: RankSlicedBatchSampler already gives every rank
        # the same number of batches, and dropping one would train on fewer texts than one process.
        dataloader_drop_last=parallel.ranks().distributed,
        dataloader_num_workers=training.dataloader_workers,
        remove_unused_columns=False,
        disable_tqdm=not parallel.is_main_process(),
    )
    args.dataloader_drop_last = False
    collator = PretokenizedCollator(
        preprocess_fn=student.preprocess,
        tokens=tokens,
        pad_to_multiple_of=1 if use_cpu else 8,
        token_type_ids="token_type_ids" in student.tokenizer.model_input_names,
    )

    class _StepTracker(TrainerCallback):
        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            loss.step = state.global_step + 1

    class _Checksums(TrainerCallback):
        """After each checkpoint save, record its files' checksums (checked by ``--resume``)."""

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            parallel.barrier()  # every rank has written its own files (rng_state_<rank>.pth) first
            if state.is_world_process_zero and folder.is_dir():
                write_checkpoint_checksums(folder)

    trainer = LeafTrainer(
        model=student,
        args=args,
        train_dataset=dataset,
        loss=loss,
        data_collator=collator,
        callbacks=[_StepTracker(), _Checksums()],
        lengths=tokens.lengths,
        group=training.length_group,
        projection_lr_multiplier=training.projection_lr_multiplier,
        schedule=training.schedule,
        warmup_ratio=training.warmup_ratio,
        cycles=training.cycles,
        cooldown_ratio=training.cooldown_ratio,
    )
    checkpoint = None
    if resume:
        with parallel.main_first():  # rank 0 moves damaged checkpoints aside; the others then agree
            checkpoint = _last_checkpoint(checkpoint_dir)
        if checkpoint is None:
            raise DistillError(f"--resume: no checkpoint in {checkpoint_dir}")
        logger.info("resuming from %s", checkpoint)
    else:
        with parallel.main_first():
            if parallel.is_main_process() and checkpoint_dir.exists():
                shutil.rmtree(checkpoint_dir)  # checkpoints of another run must not mix with this one
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    seconds = time.perf_counter() - start
    history = [[float(e["step"]), float(e["loss"])] for e in trainer.state.log_history if "loss" in e]
    steps = int(trainer.state.global_step)
    lengths = tokens.lengths
    return {
        "steps": steps,
        "train_seconds": seconds,
        "loss_history": history,
        "resumed_from": str(checkpoint) if checkpoint else None,
        "text_passes": _text_passes(len(texts), steps, training),
        "mean_tokens": float(lengths.mean()) if len(lengths) else 0.0,
        "parameters": params,
        "citations": loss_citations(loss),
    }


def _text_passes(n_texts: int, steps: int, training: TrainingSpec) -> int:
    """Texts trained on, each epoch's pass counted: ``epochs × texts`` (a step-capped run: ``steps × batch``)."""
    if training.max_steps is None and steps >= _total_steps(n_texts, training):
        return int(round(training.epochs * n_texts))
    per_epoch = max(1, -(-n_texts // training.batch_size))
    full, rest = divmod(steps, per_epoch)
    return int(full * n_texts + min(rest * training.batch_size, n_texts))


def _total_steps(n_texts: int, training: TrainingSpec) -> int:
    """Optimizer steps of a run: ``max_steps``, or ``epochs`` passes at ``batch_size``."""
    per_epoch = max(1, -(-n_texts // training.batch_size))
    return training.max_steps or max(1, int(math.ceil(per_epoch * training.epochs)))


# ---------------------------------------------------------------------------------------------
# the whole run
# ---------------------------------------------------------------------------------------------


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


def distill(recipe: Recipe, *, resume: bool = False, device: str | None = None) -> DistillReport:
    """Run a recipe's distillation end to end and write the run folder.

    Args:
        recipe: A validated recipe.
        resume: Continue training from the last checkpoint of an interrupted run.
        device: Override the torch device.

    Returns:
        The report also written to ``<run_dir>/metrics.json``.

    Raises:
        AssetError: A model or data file is missing.
        DistillError: Dimension mismatch, unwritable output, non-finite loss.
    """
    from leaf_hub.encoders import build_teacher
    from leaf_hub.models.student import build_student, init_projection

    wall = time.perf_counter()
    here = parallel.init_distributed()  # torchrun / accelerate launch: one process per device
    run_dir = recipe.run_dir
    folder = RunFolder(run_dir)
    _check_writable(run_dir)
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
    parallel.broadcast_parameters(student)
    before_cos = alignment_cosines(student, held_texts, held_targets) if here.is_main else np.zeros(0)
    before = float(before_cos.mean()) if here.is_main else float("nan")
    if here.is_main:
        logger.info("held-out alignment before training: %.4f", before)
    trained = distill_models(
        student, train_texts, train_targets, recipe.training, folder.checkpoints_dir, resume=resume
    )
    if not here.is_main:  # rank 0 alone measures and writes the run folder; return what it wrote
        parallel.barrier()
        return folder.load_report()
    after_cos = alignment_cosines(student, held_texts, held_targets)
    after = float(after_cos.mean())
    gain_se = gain_standard_error(before_cos, after_cos)
    logger.info("held-out alignment after training: %.4f (gain %+.4f ± %.4f)", after, after - before, gain_se)

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
    )
    folder.save_report(report)
    shutil.rmtree(work, ignore_errors=True)
    parallel.barrier()  # the other ranks wait for metrics.json
    return report


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
