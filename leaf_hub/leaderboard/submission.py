"""The results tree of a submission: which results of a published run may go to the leaderboard, laid out.

The MTEB leaderboard reads ``embeddings-benchmark/results``, whose layout is mteb's own
:class:`mteb.ResultCache` layout::

    results/<org>__<name>/<revision>/<Task>.json     # one TaskResult per task
    results/<org>__<name>/<revision>/model_meta.json # ModelMeta.to_dict()
    results/<org>__<name>/<revision>/run_settings.jsonl  # one entry per task/split/subset (mteb > 2.0.0)

:func:`build_submission` makes it from a release run: the student's per-task results that mteb wrote
under ``eval/mteb/student/``, with ``<revision>`` the commit that ``publish`` recorded in
``release.json``, and the registry entry (:mod:`leaf_hub.leaderboard.meta`) as Python source. It
refuses to build a submission it cannot stand behind:

* the local weights (the ones evaluated) differ from the sha256 that ``release.json`` lists for the
  published revision, or the results record a model fingerprint that is not this model's;
* a result was computed with an mteb version other than the one the release declares, or with mteb
  2.0.0 or older (the results repository takes neither);
* a result was computed on a dataset revision other than the one mteb pins for the task;
* a result lacks a split or subset that mteb scores the task on;
* a score differs by more than 1e-4 from what stock mteb computes on the saved folder: the
  orchestrator hands in a :class:`StockScorer` (:func:`leaf_hub.evaluation.stock.stock_scores`, mteb's
  own ``SentenceTransformerEncoderWrapper`` with the ``ModelMeta``'s prompts, full splits), and the
  comparison (:mod:`leaf_hub.records.agreement`) runs before anything is written.

Each refusal is one line naming the task (or file).

Sub-sampled results (``subsampled: true`` in ``eval/results.json``; the CPU recipes sub-sample
retrieval corpora) are not comparable with the leaderboard: they are left out and named; if nothing
is left, that is an error too.

:func:`write_submission` lays the chosen results out and keeps each task's ``run_settings.jsonl``
entries (the record evaluation wrote: :mod:`leaf_hub.records.run_settings`);
:func:`validate_submission` loads everything back with mteb's classes (``TaskResult.from_disk``,
``ModelMeta`` validation, ``ResultCache.load_results``) and checks the run settings cover every
(task, split, subset) with an mteb version above 2.0.0, before the tree is moved into place.

Example:
    >>> from leaf_hub.leaderboard import build_submission
    >>> from leaf_hub.run_folder import RunFolder
    >>> run = RunFolder("runs/leaf-ir")  # doctest: +SKIP
    >>> sub = build_submission(run.load_recipe(), run)  # doctest: +SKIP
    >>> sub.results_dir  # doctest: +SKIP
    PosixPath('runs/leaf-ir/leaderboard/results/leaf-hub__leaf-ir/3f2a.../')
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from leaf_hub.errors import LeaderboardError, RunFolderError
from leaf_hub.hashing import sha256_file
from leaf_hub.leaderboard.meta import (
    MTEB_REPO,
    build_model_meta,
    model_meta_source,
    release_date_of,
    training_code_url,
)
from leaf_hub.records.agreement import ScoreAgreement, compare_scores, require_agreement
from leaf_hub.records.run_settings import (
    MIN_MTEB_EXCLUSIVE,
    RUN_SETTINGS_FILE,
    check_run_settings,
    run_settings_entries,
)

if TYPE_CHECKING:
    from mteb.models.model_meta import ModelMeta

    from leaf_hub.recipe import Recipe
    from leaf_hub.records import EvalResults, ReleaseManifest
    from leaf_hub.run_folder import RunFolder

logger = logging.getLogger(__name__)

__all__ = [
    "RESULTS_REPO",
    "SUBMISSION_FILE",
    "StockScorer",
    "Submission",
    "build_submission",
    "validate_submission",
    "write_submission",
]

#: Marker file that identifies a folder written by :func:`build_submission` (safe to replace).
SUBMISSION_FILE = "submission.json"
RESULTS_REPO = "https://github.com/embeddings-benchmark/results"
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_WEIGHT_SUFFIXES = (".safetensors", ".bin")


class StockScorer(Protocol):
    """What scores a saved folder with stock mteb: :func:`leaf_hub.evaluation.stock.stock_scores`.

    The orchestrator (``leaf-hub leaderboard``) hands it to :func:`build_submission`, which imports no
    other stage. It is called with the evaluated folder, the tasks to submit, the prompts of the
    ``ModelMeta``'s loader and the data the evaluation read, and returns task -> main score.
    """

    def __call__(
        self,
        model_dir: Path,
        tasks: Sequence[str],
        *,
        prompts: Mapping[str, str] | None,
        data_root: str | None,
        local: Mapping[str, str] | None,
        split: str,
    ) -> Mapping[str, float]:
        """Score ``model_dir`` on ``tasks`` with stock ``mteb.evaluate``."""
        ...


@dataclass
class Submission:
    """What :func:`build_submission` wrote.

    Attributes:
        output: The submission folder.
        results_dir: ``output/results/<org>__<name>/<revision>``: copy it into the results repository.
        model_meta_py: The ``ModelMeta(...)`` entry as Python source, for mteb's model registry.
        model_name: ``org/name`` on the Hub.
        revision: The published commit id.
        tasks: Task name -> main score of the results included.
        skipped: Task name -> why it was left out (sub-sampled, not in ``results.json``).
        agreement: Per submitted task, leaf-hub's main score against stock mteb's on the saved folder
            (``[]`` when the caller passed no ``stock_scorer``).
        instructions: What to open the pull requests with (also in ``SUBMISSION.md``).
    """

    output: Path
    results_dir: Path
    model_meta_py: Path
    model_name: str
    revision: str
    tasks: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    agreement: list[ScoreAgreement] = field(default_factory=list)
    instructions: str = ""


# ---------------------------------------------------------------------------
# reading the run folder
# ---------------------------------------------------------------------------


def _check_weights(model_dir: Path, release: ReleaseManifest, source: Path) -> None:
    """Refuse unless every local weight file equals the published revision's manifest entry."""
    manifest = release.hashes()
    if not manifest:
        raise LeaderboardError(f"{source}: no 'files' with sha256 values; publish writes them")
    commit = release.commit
    if "model.safetensors" not in manifest:
        raise LeaderboardError(f"{source} lists no sha256 for model.safetensors of revision {commit}")
    local = sorted(p for p in model_dir.rglob("*") if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))
    if not any(p.relative_to(model_dir).as_posix() == "model.safetensors" for p in local):
        raise LeaderboardError(f"{model_dir}/model.safetensors not found: the evaluated weights are missing")
    for path in local:
        rel = path.relative_to(model_dir).as_posix()
        published = manifest.get(rel)
        if published is None:
            raise LeaderboardError(f"{model_dir}/{rel} is not in revision {commit} of {release.repo_id}")
        actual = sha256_file(path)
        if actual != published:
            raise LeaderboardError(
                f"the evaluated weights differ from revision {commit} of {release.repo_id}: {rel} sha256 "
                f"{actual[:12]}... != published {published[:12]}...; re-evaluate or re-publish"
            )


