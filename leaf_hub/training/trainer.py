"""The leaf trainer: stock ``SentenceTransformerTrainer`` spending the machine on the model.

What it changes, each through an override the trainer offers rather than a fork:

* ``get_batch_sampler`` → :class:`~leaf_hub.training.batching.LengthGroupedBatchSampler` (texts of
  similar length share a batch);
* the data collator → :class:`~leaf_hub.training.batching.PretokenizedCollator` (ids tokenised once,
  cached by :class:`~leaf_hub.training.tokens.TokenCache`; no tokenizer call in the step);
* the optimizer is the stock one (``optim="adamw_torch_fused"`` in the arguments): the projection's
  own learning rate is a ``learning_rate_mapping`` entry (:func:`projection_learning_rate_mapping`),
  and frozen parameters are left out by the trainer;
* ``create_scheduler`` → the schedules of :data:`SCHEDULES`, LEAF's repeated linear cycles among them.

Everything else (loss interface, checkpoints, ``--resume``, bf16 autocast, accelerate/torchrun) is
the stock trainer's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from transformers import TrainerCallback

from leaf_hub.training.batching import LengthGroupedBatchSampler
from leaf_hub.training.sharding import RankSlicedBatchSampler

__all__ = ["SCHEDULES", "LeafTrainer", "freeze_lower_layers", "lr_lambda", "projection_learning_rate_mapping"]

Schedule = Literal["linear", "constant_cooldown", "cycles"]
#: ``linear``: warm-up then linear decay to 0 (the transformers default); ``constant_cooldown``:
#: warm-up, constant, then a linear cool-down over the last ``cooldown_ratio`` of the steps;
#: ``cycles``: ``cycles`` back-to-back linear schedules (LEAF trains 3 cycles of 10 epochs).
SCHEDULES: tuple[Schedule, ...] = ("linear", "constant_cooldown", "cycles")


def lr_lambda(
    schedule: Schedule, total: int, *, warmup_ratio: float, cycles: int = 1, cooldown_ratio: float = 0.2
) -> Callable[[int], float]:
    """The learning-rate multiplier at each step, for ``torch.optim.lr_scheduler.LambdaLR``.

    Args:
        schedule: One of :data:`SCHEDULES`.
        total: Number of optimizer steps.
        warmup_ratio: Share of steps (of each cycle, for ``cycles``) with linear warm-up.
        cycles: Number of linear cycles (``cycles`` only).
        cooldown_ratio: Share of steps of the final cool-down (``constant_cooldown`` only).

    Returns:
        ``step -> multiplier`` in ``[0, 1]``.
    """
    total = max(1, int(total))
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; known: {', '.join(SCHEDULES)}")
    n_cycles = max(1, int(cycles)) if schedule == "cycles" else 1
    length = total / n_cycles

    def linear(step: float, span: float) -> float:
        warm = max(1.0, warmup_ratio * span) if warmup_ratio > 0 else 0.0
        if step < warm:
            return (step + 1) / (warm + 1)
        return max(0.0, (span - step) / max(1.0, span - warm))

    def multiplier(step: int) -> float:
        if schedule == "constant_cooldown":
            warm = max(1.0, warmup_ratio * total) if warmup_ratio > 0 else 0.0
            cool = max(1.0, cooldown_ratio * total)
            if step < warm:
                return (step + 1) / (warm + 1)
            if step >= total - cool:
                return max(0.0, (total - step) / cool)
            return 1.0
        position = step - math.floor(step / length) * length if n_cycles > 1 else step
        return linear(position, length)

    return multiplier


def freeze_lower_layers(student: SentenceTransformer, trainable_layers: int | None) -> dict[str, int]:
    """Freeze the embeddings and all but the top ``trainable_layers`` transformer layers.

    Args:
        student: The student (modified in place).
        trainable_layers: Transformer layers left trainable, counted from the top; ``None``: all
            parameters train (embeddings included).

    Returns:
        ``{"trainable": n, "frozen": n}`` parameter counts.
    """
    if trainable_layers is not None:
        backbone = student[0].model
        layers = _encoder_layers(backbone)
        cut = max(0, len(layers) - int(trainable_layers))
        frozen_modules = [getattr(backbone, "embeddings", None), *layers[:cut]]
        for module in frozen_modules:
            if module is not None:
                for p in module.parameters():
                    p.requires_grad_(False)
    trainable = sum(p.numel() for p in student.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in student.parameters() if not p.requires_grad)
    return {"trainable": int(trainable), "frozen": int(frozen)}


def _encoder_layers(backbone: torch.nn.Module) -> list[torch.nn.Module]:
    encoder = getattr(backbone, "encoder", None)
    layers = getattr(encoder, "layer", None) if encoder is not None else None
    if layers is None:
        raise ValueError(f"cannot find the transformer layers of {type(backbone).__name__} to freeze")
    return list(layers)


class _SamplerEpoch(TrainerCallback):
    """Set the sampler's epoch at each epoch start, also for a resumed epoch.

    On ``--resume`` accelerate's ``skip_first_batches`` wraps the sharded sampler once more and the
    trainer's ``set_epoch`` no longer reaches it; the epoch index is ``global_step // steps_per_epoch``.
    """

    def __init__(self, sampler: RankSlicedBatchSampler) -> None:
        self.sampler = sampler

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        per_epoch = max(1, len(self.sampler) // self.sampler.world)
        self.sampler.set_epoch(int(state.global_step) // per_epoch)


def projection_learning_rate_mapping(model: Any, learning_rate: float) -> dict[str, float]:
    """``learning_rate_mapping`` entries giving the ``Dense`` projection(s) of ``model`` their own rate.

    The trainer matches the patterns against the loss module's parameter names, where the student's
    modules are ``model.<index>.``: a ``Dense`` at index 2 matches the names that start ``model.2.``.

    Args:
        model: The student (a ``SentenceTransformer``).
        learning_rate: The projection's learning rate.

    Returns:
        Pattern -> learning rate, empty when the model has no ``Dense`` module.
    """
    from sentence_transformers import models

    return {rf"^model\.{i}\.": learning_rate for i, module in enumerate(model) if isinstance(module, models.Dense)}


class LeafTrainer(SentenceTransformerTrainer):
    """``SentenceTransformerTrainer`` with length-grouped batches, per-group learning rates and LEAF schedules.

    Args:
        *args: Passed to ``SentenceTransformerTrainer``.
        lengths: Token count of each training row (for the length-grouped sampler).
        group: Batches per length-sorted mega-batch (1: stock random batches).
        projection_lr_multiplier: The projection's learning rate relative to the encoder's (added to the
            arguments' ``learning_rate_mapping``).
        schedule: One of :data:`SCHEDULES`.
        warmup_ratio: Share of steps (of each cycle) with linear warm-up.
        cycles: Linear cycles for ``schedule="cycles"``.
        cooldown_ratio: Share of steps of the cool-down for ``schedule="constant_cooldown"``.
        sparse_table: The student is a static table whose ``EmbeddingBag`` gives sparse gradients:
            the optimizer is ``torch.optim.SparseAdam`` (only the batch's rows move; set
            ``max_grad_norm=0`` in the arguments, clipping does not take sparse gradients).
        **kwargs: Passed to ``SentenceTransformerTrainer``.
    """

    def __init__(
        self,
        *args: Any,
        lengths: np.ndarray,
        group: int = 64,
        projection_lr_multiplier: float = 1.0,
        schedule: Schedule = "linear",
        warmup_ratio: float = 0.05,
        cycles: int = 1,
        cooldown_ratio: float = 0.2,
        sparse_table: bool = False,
        **kwargs: Any,
    ) -> None:
        self.sparse_table = sparse_table
        self.lengths = np.asarray(lengths)
        self.group = group
        self.projection_lr_multiplier = projection_lr_multiplier
        settings, model = kwargs.get("args"), kwargs.get("model")
        if settings is not None and model is not None and projection_lr_multiplier != 1.0:
            mapping = dict(settings.learning_rate_mapping or {})
            rate = settings.learning_rate * projection_lr_multiplier
            mapping.update(projection_learning_rate_mapping(model, rate))
            settings.learning_rate_mapping = mapping
        self.schedule = schedule
        self.warmup_ratio = warmup_ratio
        self.cycles = cycles
        self.cooldown_ratio = cooldown_ratio
        super().__init__(*args, **kwargs)

    def get_batch_sampler(
        self,
        dataset: Any,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
    ) -> LengthGroupedBatchSampler | RankSlicedBatchSampler:
        """Length-grouped batches (see :class:`~leaf_hub.training.batching.LengthGroupedBatchSampler`).

        With more than one process each global batch is split across the ranks
        (:class:`~leaf_hub.training.sharding.RankSlicedBatchSampler`): same batches and steps as one process.
        """
        sampler: Any = LengthGroupedBatchSampler(
            dataset, batch_size, drop_last, valid_label_columns, generator, seed, lengths=self.lengths, group=self.group
        )
        if self.args.world_size > 1:
            sampler = RankSlicedBatchSampler(sampler, self.args.world_size)
            epoch_setter = getattr(self, "_sampler_epoch", None)
            if epoch_setter is None:
                self._sampler_epoch = _SamplerEpoch(sampler)
                self.add_callback(self._sampler_epoch)
            else:
                epoch_setter.sampler = sampler
        return sampler

    def create_optimizer(self, model: Any = None) -> torch.optim.Optimizer:
        """The stock optimizer, or ``SparseAdam`` over a static table's rows (``sparse_table``)."""
        if not self.sparse_table or self.optimizer is not None:
            return super().create_optimizer(model) if model is not None else super().create_optimizer()
        params = [p for p in (model or self.model).parameters() if p.requires_grad]
        if len(params) != 1:
            raise ValueError(f"sparse_table: expected the table as the one trainable parameter, found {len(params)}")
        args = self.args
        self.optimizer = torch.optim.SparseAdam(
            params, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2), eps=args.adam_epsilon
        )
        return self.optimizer

    def _get_grad_norm(self, model: Any, grad_norm: Any = None) -> Any:
        """The gradient norm the trainer logs; for a sparse table, from the gradient's stored rows.

        transformers computes it with ``clip_grad_norm_(..., inf)``, which has no sparse kernel.
        """
        if not self.sparse_table or grad_norm is not None:
            return super()._get_grad_norm(model, grad_norm=grad_norm)
        squares = [
            (p.grad.coalesce().values() if p.grad.is_sparse else p.grad).float().pow(2).sum()
            for p in model.parameters()
            if p.grad is not None
        ]
        return float(torch.stack(squares).sum().sqrt()) if squares else 0.0

    def create_scheduler(self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None) -> Any:
        """One of :data:`SCHEDULES` as a ``LambdaLR`` (it multiplies each group's own rate)."""
        if self.lr_scheduler is None:
            multiplier = lr_lambda(
                self.schedule,
                num_training_steps,
                warmup_ratio=self.warmup_ratio,
                cycles=self.cycles,
                cooldown_ratio=self.cooldown_ratio,
            )
            self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer or self.optimizer, multiplier)
            self._created_lr_scheduler = True
        return self.lr_scheduler
