"""One-command release: distill → evaluate → card → publish → verify.

Each stage is skipped when its outputs are up to date with its inputs. This module only
orchestrates; every stage lives in its own module, and the recipe this call loaded is handed to
each of them (no stage re-reads it from the run folder). Up-to-date checks use the fingerprints of
:func:`stage_fingerprints`, kept in the run folder's :class:`~leaf_hub.run_folder.StageRecord`:

* distill: the recipe's ``teacher``, ``student``, ``data`` and ``training`` sections;
* evaluate: the distill fingerprint, the model folder's hash, and the ``evaluation`` and
  ``teacher`` sections;
* publish: the evaluate fingerprint, the whole recipe (its name, version, card and hub sections:
  everything the card, the manifest and the tag show; ``compute`` and ``output_dir`` aside), the
  repo, the tag and the companion repo. It is skipped when it matches and the tag still points at
  the commit it recorded; otherwise :func:`leaf_hub.publish.publish` runs, which makes identical
  re-publishing a no-op and never moves a tag.

A rerun after a failure therefore resumes at the first stage whose outputs are missing or stale.
With ``embedded_hub=True`` the project's own Hub-compatible server is started on loopback
(persistent under ``$LEAF_HUB_HOME/hub``) with a freshly generated write token that is never
printed or stored outside that folder.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from leaf_hub.errors import ReleaseError
from leaf_hub.recipe import Recipe, load_recipe
from leaf_hub.records import ReleaseSummary
from leaf_hub.run_folder import RunFolder

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

__all__ = ["release", "stage_fingerprints"]

_DISTILL_SECTIONS = ("teacher", "student", "data", "training")


def _digest(*parts: str) -> str:
    from leaf_hub.hashing import sha256_text

    return sha256_text("|".join(parts))


def stage_fingerprints(
    recipe: Recipe, run_dir: Path, *, repo_id: str | None = None, tag: str | None = None, asym: bool = False
) -> dict[str, str]:
    """Fingerprints of everything each stage reads (see the module docstring).

    ``evaluate`` and ``publish`` need the model to exist (they cover its weights).
    """
    from leaf_hub.assets import model_fingerprint

    run = RunFolder(run_dir)
    prints = {"distill": recipe.fingerprint(*_DISTILL_SECTIONS)}
    if run.has_model():
        prints["evaluate"] = _digest(
            prints["distill"], model_fingerprint(run.model_dir), recipe.fingerprint("evaluation", "teacher")
        )
        release = recipe.model_copy(update={"output_dir": "-"})  # where the run folder lives changes no output
        target = [repo_id or recipe.hub.repo_id, tag or f"v{recipe.version}", "asym" if asym else "-"]
        prints["publish"] = _digest(prints["evaluate"], release.fingerprint(), *target)
    return prints


@contextmanager
def _embedded_hub(namespace: str) -> Iterator[tuple[str, str]]:
    """Start the project's Hub server on loopback; yield ``(endpoint, write token)``."""
    from leaf_hub.assets import leaf_hub_home
    from leaf_hub.hub_server import TokenSpec, running_hub_server

    root = leaf_hub_home() / "hub"
    token_path = root / "release-token"
    root.mkdir(parents=True, exist_ok=True)
    if token_path.is_file():
        token = token_path.read_text().strip()
    else:
        token = f"hf_leafhub_{secrets.token_hex(16)}"
        fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token)
    tokens = [TokenSpec(token=token, user=namespace, role="write")]
    with running_hub_server(root / "data", tokens=tokens) as hub:
        logger.info("embedded hub at %s (data in %s)", hub.url, root / "data")
        yield hub.url, token