def _model_dir(run: RunFolder, results: EvalResults) -> Path:
    recorded = results.model_path
    for candidate in ([Path(recorded), run.root / recorded] if recorded else []) + [run.model_dir]:
        if (candidate / "modules.json").is_file():
            return candidate
    raise LeaderboardError(f"{run.model_dir} is not a sentence-transformers folder (no modules.json)")


def _find_task_results(mteb_dir: Path) -> dict[str, Path]:
    """Task name -> the one TaskResult JSON under ``mteb_dir`` (mteb's ResultCache layout or flat)."""
    if not mteb_dir.is_dir():
        raise LeaderboardError(f"{mteb_dir} not found: run `leaf-hub evaluate` first (the student's mteb results)")
    found: dict[str, Path] = {}
    for path in sorted(mteb_dir.rglob("*.json")):
        if path.name == "model_meta.json":
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not (isinstance(data, dict) and "task_name" in data and "scores" in data):
            continue
        name = str(data["task_name"])
        if name in found:
            raise LeaderboardError(f"two results for {name} under {mteb_dir}: {found[name]} and {path}")
        found[name] = path
    if not found:
        raise LeaderboardError(f"no mteb task results under {mteb_dir}")
    return found


def _subsample_flags(results: EvalResults, mode: str) -> dict[str, tuple[bool, str]]:
    """Task -> (sub-sampled?, description) for ``mode`` from the evaluation's results."""
    flags: dict[str, tuple[bool, str]] = {}
    for score in results.scores:
        if score.mode != mode:
            continue
        task = score.task
        sub = score.subsampled
        desc = f"{score.n_queries} queries, {score.n_docs} documents"
        previous = flags.get(task, (False, ""))
        flags[task] = (previous[0] or sub, desc)
    return flags


