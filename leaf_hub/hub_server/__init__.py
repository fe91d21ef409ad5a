"""A Hugging Face Hub-compatible server for publishing and loading models and datasets offline.

The real, unmodified ``huggingface_hub`` client (and transformers / sentence-transformers on top
of it) talks to it through ``HF_ENDPOINT`` with ``HF_HUB_DISABLE_XET=1``; the HTTP surface follows
``HUB_API.md``. Repos are bare git repositories with a git-LFS object store under ``data_dir``.

Entry points: :func:`create_app` (the FastAPI app), :class:`ServerSettings`,
:func:`~leaf_hub.hub_server.server.run_server` (uvicorn), ``leaf-hub serve`` / ``python -m
leaf_hub.hub_server`` (the command line) and :mod:`leaf_hub.hub_server.testing` (a subprocess
server for tests). Nothing here imports torch, transformers or mteb.
"""

from __future__ import annotations

from leaf_hub.hub_server.app import create_app
from leaf_hub.hub_server.settings import ServerSettings, TokenRecord

__all__ = ["ServerSettings", "TokenRecord", "create_app"]
