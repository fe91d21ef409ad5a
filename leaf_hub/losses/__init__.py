"""Distillation losses, one class per module, each with a ``citation``."""

from leaf_hub.losses.factory import build_loss, loss_citations
from leaf_hub.losses.focal_distill import FocalDistillLoss
from leaf_hub.losses.leaf_distill import LeafDistillLoss
from leaf_hub.losses.score_distill import ScoreDistillLoss

__all__ = ["FocalDistillLoss", "LeafDistillLoss", "ScoreDistillLoss", "build_loss", "loss_citations"]