# ---------------------------------------------------------------------------
# validation with mteb's own loaders
# ---------------------------------------------------------------------------


def _comparable(meta: ModelMeta) -> dict[str, Any]:
    data = meta.to_dict()
    data["training_datasets"] = sorted(data["training_datasets"] or [])
    return data


def validate_submission(output: str | Path, meta: ModelMeta, tasks: list[str]) -> None:
    """Load a submission back with mteb's classes and check it is what was meant.

    Checks that every ``<Task>.json`` parses with ``TaskResult.from_disk`` and passes
    ``validate_and_filter_scores`` for its task, that ``run_settings.jsonl`` covers every
    (task, split, subset) with mteb above 2.0.0 (:func:`check_run_settings`), that ``model_meta.json`` validates as a
    ``ModelMeta`` equal to ``meta``, that ``ResultCache.load_results`` finds exactly this model,
    revision and task set, and that the generated Python entry builds the same ``ModelMeta``.

    Raises:
        LeaderboardError: On the first mismatch, naming the file.
    """
    from mteb.cache import ResultCache
    from mteb.models.model_meta import ModelMeta
    from mteb.results import TaskResult

    out = Path(output)
    revision_dir = out / "results" / meta.model_name_as_path() / str(meta.revision)
    for task in tasks:
        path = revision_dir / f"{task}.json"
        try:
            result = TaskResult.from_disk(path).validate_and_filter_scores()
        except Exception as e:  # noqa: BLE001 - any mteb failure here means an invalid file
            raise LeaderboardError(f"{path} does not load with mteb's TaskResult: {str(e).splitlines()[0]}") from e
        if result.task_name != task or any(
            not isinstance(s.get("main_score"), (int, float)) or math.isnan(s["main_score"])
            for split in result.scores.values()
            for s in split
        ):
            raise LeaderboardError(f"{path}: scores are missing for a split or subset mteb expects")

    check_run_settings(revision_dir, list(tasks))

    meta_path = revision_dir / "model_meta.json"
    loaded = ModelMeta.model_validate_json_resolved(meta_path.read_text(encoding="utf-8"))
    if _comparable(loaded) != _comparable(meta):
        raise LeaderboardError(f"{meta_path} does not round-trip through mteb's ModelMeta")

    cache = ResultCache(out)
    bench = cache.load_results(
        models=[meta], tasks=list(tasks), require_model_meta=True, include_remote=False, validate_and_filter=True
    )
    models = [(m.model_name, m.model_revision) for m in bench.model_results]
    if models != [(meta.name, meta.revision)]:
        raise LeaderboardError(
            f"mteb's ResultCache finds {models} under {out}, expected [({meta.name}, {meta.revision})]"
        )
    found = sorted(r.task_name for r in bench.model_results[0].task_results)
    if found != sorted(tasks):
        raise LeaderboardError(f"mteb's ResultCache loads tasks {found}, expected {sorted(tasks)}")

    namespace: dict[str, Any] = {}
    source = out / "model_meta.py"
    exec(compile(source.read_text(encoding="utf-8"), str(source), "exec"), namespace)  # noqa: S102 - our own file
    entries = [v for v in namespace.values() if isinstance(v, ModelMeta)]
    if len(entries) != 1 or _comparable(entries[0]) != _comparable(meta):
        raise LeaderboardError(f"{source} does not define the same ModelMeta as model_meta.json")


