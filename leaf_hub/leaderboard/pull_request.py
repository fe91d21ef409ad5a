"""The pull request of a submission to the results repository (``embeddings-benchmark/results``).

:func:`write_pull_request` turns a :class:`~leaf_hub.leaderboard.submission.Submission` into the
files of the pull request (laid out as in the repository) plus a ``git format-patch`` of one commit
adding them (offline), and with ``open_pr`` forks the repository, pushes that commit to a branch and
opens the pull request with ``gh``. :func:`validate_pull_request` loads the files back with mteb's own
loaders, as the results repository does; :func:`pull_request_report` records both.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leaf_hub.errors import LeaderboardError
from leaf_hub.hashing import sha256_file
from leaf_hub.leaderboard.submission import RESULTS_REPO, Submission
from leaf_hub.records.run_settings import check_run_settings

__all__ = ["PullRequest", "pull_request_report", "validate_pull_request", "write_pull_request"]


@dataclass
class PullRequest:
    """What :func:`write_pull_request` made.

    Attributes:
        folder: The files of the pull request, laid out as in the results repository (``results/...``).
        patch: ``git format-patch`` of one commit adding them; ``git am`` applies it to a clone.
        files: Path in the results repository -> size in bytes.
        url: The opened pull request (online), else ``None``.
    """

    folder: Path
    patch: Path
    files: dict[str, int]
    url: str | None = None


def _git(*args: str, cwd: Path) -> str:
    import subprocess

    env = {
        "GIT_AUTHOR_NAME": "leaf-hub",
        "GIT_AUTHOR_EMAIL": "leaf-hub@localhost",
        "GIT_COMMITTER_NAME": "leaf-hub",
        "GIT_COMMITTER_EMAIL": "leaf-hub@localhost",
        "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+00:00",
        "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+00:00",
    }
    import os

    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, env={**os.environ, **env}, check=True, capture_output=True, text=True
        )
    except FileNotFoundError as e:
        raise LeaderboardError("git is not installed; it writes the pull request's patch") from e
    except subprocess.CalledProcessError as e:
        raise LeaderboardError(f"git {args[0]} failed: {(e.stderr or e.stdout).strip().splitlines()[-1]}") from e
    return done.stdout


def write_pull_request(sub: Submission, *, open_pr: bool = False) -> PullRequest:
    """Write the results-repository pull request of a submission, and open it when asked.

    Offline (the default) it writes ``<submission>/pull_request/`` (the files, in the repository's
    layout) and ``<submission>/pull_request.patch``: one commit that adds them, made with git in a
    scratch repository, so ``git am pull_request.patch`` on a clone of the results repository
    reproduces it. With ``open_pr`` it then forks the results repository, pushes that commit to a
    branch and opens the pull request with the GitHub CLI (``gh``), as mteb's docs describe.

    Raises:
        LeaderboardError: If git is missing, or ``open_pr`` is asked without ``gh`` or without network.
    """
    out = sub.output
    folder = out / "pull_request"
    shutil.rmtree(folder, ignore_errors=True)
    rel_dir = sub.results_dir.relative_to(out)
    shutil.copytree(sub.results_dir, folder / rel_dir)
    files = {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
    title = f"Add {sub.model_name} ({sub.revision[:12]})"
    body = f"Results of {sub.model_name} at revision {sub.revision}: " + ", ".join(
        f"{t} {100 * s:.2f}" for t, s in sorted(sub.tasks.items())
    )
    with tempfile.TemporaryDirectory(prefix="leaf-hub-pr-") as tmp:
        repo = Path(tmp)
        _git("init", "-q", "-b", "main", cwd=repo)
        _git("commit", "-q", "--allow-empty", "-m", "results repository (base)", cwd=repo)
        shutil.copytree(folder, repo, dirs_exist_ok=True)
        _git("add", "results", cwd=repo)
        _git("commit", "-q", "-m", title, "-m", body, cwd=repo)
        patch = out / "pull_request.patch"
        patch.write_text(_git("format-patch", "-1", "--stdout", cwd=repo), encoding="utf-8")
    pr = PullRequest(folder=folder, patch=patch, files=files)
    if open_pr:
        pr.url = _open_pull_request(pr, title, body, branch=f"add-{sub.results_dir.parent.name}")
    return pr


def _open_pull_request(pr: PullRequest, title: str, body: str, *, branch: str) -> str:
    import shutil as _shutil
    import socket
    import subprocess

    if _shutil.which("gh") is None:
        raise LeaderboardError(
            f"opening the pull request needs the GitHub CLI (gh); without it apply {pr.patch} "
            f"to a fork of {RESULTS_REPO} with `git am` and open the PR there"
        )
    try:
        socket.create_connection(("github.com", 443), timeout=5).close()
    except OSError as e:
        raise LeaderboardError(f"github.com is unreachable ({e.strerror or e}); {pr.patch} is ready to apply") from e
    with tempfile.TemporaryDirectory(prefix="leaf-hub-results-") as tmp:
        clone = Path(tmp) / "results"
        try:
            subprocess.run(
                ["gh", "repo", "fork", RESULTS_REPO.removeprefix("https://github.com/"), "--clone", "--", str(clone)],
                check=True,
                capture_output=True,
                text=True,
            )
            _git("switch", "-c", branch, cwd=clone)
            _git("am", str(pr.patch.resolve()), cwd=clone)
            _git("push", "-u", "origin", branch, cwd=clone)
            done = subprocess.run(
                ["gh", "pr", "create", "--repo", RESULTS_REPO, "--title", title, "--body", body],
                cwd=clone,
                check=True,
                capture_output=True,
                text=True,
            )
        except subprocess.CalledProcessError as e:
            raise LeaderboardError(f"gh failed: {(e.stderr or e.stdout).strip().splitlines()[-1]}") from e
    return done.stdout.strip().splitlines()[-1]


def validate_pull_request(pr: PullRequest) -> dict[str, Any]:
    """Load a pull request's folder back with mteb's own loaders and result classes, as the results repository does.

    ``model_meta.json`` through ``ModelMeta``, each ``<Task>.json`` through ``TaskResult.from_disk`` and
    ``validate_and_filter_scores``, ``run_settings.jsonl`` through :func:`check_run_settings`, and the
    whole tree through ``ResultCache.load_results`` (model metadata required, nothing remote).

    Returns:
        What was checked and found: model, revision, main score per task, run-settings scopes, the
        tasks ``ResultCache`` loads, and ``passed: true``.

    Raises:
        LeaderboardError: On the first file mteb does not accept.
    """
    from mteb.cache import ResultCache
    from mteb.models.model_meta import ModelMeta
    from mteb.results import TaskResult

    metas = list(pr.folder.glob("results/*/*/model_meta.json"))
    if len(metas) != 1:
        raise LeaderboardError(
            f"{pr.folder}: expected one results/<model>/<revision>/model_meta.json, found {len(metas)}"
        )
    revision_dir = metas[0].parent
    try:
        meta = ModelMeta.model_validate_json_resolved(metas[0].read_text(encoding="utf-8"))
    except Exception as e:  # noqa: BLE001 - any mteb failure here means an invalid file
        raise LeaderboardError(f"{metas[0]} does not load as mteb's ModelMeta: {str(e).splitlines()[0]}") from e
    scores: dict[str, float] = {}
    for path in sorted(revision_dir.glob("*.json")):
        if path.name == "model_meta.json":
            continue
        try:
            result = TaskResult.from_disk(path).validate_and_filter_scores()
        except Exception as e:  # noqa: BLE001
            raise LeaderboardError(f"{path} does not load with mteb's TaskResult: {str(e).splitlines()[0]}") from e
        scores[result.task_name] = float(result.get_score())
    scopes = check_run_settings(revision_dir, sorted(scores))
    bench = ResultCache(pr.folder).load_results(
        models=[meta], tasks=sorted(scores), require_model_meta=True, include_remote=False, validate_and_filter=True
    )
    loaded = sorted(r.task_name for m in bench.model_results for r in m.task_results)
    if loaded != sorted(scores):
        raise LeaderboardError(f"mteb's ResultCache loads {loaded} from {pr.folder}, expected {sorted(scores)}")
    return {
        "model": meta.name,
        "revision": meta.revision,
        "tasks": scores,
        "run_settings": sorted("/".join(scope) + f" (mteb {version})" for scope, version in scopes.items()),
        "result_cache_tasks": loaded,
        "training_datasets": sorted(meta.training_datasets or []),
        "passed": True,
    }


def pull_request_report(
    sub: Submission, pr: PullRequest, validation: dict[str, Any], *, command: str
) -> dict[str, Any]:
    """What a submission's pull request holds and what mteb's loaders made of it, as one JSON-ready record.

    Args:
        sub: The submission.
        pr: Its pull request (:func:`write_pull_request`).
        validation: What :func:`validate_pull_request` found.
        command: The command line that made it.

    Returns:
        Model, revision, mteb version, tasks, skipped tasks, the scores against stock mteb's
        (``mteb_agreement``), files and their sizes, the patch (name,
        bytes, sha256), the validation, the pull request's URL (``None`` offline) and the command.
    """
    import mteb

    return {
        "model": sub.model_name,
        "revision": sub.revision,
        "mteb_version": mteb.__version__,
        "tasks": sub.tasks,
        "skipped": sub.skipped,
        "mteb_agreement": [row.model_dump() for row in sub.agreement],
        "files": pr.files,
        "total_bytes": sum(pr.files.values()),
        "patch": {"file": pr.patch.name, "bytes": pr.patch.stat().st_size, "sha256": sha256_file(pr.patch)},
        "validation": validation,
        "pull_request_url": pr.url,
        "command": command,
    }
