"""The student model and how it is saved so every supported sentence-transformers release loads it."""

from leaf_hub.models.folder import ModelFacts, embedding_dimension, read_model_facts, saved_versions
from leaf_hub.models.portable import check_portable, portability_problems, save_portable
from leaf_hub.models.weights import count_parameters, count_weights, weights_size_bytes

__all__ = [
    "ModelFacts",
    "check_portable",
    "count_parameters",
    "count_weights",
    "embedding_dimension",
    "portability_problems",
    "read_model_facts",
    "save_portable",
    "saved_versions",
    "weights_size_bytes",
]