# ---------------------------------------------------------------------------
# the submission
# ---------------------------------------------------------------------------


def _instructions(sub: Submission, output: Path) -> str:
    folder = sub.results_dir.parent.name
    lines = [
        f"# MTEB leaderboard submission: {sub.model_name} @ {sub.revision}",
        "",
        f"Results ({len(sub.tasks)}): " + ", ".join(f"{t} {100 * s:.2f}" for t, s in sorted(sub.tasks.items())),
    ]
    if sub.skipped:
        lines.append("Left out: " + "; ".join(f"{t} ({why})" for t, why in sorted(sub.skipped.items())))
    lines += [
        "",
        f"1. Results: open a pull request to {RESULTS_REPO} that adds `results/{folder}/{sub.revision}/`:",
        "",
        "   ```bash",
        f"   git clone {RESULTS_REPO} mteb-results && cd mteb-results",
        f"   git switch -c add-{folder}",
        f"   mkdir -p results/{folder} && cp -r {output.resolve()}/results/{folder}/{sub.revision} results/{folder}/",
        f'   git add results/{folder} && git commit -m "Add {sub.model_name} results"',
        f'   gh pr create --title "Add {sub.model_name}" --body "Evaluated with mteb on revision {sub.revision}"',
        "   ```",
        "",
        f"   or apply {output.resolve()}/pull_request.patch (`leaf-hub leaderboard --pull-request` writes it)"
        " with `git am`.",
        "",
        f"2. Model: open a pull request to {MTEB_REPO} that adds the `ModelMeta` entry in `{sub.model_meta_py.name}`",
        "   to `mteb/models/model_implementations/` (e.g. a new `leaf_hub_models.py`).",
        "",
    ]
    return "\n".join(lines)


def _published_records(run: RunFolder) -> tuple[ReleaseManifest, EvalResults]:
    """The run's manifest and results; refused unless the manifest names a published commit."""
    try:
        release = run.load_manifest()
        results = run.load_results()
    except RunFolderError as e:
        raise LeaderboardError(str(e)) from e
    if not release.commit:
        raise LeaderboardError(f"{run.manifest_file}: missing 'commit' (the run was staged, never published)")
    if not _HEX40.match(release.commit):
        raise LeaderboardError(f"{run.manifest_file}: commit '{release.commit}' is not a 40-hex commit id")
    return release, results


def _evaluated_model(run: RunFolder, release: ReleaseManifest, results: EvalResults) -> Path:
    """The model folder that was evaluated, refused unless it is the published revision's weights."""
    from leaf_hub.assets import model_fingerprint

    model_dir = _model_dir(run, results)
    _check_weights(model_dir, release, run.manifest_file)
    recorded = results.model_fingerprint
    if recorded and recorded != model_fingerprint(model_dir):
        raise LeaderboardError(
            f"{run.results_file} was computed on another model (fingerprint {str(recorded)[:12]}...)"
        )
    return model_dir


def _check_result(path: Path, task: str, result: Any, declared: str) -> None:
    """Refuse a task result that the leaderboard would not take, in one line naming the task.

    Refused: a result computed with mteb 2.0.0 or older, or with another mteb than the declared one,
    on another dataset revision than mteb pins, or missing a split or subset that mteb scores the task on.
    """
    import mteb
    from packaging.version import InvalidVersion, Version

    try:
        too_old = Version(str(result.mteb_version)) <= Version(MIN_MTEB_EXCLUSIVE)
    except InvalidVersion:
        too_old = True
    if too_old:
        raise LeaderboardError(
            f"{path.name}: {task} was computed with mteb {result.mteb_version}; the leaderboard takes results "
            f"from mteb above {MIN_MTEB_EXCLUSIVE} only: re-evaluate with `leaf-hub evaluate`"
        )
    versions = {result.mteb_version} | {
        s.get("mteb_version") for split in result.scores.values() for s in split if s.get("mteb_version")
    }
    if versions != {declared}:
        raise LeaderboardError(
            f"{path.name} was computed with mteb {', '.join(sorted(map(str, versions)))}, "
            f"but the release declares mteb {declared}"
        )
    try:
        official = mteb.get_task(task).metadata.revision
    except (KeyError, ValueError) as e:
        raise LeaderboardError(f"{path.name}: mteb {declared} has no task named {task}") from e
    if result.dataset_revision != official:
        raise LeaderboardError(
            f"{path.name}: dataset revision {result.dataset_revision} is not mteb's {official} for {task}"
        )
    filtered = result.validate_and_filter_scores()
    missing = [
        f"{split}/{s.get('hf_subset', 'default')}"
        for split, scores in filtered.scores.items()
        for s in scores
        if not isinstance(s.get("main_score"), (int, float)) or math.isnan(s["main_score"])
    ]
    if missing:
        raise LeaderboardError(
            f"{path.name}: {task} has no score for {', '.join(sorted(missing))}, which mteb scores {task} on; "
            "re-evaluate on every split and subset"
        )


