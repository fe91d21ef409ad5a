"""The student model and how it is saved so every supported sentence-transformers release loads it."""

from leaf_hub.models.portable import check_portable, portability_problems, save_portable
from leaf_hub.models.weights import count_parameters, count_weights, weights_size_bytes

__all__ = [
    "check_portable",
    "count_parameters",
    "count_weights",
    "portability_problems",
    "save_portable",
    "weights_size_bytes",
]
