"""Training on already-loaded objects: :func:`distill_models` (the loop every recipe and study runs)."""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leaf_hub import parallel
from leaf_hub.distill.checkpoints import _last_checkpoint, write_checkpoint_checksums
from leaf_hub.errors import DistillError
from leaf_hub.recipe import TrainingSpec

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


logger = logging.getLogger(__name__)

__all__ = ["distill_models"]


def distill_models(
    student: SentenceTransformer,
    texts: Sequence[str],
    targets: np.ndarray,
    training: TrainingSpec,
    checkpoint_dir: Path,
    *,
    resume: bool = False,
    token_cache_root: Path | None = None,
    dtype: str = "fp32",
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
        dtype: The recipe's ``compute.dtype`` (``auto``, ``fp32``, ``bf16``), resolved for the
            training device by :func:`leaf_hub.precision.resolve_precision`; bf16 trains under the
            trainer's bf16 autocast (``bf16=True``, also with ``use_cpu``). ``training.bf16`` still
            turns bf16 on for a GPU whatever this says.

    Returns:
        ``{"steps", "train_seconds", "loss_history", "resumed_from", "text_passes", "mean_tokens",
        "parameters", "citations", "precision"}``; ``precision``: the resolved
        :class:`~leaf_hub.precision.Precision` as a dict, ``dtype`` being what trained;
        ``citations``: label -> BibTeX of each method of the loss that was built
        (:func:`leaf_hub.losses.loss_citations`), which the model card cites.

    Raises:
        DistillError: On a non-finite loss or when ``resume`` finds no checkpoint.
    """
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainingArguments
    from transformers import TrainerCallback

    from leaf_hub.losses import build_loss, loss_citations
    from leaf_hub.models.static import is_static
    from leaf_hub.precision import resolve_precision
    from leaf_hub.training import (
        BagCollator,
        LeafTrainer,
        PretokenizedCollator,
        TokenCache,
        freeze_lower_layers,
        static_token_ids,
    )

    if len(texts) != len(targets):
        raise DistillError(f"{len(texts)} texts but {len(targets)} teacher vectors")
    static = is_static(student)
    sparse = training.optimizer == "sparse_adam"
    if sparse and not static:
        raise DistillError("training.optimizer: sparse_adam needs a static student (StaticEmbedding)")
    if static:  # a Rust tokenizer, no limit: tokenised in memory in well under a second per 100k texts
        tokens = static_token_ids(student, texts)
        student[0].embedding.sparse = sparse  # EmbeddingBag: sparse gradients for SparseAdam
    else:
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
    precision = resolve_precision(dtype, "cpu" if use_cpu else "cuda").to_dict()
    if training.bf16 and not use_cpu and precision["dtype"] != "bf16":  # the GPU switch, as before
        precision |= {"dtype": "bf16", "reason": "training.bf16 on a GPU"}
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
        bf16=precision["dtype"] == "bf16",
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
    if sparse:
        args.max_grad_norm = 0.0  # gradient clipping does not take sparse gradients
    collator: PretokenizedCollator | BagCollator
    if static:
        collator = BagCollator(preprocess_fn=student.preprocess, tokens=tokens)
    else:
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
        group=1 if static else training.length_group,  # no padding in a bag: nothing to group for
        projection_lr_multiplier=training.projection_lr_multiplier,
        schedule=training.schedule,
        warmup_ratio=training.warmup_ratio,
        cycles=training.cycles,
        cooldown_ratio=training.cooldown_ratio,
        sparse_table=sparse,
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
    if static:
        student[0].embedding.sparse = False  # saved and used as the stock module is
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
        "precision": precision,
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