def _left_out(task: str, flags: dict[str, tuple[bool, str]], results_name: str) -> str | None:
    """Why a (checked: :func:`_check_result`) task result may not be submitted, or ``None`` when it may."""
    if task not in flags:
        return f"not in {results_name}, so not known to be full-corpus"
    subsampled, desc = flags[task]
    if subsampled:
        return f"sub-sampled: {desc}"
    return None


def _choose_results(
    run: RunFolder, results: EvalResults, mode: str, declared: str
) -> tuple[dict[str, Path], dict[str, str]]:
    """Task -> result file of what may be submitted, and task -> why the others were left out.

    Raises:
        LeaderboardError: If a result fails :func:`_check_result`, or nothing is left to submit.
    """
    from mteb.results import TaskResult

    flags = _subsample_flags(results, mode)
    included: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    for task, path in _find_task_results(run.mteb_dir(mode)).items():
        result = TaskResult.from_disk(path)
        _check_result(path, task, result, declared)
        why = _left_out(task, flags, run.results_file.name)
        if why is None:
            included[task] = path
        else:
            skipped[task] = why
    for task, why in sorted(skipped.items()):
        logger.warning("leaderboard: leaving out %s (%s)", task, why)
    if not included:
        reasons = "; ".join(f"{t}: {w}" for t, w in sorted(skipped.items()))
        raise LeaderboardError(
            f"every result of {run} is sub-sampled ({reasons}); "
            "a leaderboard submission needs full-corpus results: evaluate with evaluation.corpus_limit: null"
        )
    return included, skipped


def _not_submitted(results: EvalResults, mode: str) -> dict[str, dict[str, float]]:
    """Mode -> task -> main score of the evaluations that are not the submitted model's own."""
    others: dict[str, dict[str, float]] = {}
    for score in results.scores:
        if score.mode != mode:
            others.setdefault(score.mode, {})[score.task] = score.main_score
    return others


