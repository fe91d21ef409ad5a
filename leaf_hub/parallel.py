"""Ranks of a data-parallel run (``torchrun`` / ``accelerate launch``) and the few collectives it needs.

One process per device; the launcher sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``.
:func:`init_distributed` starts the ``torch.distributed`` process group only when
``WORLD_SIZE > 1`` (``nccl`` with CUDA, else ``gloo``); the transformers/accelerate trainer then
reuses that group. Every helper here is a no-op in a one-process run, so the same code path
serves both.

Who does what in a distillation run (:func:`leaf_hub.distill.distill`):

* every rank encodes a disjoint shard of the texts the teacher cache lacks, writing its own chunks
  (unique names, atomic writes) into the shared cache; after a :func:`barrier` every rank reloads
  the cache index and so sees all shards;
* the token cache is filled by rank 0 while the others wait (:func:`main_first`), then read by all;
* rank 0 alone writes the run folder, checkpoint checksums and ``metrics.json``.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = [
    "Ranks",
    "all_gather_ints",
    "barrier",
    "broadcast_parameters",
    "init_distributed",
    "is_main_process",
    "main_first",
    "ranks",
]

#: Minutes a rank waits at a barrier (a teacher shard of a full recipe can take hours on CPU).
TIMEOUT_ENV = "LEAF_HUB_DIST_TIMEOUT_MIN"


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the run.

    Attributes:
        rank: Global rank (0 is the main process).
        world: Number of processes.
        local_rank: Rank on this machine (selects the GPU).
    """

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the one that writes run-folder files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether more than one process takes part."""
        return self.world > 1


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def ranks() -> Ranks:
    """This process's rank, from the initialised process group or else the launcher's variables."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size(), _env_int("LOCAL_RANK", 0))
    return Ranks(_env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0))


def is_main_process() -> bool:
    """Whether this process is rank 0 (always true without a launcher)."""
    return ranks().is_main


def init_distributed() -> Ranks:
    """Start the process group when launched with ``WORLD_SIZE > 1`` (idempotent).

    CUDA: ``nccl``, and this process's GPU becomes ``cuda:LOCAL_RANK``; otherwise ``gloo``.

    Returns:
        This process's :class:`Ranks`.
    """
    import torch
    import torch.distributed as dist

    here = ranks()
    if here.world <= 1 or dist.is_initialized():
        return here
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(here.local_rank)
    timeout = datetime.timedelta(minutes=_env_int(TIMEOUT_ENV, 180))
    dist.init_process_group(backend="nccl" if cuda else "gloo", timeout=timeout)
    return ranks()


def _active() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def barrier() -> None:
    """Wait until every rank gets here (no-op in a one-process run)."""
    import torch
    import torch.distributed as dist

    if not _active():
        return
    if dist.get_backend() == "nccl":
        dist.barrier(device_ids=[torch.cuda.current_device()])
    else:
        dist.barrier()


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Run the body on rank 0 first; the other ranks run it once rank 0 has finished."""
    main = is_main_process()
    if not main:
        barrier()
    try:
        yield
    finally:
        if main:
            barrier()


def all_gather_ints(value: int) -> list[int]:
    """Every rank's ``value``, in rank order (``[value]`` in a one-process run)."""
    import torch.distributed as dist

    if not _active():
        return [int(value)]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, int(value))
    return [int(v) for v in out]


def broadcast_parameters(module: torch.nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s parameters and buffers into every rank's ``module`` (in place)."""
    import torch
    import torch.distributed as dist

    if not _active():
        return
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=src)
