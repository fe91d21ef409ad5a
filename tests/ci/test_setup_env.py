"""scripts/ci/setup_env.sh: a failed pip install fails the script with one line and writes no stamp.

The real script runs from a copy of the checkout's layout in tmp_path (it works on the folder two
levels above itself), with a stand-in ``.venv`` whose ``python`` plays pip: failing, succeeding
with pip's "WARNING: Location" noise, or succeeding silently (grep then filters nothing and exits 1,
which must not count as a failure).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.scripts import ROOT

FAKE_PYTHON = """#!/usr/bin/env bash
# stand-in for .venv/bin/python: "-m pip install ..." behaves as PIP_MODE says; "-c ..." succeeds
if [ "$1 $2" = "-m pip" ]; then
  echo "$*" >> "$(dirname "$0")/pip_calls"
  case "$PIP_MODE" in
    fail) echo "ERROR: No matching distribution found for torch==2.13.0" >&2; exit 1 ;;
    noisy) echo "WARNING: Location 'x' is ignored" >&2; echo "Successfully installed torch" ;;
    silent) ;;
  esac
  exit 0
fi
exit 0
"""


def _checkout(tmp_path: Path, stamp: str | None = None) -> Path:
    root = tmp_path / "checkout"
    (root / "scripts" / "ci").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "ci" / "setup_env.sh", root / "scripts" / "ci" / "setup_env.sh")
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(FAKE_PYTHON, encoding="utf-8")
    (bin_dir / "python").chmod(0o755)
    (bin_dir / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n', encoding="utf-8")
    if stamp is not None:
        (root / ".venv" / ".leaf_hub_installed").write_text(stamp + "\n", encoding="utf-8")
    return root


def _setup(root: Path, mode: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_MODE": mode}
    return subprocess.run(
        ["bash", str(root / "scripts" / "ci" / "setup_env.sh")], env=env, capture_output=True, text=True, timeout=60
    )


def test_failed_pip_install_fails_in_one_line_and_writes_no_stamp(tmp_path: Path) -> None:
    root = _checkout(tmp_path, stamp="an-older-pyproject")
    proc = _setup(root, "fail")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "setup: pip install torch==2.13.0 failed (exit 1); .venv is not marked installed, so the next run retries"
    )
    assert not (root / ".venv" / ".leaf_hub_installed").exists()  # the stale stamp is gone too
    assert len((root / ".venv" / "bin" / "pip_calls").read_text().splitlines()) == 1  # stopped at the first


@pytest.mark.parametrize("mode", ["noisy", "silent"])
def test_successful_install_writes_the_stamp_and_filters_location_warnings(tmp_path: Path, mode: str) -> None:
    root = _checkout(tmp_path)
    proc = _setup(root, mode)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING: Location" not in proc.stdout + proc.stderr
    assert (root / ".venv" / ".leaf_hub_installed").read_text().strip() != ""
    assert len((root / ".venv" / "bin" / "pip_calls").read_text().splitlines()) == 2
    again = _setup(root, "fail")  # stamped: nothing is installed again
    assert again.returncode == 0 and len((root / ".venv" / "bin" / "pip_calls").read_text().splitlines()) == 2
