"""Routers of the Hub API, one module per area; :func:`all_routers` lists them in matching order."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["all_routers"]


def all_routers() -> list[APIRouter]:
    """Return the routers in the order they must be matched (``/api`` first, catch-alls last)."""
    from leaf_hub.hub_server.routes import commit, lfs, repos, resolve, users

    return [users.router, repos.router, commit.router, lfs.router, resolve.router]