def build_submission(
    recipe: Recipe,
    run: RunFolder,
    output: str | Path | None = None,
    *,
    stock_scorer: StockScorer | None,
    mode: str = "student",
    training_datasets: set[str] | None = None,
    validate: bool = True,
) -> Submission:
    """Build the MTEB results tree and registry entry of a published run.

    Before anything is written, every result to submit is checked against stock mteb: ``stock_scorer``
    runs ``mteb.evaluate`` with mteb's own ``SentenceTransformerEncoderWrapper`` on the evaluated folder
    (with the ``ModelMeta``'s prompts, on the data the evaluation read, full splits), and each main
    score must agree with leaf-hub's to :data:`~leaf_hub.records.agreement.MTEB_TOLERANCE`; the rows
    are recorded in ``submission.json`` (``mteb_agreement``).

    Args:
        recipe: The run's recipe (languages, licence, student and teacher ids, the teacher's training data).
        run: The run folder, with ``model/``, ``eval/results.json``, ``eval/mteb/<mode>/`` and ``release.json``.
        output: Submission folder (default ``run.leaderboard_dir``); replaced if it holds an earlier submission.
        stock_scorer: Scores the folder with stock mteb (:func:`leaf_hub.evaluation.stock.stock_scores`);
            ``None`` skips the check (logged, and recorded as ``"mteb_agreement": null``): for callers
            that checked already, never for a submission of record.
        mode: Which evaluation to submit; only the published model itself (``student``) belongs on the leaderboard.
        training_datasets: mteb dataset names the distillation text came from, added to those the
            student initialisation and the teacher were trained on (mteb's registry, and the recipe's
            ``teacher.training_datasets``).
        validate: Load the result back with mteb's classes (:func:`validate_submission`).

    Returns:
        The :class:`Submission`.

    Raises:
        LeaderboardError: If the weights differ from the published revision, an mteb version differs
            from the declared one or is 2.0.0 or older, a dataset revision differs from mteb's, a split
            or subset mteb scores is missing, every result is sub-sampled, or a file is missing.
        ScoreMismatchError: If a submitted score differs from stock mteb's beyond the tolerance
            (nothing is written).
    """
    release, results = _published_records(run)
    model_dir = _evaluated_model(run, release, results)
    declared = release.mteb_version or results.mteb_version
    if not declared:
        raise LeaderboardError(f"{run.manifest_file}: no 'mteb_version' declared for the results")
    included, skipped = _choose_results(run, results, mode, declared)

    if not recipe.teacher.training_datasets:
        logger.warning(
            "recipe teacher.training_datasets is empty: the ModelMeta lists only what mteb's registry knows of %s",
            recipe.teacher.id,
        )
    meta = build_model_meta(
        model_dir,
        repo_id=release.repo_id,
        revision=str(release.commit),
        release_date=release_date_of(release, run.manifest_file),
        languages=list(recipe.card.language),
        license=recipe.card.license,
        adapted_from=recipe.student.id,
        related_models=[recipe.student.id, recipe.teacher.id],
        training_datasets=set(training_datasets or ()) | set(recipe.teacher.training_datasets or ()),
        public_training_code=training_code_url(),
    )
    agreement = _agree_with_stock_mteb(stock_scorer, model_dir, included, meta, recipe, results)
    # the other modes (init, teacher, asymmetric) are not this model's scores: recorded, never submitted
    return write_submission(
        Path(output) if output is not None else run.leaderboard_dir,
        meta,
        included,
        skipped=skipped,
        tag=release.tag,
        mteb_version=declared,
        validate=validate,
        not_submitted=_not_submitted(results, mode),
        agreement=agreement,
    )


def _agree_with_stock_mteb(
    scorer: StockScorer | None,
    model_dir: Path,
    included: dict[str, Path],
    meta: ModelMeta,
    recipe: Recipe,
    results: EvalResults,
) -> list[ScoreAgreement] | None:
    """Stock mteb's scores of the folder against the results to submit; refused on a disagreement.

    Returns:
        One row per submitted task, or ``None`` when no scorer was given (not checked).

    Raises:
        ScoreMismatchError: On the first task whose scores differ beyond the tolerance.
    """
    from mteb.results import TaskResult

    if scorer is None:
        logger.warning("leaderboard: the scores were not checked against stock mteb (no stock scorer given)")
        return None
    ours = {task: float(TaskResult.from_disk(path).get_score()) for task, path in sorted(included.items())}
    prompts = meta.loader_kwargs.get("model_prompts") or None
    theirs = scorer(
        model_dir,
        list(ours),
        prompts=prompts,
        data_root=results.data_root,
        local=dict(recipe.evaluation.local) or None,
        split=results.split,
    )
    rows = compare_scores(ours, theirs)
    for row in rows:
        logger.info(
            "leaderboard: %s leaf-hub %.6f, stock mteb %.6f (diff %+.1e)", row.task, row.leaf_hub, row.mteb, row.diff
        )
    require_agreement(rows)
    return rows


def _task_run_settings(task: str, path: Path) -> list[dict[str, Any]]:
    """The ``run_settings.jsonl`` entries of ``task`` beside its result file ``path``.

    For an evaluation from before run settings were written, only the mteb version is known: the
    entries say that much (:func:`~leaf_hub.records.run_settings.run_settings_entries`).
    """
    from mteb.results import TaskResult

    settings_path = path.parent / RUN_SETTINGS_FILE
    lines = settings_path.read_text(encoding="utf-8").splitlines() if settings_path.is_file() else []
    own = [json.loads(line) for line in lines if line.strip() and json.loads(line).get("task") == task]
    if own:
        return own
    result = TaskResult.from_disk(path)
    logger.warning("%s: no run settings beside it; recording mteb %s only", path, result.mteb_version)
    return run_settings_entries(result, None, {"mteb": result.mteb_version})


