"""Release tags: ``v{recipe.version}``, created only on a verified commit and never moved.

:func:`check_tag` refuses a tag that is not the recipe's version before any work is done.
:func:`published_commit` tells whether a repo already holds the tag: with an identical
``release.json`` (which lists every other file's sha256) re-publishing is a no-op; with a
different one it is refused (:class:`~leaf_hub.errors.TagExistsError`: bump the version).
:func:`create_tags` tags the commits that passed verification.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING

from leaf_hub.errors import LeafHubError, ReleaseError, TagExistsError

if TYPE_CHECKING:
    from leaf_hub.hub import HubClient
    from leaf_hub.publish.stage import StagedRepo
    from leaf_hub.recipe import Recipe

logger = logging.getLogger(__name__)

__all__ = ["check_tag", "create_tags", "published_commit"]

_TAG = re.compile(r"^v(\d+\.\d+\.\d+([.-]?[A-Za-z0-9.]+)?)$")


def check_tag(tag: str, recipe: Recipe) -> str:
    """Require ``tag`` to be ``v{recipe.version}``.

    Raises:
        ReleaseError: If the tag is not ``vX.Y.Z`` or does not match the recipe's version.
    """
    match = _TAG.match(tag)
    if not match:
        raise ReleaseError(f"tag {tag!r} is not of the form vX.Y.Z")
    if match.group(1) != recipe.version:
        raise ReleaseError(f"tag {tag} does not match recipe version {recipe.version}; use --tag v{recipe.version}")
    return tag


def published_commit(client: HubClient, repo: StagedRepo, tag: str) -> str | None:
    """The commit ``tag`` points at when it already holds this staged release; ``None`` when there is no tag.

    Raises:
        TagExistsError: If the tag exists with different content (tags are never moved).
    """
    existing = client.tag_target(repo.repo_id, tag)
    if existing is None:
        return None
    remote = client.read_json(repo.repo_id, "release.json", existing)
    local = json.loads(repo.manifest.to_json())
    if remote != local:  # release.json holds every other file's sha256
        raise TagExistsError(
            f"tag {tag} already exists on {repo.repo_id} (commit {existing[:12]}) with different content; "
            "tags are never moved, bump the version",
            repo_id=repo.repo_id,
            revision=tag,
        )
    logger.info("%s %s already published with identical content (commit %s)", repo.repo_id, tag, existing[:12])
    return existing


def create_tags(client: HubClient, commits: list[tuple[str, str]], tag: str, message: str) -> None:
    """Tag each ``(repo_id, commit)``; a failure leaves that verified commit untagged (and is raised)."""
    for repo_id, commit in commits:
        try:
            client.create_tag(repo_id, tag, commit, message)
        except LeafHubError:
            logger.error("tagging %s failed; its verified commit %s stays untagged", repo_id, commit[:12])
            raise
