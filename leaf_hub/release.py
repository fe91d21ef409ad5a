"""One-command release: distill → evaluate → export → card → publish → verify.

Each stage is skipped when its outputs are up to date with its inputs. This module only
orchestrates; every stage lives in its own module, and the recipe this call loaded is handed to
each of them (no stage re-reads it from the run folder). The stages never import each other:
:func:`publish_run` (also what ``leaf-hub publish`` runs) hands the export stage's record to the
card and to publish, and the rendered cards to publish. Up-to-date checks use the fingerprints of
:func:`stage_fingerprints`, kept in the run folder's :class:`~leaf_hub.run_folder.StageRecord`:

* distill: the recipe's ``teacher``, ``student``, ``data`` and ``training`` sections;
* evaluate: the distill fingerprint, the model folder's hash, and the ``evaluation`` and
  ``teacher`` sections;
* publish: the evaluate fingerprint, the whole recipe (its name, version, card and hub sections:
  everything the card, the manifest and the tag show; ``compute`` and ``output_dir`` aside), the
  repo, the tag and the companion repo. It is skipped when it matches and the tag still points at
  the commit it recorded; otherwise :func:`publish_run` runs (export, card, publish), which makes
  identical re-publishing a no-op and never moves a tag.

A rerun after a failure therefore resumes at the first stage whose outputs are missing or stale.
With ``embedded_hub=True`` the project's own Hub-compatible server is started on loopback
(persistent under ``$LEAF_HUB_HOME/hub``) with a freshly generated write token that is never
printed or stored outside that folder.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import CardError, RecipeError, ReleaseError, RunFolderError
from leaf_hub.recipe import Recipe, load_recipe
from leaf_hub.records import ReleaseSummary
from leaf_hub.run_folder import RunFolder

if TYPE_CHECKING:
    from leaf_hub.publish import PublishResult, ReleaseChecks, ReleaseContent
    from leaf_hub.records import DistillReport, EvalResults
    from leaf_hub.records.comparison import PeerScore

logger = logging.getLogger(__name__)

__all__ = ["publish_run", "release", "stage_fingerprints"]

_DISTILL_SECTIONS = ("teacher", "student", "data", "training")


def _digest(*parts: str) -> str:
    from leaf_hub.hashing import sha256_text

    return sha256_text("|".join(parts))


def stage_fingerprints(
    recipe: Recipe,
    run_dir: Path,
    *,
    repo_id: str | None = None,
    tag: str | None = None,
    asym: bool = False,
    exports: bool = True,
    compare_with: Sequence[str] = (),
) -> dict[str, str]:
    """Fingerprints of everything each stage reads (see the module docstring).

    ``evaluate`` and ``publish`` need the model to exist (they cover its weights). A release without
    the CPU exports (``exports=False``) is another publication, so it has its own publish fingerprint;
    with them (the default) the fingerprint is what it was before the choice existed.
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
        target += [] if exports else ["no-exports"]
        target += [f"compare-with:{source}" for source in compare_with]  # the card's "Compared with" rows
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
    exports: bool = True,
    compare_with: Sequence[str] = (),
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
        exports: Make, check and publish the ONNX / OpenVINO exports beside the weights (``False``:
            the safetensors weights only; a static student never has exports).
        compare_with: Sources of other models' scores for the card's "Compared with" table: results
            folders or model names (:func:`leaf_hub.evaluation.peers.peer_scores`).

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
    run = RunFolder(recipe.run_dir)  # the one run folder every stage is handed
    if embedded_hub:
        with _embedded_hub(repo.split("/")[0]) as (url, hub_token):
            summary = _run_stages(recipe, run, repo, tag, url, hub_token, asym, exports, tuple(compare_with))
    else:
        endpoint = endpoint or recipe.hub.endpoint
        summary = _run_stages(recipe, run, repo, tag, endpoint, token, asym, exports, tuple(compare_with))
    summary.wall_seconds = time.perf_counter() - wall
    run.save_summary(summary.to_json())
    return summary


