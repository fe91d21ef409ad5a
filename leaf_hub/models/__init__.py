"""The student model and how it is saved so every supported sentence-transformers release loads it."""

from leaf_hub.models.portable import check_portable, portability_problems, save_portable

__all__ = ["check_portable", "portability_problems", "save_portable"]
