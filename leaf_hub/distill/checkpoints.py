"""Trainer checkpoints of an interrupted distillation: their checksums and which one to resume."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from leaf_hub.errors import DistillError
from leaf_hub.hashing import atomic_write, sha256_file

if TYPE_CHECKING:

    pass

logger = logging.getLogger(__name__)

__all__ = ["CHECKPOINT_CHECKSUMS", "checkpoint_problem", "has_intact_checkpoint", "write_checkpoint_checksums"]


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