def publish_run(
    run: RunFolder,
    recipe: Recipe | None = None,
    *,
    repo_id: str,
    tag: str,
    endpoint: str | None = None,
    token: str | None = None,
    private: bool = False,
    dry_run: bool = False,
    asym: bool = False,
    allow_license_override: bool = False,
    exports: bool = True,
    compare_with: Sequence[str] = (),
) -> PublishResult:
    """Export, card and publish one run: ``leaf-hub publish``, and the publish stage of :func:`release`.

    Nothing reaches the Hub before the local checks pass, and no tag is created before the upload
    reloads to the same model:

    1. check the repo id(s), the run's model and results, then (with the run's records) the tag
       (``v{version}``), the model folder's portability and the licence gate
       (:func:`leaf_hub.publish.check_run`, :func:`leaf_hub.publish.check_release`);
    2. the export stage (:func:`leaf_hub.export.prepare_exports`: ONNX fp32, ONNX int8, OpenVINO
       int8 where it installs), made once into ``run/exports`` and checked and measured against the
       torch model by :func:`leaf_hub.evaluation.exports.measure_exports`;
    3. the cards (:mod:`leaf_hub.model_card`), from the records, the licence report and the
       exports' rows;
    4. :func:`leaf_hub.publish.publish`: stage (``dry_run`` stops there), upload one commit per
       repo, verify, tag.

    Args:
        run: The run folder, with a model and evaluation results.
        recipe: The recipe of the release (default: the one the run folder recorded).
        repo_id: ``ORG/NAME`` of the model repo.
        tag: Release tag, ``v{recipe.version}``.
        endpoint: Hub URL (``None``: ``$HF_ENDPOINT`` or huggingface.co).
        token: Access token; not needed for ``dry_run``.
        private: Create new repos as private.
        dry_run: Stage and list the files, send nothing.
        asym: Also publish ``ORG/NAME-asym`` (Router: queries -> student, documents -> teacher).
        allow_license_override: Publish even if the licence gate refuses (recorded in ``release.json``).
        exports: Publish the ONNX / OpenVINO exports beside the weights.
        compare_with: Sources of other models' scores for the card's "Compared with" table, each a
            local folder in mteb's results layout or a model name (``org/name``, read from mteb's
            results cache, updated from the results repository when online); read before any export
            work, so a bad source is refused first.

    Returns:
        What was (or would be) released; ``seconds`` per phase: ``export``, ``stage`` (cards and
        staging), ``upload``, ``verify``, ``tag``, ``total``.

    Raises:
        CardError: If the run has no evaluation results or they cannot be rendered.
        RepoIdError: On a bad repo id.
        ReleaseError: On a bad tag or run folder, or ``asym`` with a black-box teacher and no
            ``teacher.document_encoder``.
        ExportError: If an export cannot be made or an fp32 export differs from the torch model.
        LicenseError: If a redistributed component is not permissively licensed.
        NotPortableError: If the model would not load on every supported sentence-transformers.
        TagExistsError: If the tag exists with different content.
        HubAuthError, RepoNotFound, HubError: If the Hub refuses or fails.
        VerificationError: If the published commit does not reload to the same model.

    Example:
        >>> run = RunFolder("runs/leaf-ir-mini")  # doctest: +SKIP
        >>> publish_run(run, repo_id="org/leaf-ir-mini", tag="v0.1.0", dry_run=True)  # doctest: +SKIP
    """
    from leaf_hub.publish import check_release, check_run, publish

    start = time.perf_counter()
    check_run(run, repo_id, asym=asym)
    try:
        recipe, results, report = run.load_card_records(recipe)
    except (RunFolderError, RecipeError) as e:
        raise CardError(str(e)) from e
    checks = check_release(recipe, run, tag=tag, asym=asym, allow_license_override=allow_license_override)
    peers = _peer_scores(compare_with, results)
    seconds: dict[str, float] = {}
    record = None
    if exports and recipe.student.kind == "static":  # a table lookup and a mean: nothing for ONNX to speed up
        logger.info("exports skipped: a static student (StaticEmbedding) has no ONNX/OpenVINO export here")
        exports = False
    if exports:
        from functools import partial

        from leaf_hub.evaluation.exports import measure_exports
        from leaf_hub.export import prepare_exports

        started = time.perf_counter()
        record = prepare_exports(run, measure=partial(measure_exports, data_root=checks.data_root))
        seconds["export"] = time.perf_counter() - started
    started = time.perf_counter()
    content = _render_cards(
        recipe, run, results, report, checks, repo_id=repo_id, asym=asym, exports=record, peers=peers
    )
    seconds["stage"] = time.perf_counter() - started
    published = publish(
        recipe,
        run,
        content=content,
        repo_id=repo_id,
        tag=tag,
        endpoint=endpoint,
        token=token,
        private=private,
        dry_run=dry_run,
        asym=asym,
    )
    for phase, took in published.seconds.items():  # the cards count as staging, as before they were split off
        seconds[phase] = seconds.get(phase, 0.0) + took
    seconds["total"] = time.perf_counter() - start
    published.seconds = seconds
    return published


