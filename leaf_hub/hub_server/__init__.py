"""A Hugging Face Hub-compatible server for publishing and loading models and datasets offline.

The real, unmodified ``huggingface_hub`` client (and transformers / sentence-transformers on top
of it) talks to it through ``HF_ENDPOINT`` with ``HF_HUB_DISABLE_XET=1``; the HTTP surface follows
``HUB_API.md``. Repos are bare git repositories with a git-LFS object store under ``data_dir``.

Entry points: :func:`create_app` (the FastAPI app), :class:`ServerSettings`,
:func:`~leaf_hub.hub_server.server.run_server` (uvicorn in this process), ``leaf-hub serve`` (the
command line; ``python -m leaf_hub.hub_server`` runs the same command) and
:func:`running_hub_server` / :class:`EmbeddedHub` (:mod:`leaf_hub.hub_server.embedded`: the server
in a subprocess, as ``leaf-hub release --embedded-hub`` runs it). Nothing here imports torch,
transformers or mteb.
"""

from __future__ import annotations

from leaf_hub.hub_server.app import create_app
from leaf_hub.hub_server.embedded import EmbeddedHub, TokenSpec, running_hub_server, write_token_file
from leaf_hub.hub_server.settings import ServerSettings, TokenRecord

__all__ = [
    "EmbeddedHub",
    "ServerSettings",
    "TokenRecord",
    "TokenSpec",
    "create_app",
    "running_hub_server",
    "write_token_file",
]
