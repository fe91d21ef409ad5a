"""Distillation losses, one class per module, each with a ``citation``."""

from leaf_hub.losses.leaf_distill import LeafDistillLoss

__all__ = ["LeafDistillLoss"]