def _peer_scores(sources: Sequence[str], results: EvalResults) -> list[PeerScore]:
    """The evaluation stage's reading of other models' scores (on the results' tasks and split)."""
    if not sources:
        return []
    from leaf_hub.errors import EvalError
    from leaf_hub.evaluation.peers import peer_scores

    try:
        return [row for source in sources for row in peer_scores(source, results.tasks, split=results.split)]
    except EvalError as e:  # a source that gives the card nothing is bad input to the card (exit 2)
        raise CardError(str(e)) from e


def _render_cards(
    recipe: Recipe,
    run: RunFolder,
    results: EvalResults,
    report: DistillReport | None,
    checks: ReleaseChecks,
    *,
    repo_id: str,
    asym: bool,
    exports: dict[str, Any] | None,
    peers: Sequence[PeerScore] = (),
) -> ReleaseContent:
    """The card stage: render the model card (and the ``-asym`` card) from the release's records."""
    from leaf_hub.model_card import card_inputs, license_text_path, render_asym_card, render_card
    from leaf_hub.publish import ReleaseContent

    inputs = card_inputs(
        recipe,
        results,
        run.model_dir,
        report=report,
        repo_id=repo_id,
        asym_repo_id=f"{repo_id}-asym" if asym else None,
        plot=run.plot_in_repo(results),
        teacher_folder=checks.teacher_folder,
        licenses=checks.licenses,
        peers=peers,
    )
    if exports:
        from leaf_hub.export import card_rows

        inputs = dataclasses.replace(inputs, exports=card_rows(exports))
    return ReleaseContent(
        results=results,
        report=report,
        licenses=checks.licenses,
        readme=render_card(inputs),
        license_text=license_text_path(),
        asym_readme=render_asym_card(inputs) if asym else None,
        teacher_folder=checks.teacher_folder,
        exports=exports,
    )


def _run_stages(
    recipe: Recipe,
    run: RunFolder,
    repo: str,
    tag: str,
    endpoint: str | None,
    token: str | None,
    asym: bool,
    exports: bool = True,
    compare_with: tuple[str, ...] = (),
) -> ReleaseSummary:
    from leaf_hub.distill import distill, has_intact_checkpoint
    from leaf_hub.evaluation.run import evaluate_run
    from leaf_hub.hub import HubClient, resolve_endpoint
    from leaf_hub.publish import verify_tag

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
        return stage_fingerprints(
            recipe, run.root, repo_id=repo, tag=tag, asym=asym, exports=exports, compare_with=compare_with
        )

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
    summary.precision = {stage: used.get("dtype", "?") for stage, used in report.precision.items()}

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
    summary.precision["evaluation"] = results.precision

    # export + card + publish + verify (publish_run: exports, renders the cards, uploads one commit, verifies, tags)
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
        published = publish_run(
            run,
            recipe,
            repo_id=repo,
            tag=tag,
            endpoint=endpoint,
            token=token,
            asym=asym,
            exports=exports,
            compare_with=compare_with,
        )
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
    summary.reload_min_cosine = verify_tag(client, repo, tag, run)  # the tag and its ONNX/OpenVINO exports
    summary.stages["reload"] = {"status": "ran", "seconds": time.perf_counter() - start}
    summary.n_parameters, summary.model_mb = _model_size(run.model_dir)
    return summary


def _model_size(model_dir: Path) -> tuple[int, float]:
    """Parameters and MB of weights, by :func:`leaf_hub.models.weights.count_weights`'s rule."""
    from leaf_hub.models.weights import count_weights

    counts = count_weights(model_dir)
    return counts.parameters, counts.size_bytes / 1e6
