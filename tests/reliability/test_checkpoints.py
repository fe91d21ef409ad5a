"""Damaged training checkpoints are detected by checksum and never resumed from.

transformers and safetensors keep no checksums: a bit-flipped ``model.safetensors`` loads silently
(checked below), a truncated one fails deep inside safetensors. leaf-hub writes
``leaf_hub_checksums.json`` after each save and ``--resume`` checks it.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from leaf_hub.distill.checkpoints import (
    CHECKPOINT_CHECKSUMS,
    _last_checkpoint,
    checkpoint_problem,
    write_checkpoint_checksums,
)
from leaf_hub.errors import DistillError


def make_checkpoint(root: Path, step: int, student_path: Path) -> Path:
    """A checkpoint folder of real files (the real MiniLM weights and config), checksummed as a save does."""
    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "modules.json", "tokenizer.json"):
        shutil.copy2(student_path / name, folder / name)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": []}))
    write_checkpoint_checksums(folder)
    return folder


def flip_bit(path: Path, offset: int) -> None:
    with path.open("r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0x10]))


def test_a_bit_flip_loads_silently_without_leaf_hub_checks(tmp_path: Path, student_path: Path) -> None:
    """Why the checksums exist: safetensors itself does not notice a flipped bit in tensor data."""
    import torch
    from safetensors.torch import load_file

    weights = tmp_path / "model.safetensors"
    shutil.copy2(student_path / "model.safetensors", weights)
    flip_bit(weights, weights.stat().st_size // 2)
    changed = load_file(weights)
    original = load_file(student_path / "model.safetensors")
    assert [k for k in original if not torch.equal(original[k], changed[k])]  # loaded, silently different


def test_intact_checkpoint_passes_and_the_newest_is_chosen(tmp_path: Path, student_path: Path) -> None:
    make_checkpoint(tmp_path, 4, student_path)
    newest = make_checkpoint(tmp_path, 8, student_path)
    assert checkpoint_problem(newest) is None
    assert _last_checkpoint(tmp_path) == newest
    manifest = json.loads((newest / CHECKPOINT_CHECKSUMS).read_text())
    assert set(manifest["files"]) == {
        "config.json",
        "model.safetensors",
        "modules.json",
        "tokenizer.json",
        "trainer_state.json",
    }


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("bitflip", "model.safetensors fails its sha256 check"),
        ("truncate", "model.safetensors is truncated"),
        ("delete", "model.safetensors is missing"),
        ("unfinished", f"no {CHECKPOINT_CHECKSUMS}: the save was interrupted"),
        ("bad-manifest", f"{CHECKPOINT_CHECKSUMS} is unreadable"),
    ],
)
def test_damaged_newest_checkpoint_is_skipped_with_a_warning(
    tmp_path: Path, student_path: Path, caplog: pytest.LogCaptureFixture, damage: str, reason: str
) -> None:
    older = make_checkpoint(tmp_path, 4, student_path)
    newest = make_checkpoint(tmp_path, 8, student_path)
    weights = newest / "model.safetensors"
    if damage == "bitflip":
        flip_bit(weights, weights.stat().st_size - 1000)
    elif damage == "truncate":
        with weights.open("r+b") as fh:
            fh.truncate(weights.stat().st_size // 3)
    elif damage == "delete":
        weights.unlink()
    elif damage == "unfinished":
        (newest / CHECKPOINT_CHECKSUMS).unlink()
    else:
        (newest / CHECKPOINT_CHECKSUMS).write_text('{"files": ')
    assert reason in (checkpoint_problem(newest) or "")
    with caplog.at_level(logging.WARNING, logger="leaf_hub.distill"):
        assert _last_checkpoint(tmp_path) == older
    assert any("skipping checkpoint-8" in r.getMessage() and reason in r.getMessage() for r in caplog.records)
    assert not newest.exists() and (tmp_path / "corrupt-checkpoint-8").is_dir()  # moved out of the trainer's way
    assert _last_checkpoint(tmp_path) == older  # and stays out of the way


def test_no_intact_checkpoint_is_a_one_line_refusal(tmp_path: Path, student_path: Path) -> None:
    first = make_checkpoint(tmp_path, 4, student_path)
    second = make_checkpoint(tmp_path, 8, student_path)
    flip_bit(first / "trainer_state.json", 5)
    with (second / "model.safetensors").open("r+b") as fh:
        fh.truncate(100)
    with pytest.raises(DistillError) as info:
        _last_checkpoint(tmp_path)
    message = str(info.value)
    assert "\n" not in message and message.startswith("--resume: no intact checkpoint in")
    assert "checkpoint-8: model.safetensors is truncated" in message
    assert "checkpoint-4: trainer_state.json fails its sha256 check" in message
    assert first.is_dir() and second.is_dir()  # nothing moved or deleted when nothing can be used
    assert _last_checkpoint(tmp_path / "absent") is None


def test_release_restarts_instead_of_refusing_when_nothing_is_intact(tmp_path: Path, student_path: Path) -> None:
    """``release`` asks ``has_intact_checkpoint`` (never raises) and trains afresh when it says no."""
    from leaf_hub.distill import has_intact_checkpoint

    assert not has_intact_checkpoint(tmp_path / "absent")
    damaged = make_checkpoint(tmp_path, 4, student_path)
    flip_bit(damaged / "model.safetensors", 4096)
    assert not has_intact_checkpoint(tmp_path)
    make_checkpoint(tmp_path / "good", 4, student_path)
    assert has_intact_checkpoint(tmp_path / "good")