def release(
    recipe: str | Path | Recipe,
    *,
    endpoint: str | None = None,
    tag: str | None = None,
    token: str | None = None,
    token_file: str | Path | None = None,
    embedded_hub: bool = False,
    asym: bool = False,
    output_dir: str | Path | None = None,
    repo_id: str | None = None,
) -> ReleaseSummary:
    """Distil, evaluate, card, publish and verify one recipe, skipping up-to-date stages.

    Args:
        recipe: A recipe path, shipped name or loaded :class:`Recipe`.
        endpoint: Hub URL (``None``: ``$HF_ENDPOINT`` or huggingface.co). Ignored with ``embedded_hub``.
        tag: Release tag; must be ``v{recipe.version}`` (default).
        token: Hub token (else ``token_file``, ``$HF_TOKEN`` or the huggingface_hub login).
        token_file: File holding the token.
        embedded_hub: Publish to the project's own Hub server, started on loopback for this call.
        asym: Also publish the ``-asym`` Router repo.
        output_dir: Override the recipe's run folder.
        repo_id: Override the recipe's ``hub.repo_id``.

    Returns:
        The summary, also written to ``<run_dir>/release_summary.json``.

    Raises:
        ReleaseError: Tag/version mismatch or no token for a real Hub, before any work is done.
        RepoIdError: A bad ``repo_id``, before any work is done.
        LeafHubError: Whatever a stage raises (the stages already done stay done).
    """
    from leaf_hub.hub import check_repo_id, resolve_endpoint, resolve_token

    wall = time.perf_counter()
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe, {"output_dir": str(output_dir)} if output_dir else None)
    elif output_dir:
        recipe = recipe.model_copy(update={"output_dir": str(output_dir)})
    tag = tag or f"v{recipe.version}"
    if tag != f"v{recipe.version}":
        raise ReleaseError(
            f"tag {tag} does not match recipe {recipe.name} version {recipe.version} (expected v{recipe.version})"
        )
    repo = check_repo_id(repo_id or recipe.hub.repo_id)  # a bad --repo is refused before any stage runs
    if not embedded_hub:
        token = token or resolve_token(token_file)
        if not token:
            raise ReleaseError(
                f"no Hub token for {resolve_endpoint(endpoint or recipe.hub.endpoint)}: set HF_TOKEN, "
                "pass --token-file, or use --embedded-hub"
            )
    if embedded_hub:
        with _embedded_hub(repo.split("/")[0]) as (url, hub_token):
            summary = _run_stages(recipe, repo, tag, url, hub_token, asym)
    else:
        summary = _run_stages(recipe, repo, tag, endpoint or recipe.hub.endpoint, token, asym)
    summary.wall_seconds = time.perf_counter() - wall
    RunFolder(recipe.run_dir).save_summary(summary.to_json())
    return summary


