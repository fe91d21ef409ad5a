"""Load a file of ``scripts/`` as a module (``scripts/`` is not a package: its files run as ``python scripts/…``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def script_path(name: str) -> Path:
    """The file of ``name``, a path under ``scripts/`` without ``.py`` (``"ci/release_params"``)."""
    return SCRIPTS / f"{name}.py"


def load_script(name: str) -> ModuleType:
    """Execute ``scripts/<name>.py`` as a fresh module named for its file and return it.

    Each call loads the file again, so a test sees the script as it is on disk; the module is not
    added to ``sys.modules``.
    """
    path = script_path(name)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
