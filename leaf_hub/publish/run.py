"""The publish stage: upload a staged release in one commit per repo, verify it, then tag it.

:func:`publish` receives the recipe and the run folder from the orchestrator
(:func:`leaf_hub.release.publish_run`), with what the release ships besides the model
(:class:`~leaf_hub.publish.stage.ReleaseContent`: the records, the rendered cards, the exports
record). Nothing reaches the Hub before the folder is staged, and no tag is created before the
upload reloads to the same model:

1. stage one folder per repo (:func:`~leaf_hub.publish.stage.stage_release`); ``dry_run`` stops here;
2. a repo whose tag already holds an identical ``release.json`` is left as it is; a different one is
   refused (:func:`~leaf_hub.publish.tag.published_commit`);
3. create the repo if absent and upload the staged folder in **one** commit;
4. verify each commit (:func:`~leaf_hub.publish.verify.verify_commit`);
5. only then tag them all, record the model repo's manifest and the recipe in the run folder.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from leaf_hub.publish.stage import ReleaseContent, StagedRepo, stage_release
from leaf_hub.publish.tag import create_tags, published_commit
from leaf_hub.publish.verify import verify_commit
from leaf_hub.version import __version__

if TYPE_CHECKING:
    from leaf_hub.hub import HubClient
    from leaf_hub.recipe import Recipe
    from leaf_hub.run_folder import RunFolder

logger = logging.getLogger(__name__)

__all__ = ["PublishResult", "RepoRelease", "publish"]


@dataclass
class RepoRelease:
    """Outcome for one repo.

    Attributes:
        repo_id: The repo.
        tag: The release tag.
        commit: The tagged commit.
        uploaded: ``False`` when the tag already pointed at identical content (a no-op).
        min_cosine: Smallest probe cosine of the fresh-process reload (``None`` when not verified).
        files: Relative path -> (size, sha256) of the released files.
    """

    repo_id: str
    tag: str
    commit: str | None
    uploaded: bool
    min_cosine: float | None
    files: dict[str, tuple[int, str]]


@dataclass
class PublishResult:
    """What a publish did.

    Attributes:
        endpoint: The Hub endpoint.
        dry_run: Whether nothing was sent.
        repos: One entry per repo (the model first, then ``-asym``).
        seconds: Wall time per phase (``export``, ``stage``, ``upload``, ``verify``, ``tag``, ``total``).
    """

    endpoint: str
    dry_run: bool
    repos: list[RepoRelease]
    seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(seconds: dict[str, float], phase: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[phase] = seconds.get(phase, 0.0) + time.perf_counter() - start


def publish(
    recipe: Recipe,
    run: RunFolder,
    *,
    content: ReleaseContent,
    repo_id: str,
    tag: str,
    endpoint: str | None = None,
    token: str | None = None,
    private: bool = False,
    dry_run: bool = False,
    asym: bool = False,
) -> PublishResult:
    """Publish a run as a verified, tagged release (see the module docstring for the steps).

    The checks come first (:func:`leaf_hub.publish.checks.check_run` and
    :func:`~leaf_hub.publish.checks.check_release`); the orchestrator runs them, the export stage
    and the cards before this call.

    Args:
        recipe: The recipe of the release (the published ``recipe.yaml``; recorded in the run folder
            after the release).
        run: The run folder.
        content: The records, the rendered cards and the exports record the release ships.
        repo_id: ``ORG/NAME`` of the model repo.
        tag: Release tag, ``v{recipe.version}``.
        endpoint: Hub URL (``None``: ``$HF_ENDPOINT`` or huggingface.co).
        token: Access token (see :func:`leaf_hub.hub.resolve_token`); not needed for ``dry_run``.
        private: Create new repos as private.
        dry_run: Stage and list the files, send nothing.
        asym: Also publish ``ORG/NAME-asym`` (Router: queries -> student, documents -> teacher).

    Returns:
        What was (or, with ``dry_run``, would be) released; ``seconds`` holds ``stage``, ``upload``,
        ``verify``, ``tag`` and ``total`` (this call's wall time).

    Raises:
        ReleaseError: ``asym`` without a local teacher folder.
        ExportError: If an export file changed since it was checked.
        TagExistsError: If the tag exists with different content.
        HubAuthError, RepoNotFound, HubError: If the Hub refuses or fails.
        VerificationError: If the published commit does not reload to the same model.
    """
    from leaf_hub.hub import HubClient, resolve_endpoint

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="leaf-hub-publish-") as tmp:
        with _timed(seconds, "stage"):
            staged = stage_release(recipe, run, content, repo_id, Path(tmp), asym=asym)
        if dry_run:
            seconds["total"] = time.perf_counter() - start
            repos = [RepoRelease(s.repo_id, tag, None, False, None, s.files) for s in staged]
            return PublishResult(resolve_endpoint(endpoint), True, repos, seconds)
        client = HubClient(endpoint, token)
        releases = _release(client, staged, tag, run, recipe, content.teacher_folder, private, seconds)
        _write_run_manifest(run, staged, releases, client.endpoint)
        run.save_recipe(recipe)  # the run folder records the recipe of its latest release
    seconds["total"] = time.perf_counter() - start
    return PublishResult(client.endpoint, False, releases, seconds)


def _release(
    client: HubClient,
    staged: list[StagedRepo],
    tag: str,
    run: RunFolder,
    recipe: Recipe,
    teacher_folder: Path | None,
    private: bool,
    seconds: dict[str, float],
) -> list[RepoRelease]:
    releases: list[RepoRelease] = []
    pending: list[tuple[StagedRepo, str]] = []
    message = f"{recipe.name} {tag} (leaf-hub {__version__})"
    for repo in staged:
        existing = published_commit(client, repo, tag)
        if existing is not None:
            releases.append(RepoRelease(repo.repo_id, tag, existing, False, None, repo.files))
            continue
        with _timed(seconds, "upload"):
            client.ensure_repo(repo.repo_id, private=private)
            commit = client.upload_folder(repo.repo_id, repo.folder, message)
        pending.append((repo, commit))
    verified: list[tuple[StagedRepo, str, float]] = []
    with _timed(seconds, "verify"):
        for repo, commit in pending:
            verified.append((repo, commit, verify_commit(client, repo, commit, run, recipe, teacher_folder)))
    with _timed(seconds, "tag"):
        create_tags(client, [(repo.repo_id, commit) for repo, commit, _ in verified], tag, message)
    releases += [RepoRelease(repo.repo_id, tag, commit, True, cosine, repo.files) for repo, commit, cosine in verified]
    order = {s.repo_id: i for i, s in enumerate(staged)}
    return sorted(releases, key=lambda r: order[r.repo_id])


def _write_run_manifest(run: RunFolder, staged: list[StagedRepo], releases: list[RepoRelease], endpoint: str) -> None:
    """Record the model repo's manifest in the run folder, plus where and when it was published."""
    import datetime as dt

    main = releases[0]
    record = staged[0].manifest.model_copy(
        update={
            "repo_id": main.repo_id,
            "tag": main.tag,
            "commit": main.commit,
            "endpoint": endpoint,
            "published_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "releases": [{"repo_id": r.repo_id, "tag": r.tag, "commit": r.commit} for r in releases],
        }
    )
    run.save_manifest(record)