def _run_stages(
    recipe: Recipe, repo: str, tag: str, endpoint: str | None, token: str | None, asym: bool
) -> ReleaseSummary:
    from leaf_hub.distill import distill, has_intact_checkpoint
    from leaf_hub.evaluation.run import evaluate_run
    from leaf_hub.hub import HubClient, resolve_endpoint
    from leaf_hub.publish import check_published_exports, publish

    run = RunFolder(recipe.run_dir)
    run.root.mkdir(parents=True, exist_ok=True)
    run.clear_summary()  # a release that stops early never leaves an earlier release's figures
    summary = ReleaseSummary(
        recipe=recipe.name,
        version=recipe.version,
        run_dir=str(run.root),
        endpoint=resolve_endpoint(endpoint),
        repo_id=repo,
        tag=tag,
    )
    done = run.load_stages()

    def fingerprints() -> dict[str, str]:
        return stage_fingerprints(recipe, run.root, repo_id=repo, tag=tag, asym=asym)

    # distill
    prints = fingerprints()
    start = time.perf_counter()
    fresh = done.fingerprint("distill") == prints["distill"] and run.has_report() and run.has_model()
    if fresh:
        report = run.load_report()
        logger.info("distill: up to date, skipped")
    else:
        # an interrupted distillation of the same inputs continues from its last checkpoint
        has_checkpoint = any(run.checkpoints_dir.glob("checkpoint-*/trainer_state.json"))
        resume = has_checkpoint and done.distill_started == prints["distill"]
        if resume and not has_intact_checkpoint(run.checkpoints_dir):
            # nothing to continue from: every checkpoint is damaged (they hold no usable work)
            logger.warning("distill: no intact checkpoint of the interrupted run; training starts afresh")
            resume = False
        done.distill_started = prints["distill"]
        done.invalidate("distill", "evaluate", "publish")
        run.save_stages(done)
        report = distill(recipe, run, resume=resume)
        done.complete("distill", prints["distill"])
        run.save_stages(done)
    summary.stages["distill"] = {"status": "skipped" if fresh else "ran", "seconds": time.perf_counter() - start}
    summary.alignment_before, summary.alignment_after = report.alignment_before, report.alignment_after
    summary.alignment_gain_se, summary.text_passes = report.alignment_gain_se, report.text_passes
    summary.train_seconds = report.train_seconds

    # evaluate
    prints = fingerprints()
    start = time.perf_counter()
    fresh = done.fingerprint("evaluate") == prints["evaluate"] and run.has_results()
    if fresh:
        results = run.load_results()
        logger.info("evaluate: up to date, skipped")
    else:
        done.invalidate("evaluate", "publish")
        run.save_stages(done)
        results = evaluate_run(recipe, run)
        done.complete("evaluate", prints["evaluate"])
        run.save_stages(done)
    summary.stages["evaluate"] = {"status": "skipped" if fresh else "ran", "seconds": time.perf_counter() - start}
    for score in results.scores:
        key = f"{score.task}/{score.mode}"
        summary.scores[key] = score.main_score
        summary.subsampled[key] = score.subsampled

    # card + publish + verify (publish renders the card, uploads one commit, verifies, tags)
    client = HubClient(endpoint, token)
    start = time.perf_counter()
    recorded = done.completed.get("publish") or {}
    fresh = (
        recorded.get("fingerprint") == prints["publish"]
        and recorded.get("commit") is not None
        and client.tag_target(repo, tag) == recorded["commit"]
    )
    if fresh:
        logger.info("card + publish: up to date (%s@%s is commit %s), skipped", repo, tag, recorded["commit"][:12])
        summary.stages["card"] = {"status": "skipped", "seconds": 0.0}
        summary.stages["publish"] = {"status": "skipped (up to date)", "seconds": time.perf_counter() - start}
        summary.commit = recorded["commit"]
    else:
        published = publish(run.root, recipe=recipe, repo_id=repo, tag=tag, endpoint=endpoint, token=token, asym=asym)
        main_repo = published.repos[0]
        summary.stages["card"] = {"status": "ran", "seconds": published.seconds.get("stage", 0.0)}
        summary.stages["publish"] = {
            "status": "ran" if main_repo.uploaded else "skipped (identical release exists)",
            "seconds": time.perf_counter() - start - published.seconds.get("stage", 0.0),
        }
        summary.commit = main_repo.commit
        done.complete("publish", prints["publish"], commit=main_repo.commit, tag=tag, repo_id=repo)
        run.save_stages(done)
    summary.url = f"{summary.endpoint}/{repo}"

    # final check: the tag, as users load it, in a fresh process
    start = time.perf_counter()
    summary.reload_min_cosine = _reload_tag(run.model_dir, repo, tag, endpoint, token)
    exports_cosine = check_published_exports(client, repo, tag, run.root)  # the tag's ONNX/OpenVINO
    if exports_cosine is not None:
        summary.reload_min_cosine = min(summary.reload_min_cosine, exports_cosine)
    summary.stages["reload"] = {"status": "ran", "seconds": time.perf_counter() - start}
    summary.n_parameters, summary.model_mb = _model_size(run.model_dir)
    return summary


def _reload_tag(model_dir: Path, repo: str, tag: str, endpoint: str | None, token: str | None) -> float:
    """``SentenceTransformer(repo, revision=tag)`` in a fresh process vs the local model."""
    import tempfile

    import numpy as np
    from sentence_transformers import SentenceTransformer

    from leaf_hub.errors import VerificationError
    from leaf_hub.hub import PROBE_TEXTS, RELOAD_MIN_COSINE, HubClient, reload_in_subprocess

    client = HubClient(endpoint, token)
    calls = {"query": ("encode", {"prompt_name": "query"}), "plain": ("encode", {})}
    with tempfile.TemporaryDirectory(prefix="leaf-hub-reload-") as tmp:
        remote = reload_in_subprocess(client, repo, tag, calls, hf_home=Path(tmp))
    local = SentenceTransformer(str(model_dir), device="cpu")
    worst = 1.0
    for name, (_, kwargs) in calls.items():
        a = np.asarray(local.encode(list(PROBE_TEXTS), **kwargs))
        b = np.asarray(remote[name])
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        worst = min(worst, float(cos.min()))
    if worst < RELOAD_MIN_COSINE:
        raise VerificationError(f"{repo}@{tag} reloads to different embeddings (min cosine {worst:.6f})")
    return worst


def _model_size(model_dir: Path) -> tuple[int, float]:
    """Parameters and MB of weights, by :func:`leaf_hub.models.weights.count_weights`'s rule."""
    from leaf_hub.models.weights import count_weights

    counts = count_weights(model_dir)
    return counts.parameters, counts.size_bytes / 1e6
