"""Training machinery of the leaf student: token cache, length-grouped batches, the leaf trainer."""

from leaf_hub.training.batching import BagCollator, LengthGroupedBatchSampler, PretokenizedCollator, padding_share
from leaf_hub.training.tokens import TokenCache, TokenIds, static_token_ids, tokenizer_fingerprint
from leaf_hub.training.trainer import SCHEDULES, LeafTrainer, freeze_lower_layers, lr_lambda

__all__ = [
    "SCHEDULES",
    "BagCollator",
    "LeafTrainer",
    "LengthGroupedBatchSampler",
    "PretokenizedCollator",
    "TokenCache",
    "TokenIds",
    "freeze_lower_layers",
    "lr_lambda",
    "padding_share",
    "static_token_ids",
    "tokenizer_fingerprint",
]