def write_submission(
    output: str | Path,
    meta: ModelMeta,
    task_files: dict[str, Path],
    *,
    skipped: dict[str, str] | None = None,
    tag: str | None = None,
    mteb_version: str | None = None,
    validate: bool = True,
    not_submitted: dict[str, dict[str, float]] | None = None,
    agreement: list[ScoreAgreement] | None = None,
) -> Submission:
    """Write the results tree, the registry entry and the instructions; no honesty checks here.

    :func:`build_submission` decides which results may be submitted; this only lays them out. The
    folder is built beside ``output`` and moved into place once it validates, so a failure leaves
    any earlier submission untouched.

    Args:
        output: Submission folder; replaced if it holds an earlier submission (``submission.json``).
        meta: The model's ``ModelMeta`` (``name`` and ``revision`` name the results folder).
        task_files: Task name -> mteb ``TaskResult`` JSON to include (copied byte for byte).
        skipped: Task name -> why it was left out, for the record.
        tag: The release tag, for the record.
        mteb_version: The mteb version of the results, for the record.
        validate: Load the result back with mteb's classes (:func:`validate_submission`).
        not_submitted: Mode -> task -> main score of the evaluations that are not this model's own
            (``init``: the student initialisation; ``teacher``; ``asymmetric``): recorded in
            ``submission.json`` under ``not_submitted``, never put in the results tree.
        agreement: The submitted scores against stock mteb's (:func:`build_submission` checks them),
            recorded in ``submission.json`` under ``mteb_agreement`` (``null``: not checked).

    Returns:
        The :class:`Submission`.

    Raises:
        LeaderboardError: If ``output`` is some other folder, or validation fails.
    """
    from mteb.results import TaskResult

    out = Path(output)
    revision = str(meta.revision)
    if out.exists() and not (out / SUBMISSION_FILE).is_file() and any(out.iterdir()):
        raise LeaderboardError(f"{out} exists and is not a leaf-hub submission folder; choose another --output")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        revision_dir = staging / "results" / meta.model_name_as_path() / revision
        revision_dir.mkdir(parents=True)
        settings: list[dict[str, Any]] = []
        for task, path in task_files.items():
            shutil.copyfile(path, revision_dir / f"{task}.json")
            settings += _task_run_settings(task, path)
        from mteb.results.task_result import _write_and_merge_keyed_json

        _write_and_merge_keyed_json(revision_dir / RUN_SETTINGS_FILE, settings)
        with (revision_dir / "model_meta.json").open("w", encoding="utf-8") as fh:
            json.dump(meta.to_dict(), fh, default=str, indent=4)
        (staging / "model_meta.py").write_text(model_meta_source(meta), encoding="utf-8")
        sub = Submission(
            output=out,
            results_dir=out / "results" / meta.model_name_as_path() / revision,
            model_meta_py=out / "model_meta.py",
            model_name=str(meta.name),
            revision=revision,
            tasks={t: float(TaskResult.from_disk(p).get_score()) for t, p in sorted(task_files.items())},
            skipped=dict(sorted((skipped or {}).items())),
            agreement=list(agreement or []),
        )
        sub.instructions = _instructions(sub, out)
        (staging / "SUBMISSION.md").write_text(sub.instructions, encoding="utf-8")
        record = {
            "model": sub.model_name,
            "revision": revision,
            "tag": tag,
            "mteb_version": mteb_version,
            "tasks": sub.tasks,
            "skipped": sub.skipped,
            "not_submitted": not_submitted or {},
            "mteb_agreement": None if agreement is None else [row.model_dump() for row in agreement],
        }
        (staging / SUBMISSION_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if validate:
            validate_submission(staging, meta, list(task_files))
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    logger.info("leaderboard submission for %s @ %s written to %s", sub.model_name, revision, out)
    return sub
