"""``leaf-hub publish``: turn a distilled and evaluated run into a verified, tagged Hub release.

Order of work (nothing reaches the Hub before the local checks pass, and no tag is created
before the upload reloads to the same model):

1. Check the run (recipe, model, ``eval/results.json``), the repo id and the tag (``v{version}``).
2. Portability check of the model folder, licence gate (:mod:`leaf_hub.licenses`), and the CPU
   exports (:mod:`leaf_hub.export`: ONNX fp32, ONNX int8, OpenVINO int8 where it installs), made
   once into ``run/exports`` and checked against the torch model (fp32: cosine >= 0.99; every
   export's STS-B score change and speed measured and recorded in ``release.json`` and the card).
3. Stage one folder per repo: model files, ``README.md`` card, ``LICENSE``, ``eval/results.json``,
   the plot, ``recipe.yaml``, ``metrics.json`` and a deterministic ``release.json`` manifest
   (file sha256s, leaf-hub version, teacher fingerprint, scores, sentence-transformers versions,
   licence report; never the token). ``--dry-run`` stops here and lists the files.
4. If the tag exists: identical manifest -> nothing to do; different -> :class:`TagExistsError`.
5. Create the repo if absent and upload the staged folder in **one** commit.
6. Verify: download that exact commit into a fresh cache, compare every file's sha256 with the
   manifest, load it with ``SentenceTransformer`` in a fresh process and compare probe-text
   embeddings with the local model (cosine >= :data:`leaf_hub.hub.RELOAD_MIN_COSINE`); run each published
   export from the downloaded files and compare it with the local export (the same threshold) and, for fp32, with
   the torch model (cosine >= 0.99).
7. Only then create the tag(s).

With ``asym=True`` the companion ``ORG/NAME-asym`` (a stock ``Router``: queries -> student,
documents -> teacher) goes through the same steps; both tags are created after both verify.
A black-box teacher (``teacher.kind`` ``precomputed`` or ``callable``) has no weights to route
documents to, so ``asym`` is refused unless the recipe names a ``teacher.document_encoder``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import (
    CardError,
    LeafHubError,
    RecipeError,
    ReleaseError,
    RunFolderError,
    TagExistsError,
    VerificationError,
)
from leaf_hub.hashing import sha256_file
from leaf_hub.hub import RELOAD_MIN_COSINE
from leaf_hub.records import FileEntry, ReleaseManifest
from leaf_hub.run_folder import RunFolder, recipe_yaml
from leaf_hub.version import __version__

if TYPE_CHECKING:
    import numpy as np

    from leaf_hub.hub import HubClient
    from leaf_hub.licenses import LicenseReport
    from leaf_hub.recipe import Recipe
    from leaf_hub.records import DistillReport, EvalResults

logger = logging.getLogger(__name__)

__all__ = [
    "PublishResult",
    "RepoRelease",
    "StagedRepo",
    "check_published_exports",
    "check_tag",
    "publish",
    "sha256_file",
    "stage_release",
]

_TAG = re.compile(r"^v(\d+\.\d+\.\d+([.-]?[A-Za-z0-9.]+)?)$")
# Files of the model folder that are not part of the model (the card is re-rendered).
_SKIP_MODEL_FILES = frozenset({"README.md", "PROVENANCE.txt", ".gitattributes"})


@dataclass(frozen=True)
class StagedRepo:
    """One repo's staged release folder.

    Attributes:
        repo_id: Target repo.
        folder: The staging folder (uploaded as is).
        files: Relative path -> (size in bytes, sha256), ``release.json`` included.
        manifest: The ``release.json`` content.
        kind: ``model`` or ``asym``.
    """

    repo_id: str
    folder: Path
    files: dict[str, tuple[int, str]]
    manifest: ReleaseManifest
    kind: str


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
    """What :func:`publish` did.

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


# ---------------------------------------------------------------------------
# CHECKS
# ---------------------------------------------------------------------------


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


def _check_run(run: RunFolder) -> None:
    try:
        run.require_model()
    except RunFolderError as e:
        raise ReleaseError(str(e)) from None
    if not run.has_results():
        raise CardError(f"run {run.root} has no eval/results.json; run `leaf-hub evaluate {run.root}` first")


def _check_portable(model_dir: Path) -> None:
    try:
        from leaf_hub.models.portable import check_portable
    except ImportError:  # pragma: no cover - the portability module ships with leaf-hub
        logger.warning("leaf_hub.models.portable is unavailable; skipping the portability check")
        return
    check_portable(model_dir)


def _teacher_folder(recipe: Recipe) -> Path | None:
    """The local teacher folder, when one is available (never downloads from the Hub)."""
    from leaf_hub.assets import OFFLINE_MODELS, leaf_hub_home

    if recipe.teacher.path:
        return Path(recipe.teacher.path).expanduser()
    known = OFFLINE_MODELS.get(recipe.teacher.id)
    if known is not None:
        folder = leaf_hub_home() / "models" / known[0]
        if (folder / "modules.json").is_file():
            return folder
    return None


def _document_encoder_folder(recipe: Recipe) -> Path | None:
    """The local folder of the model that encodes documents for ``-asym``.

    That is the teacher, or for a black-box teacher the ``teacher.document_encoder`` the recipe names.

    Raises:
        ReleaseError: If the teacher is a black box and the recipe names no document encoder.
    """
    teacher = recipe.teacher
    if not teacher.black_box:
        return _teacher_folder(recipe)
    if teacher.document_encoder is None:
        raise ReleaseError(
            f"--asym needs a document encoder: the teacher {teacher.id} is a black box (kind: {teacher.kind}); "
            "name a sentence-transformers model in teacher.document_encoder, or publish without --asym"
        )

    folder = Path(teacher.document_encoder.resolve()).expanduser()
    return folder if (folder / "modules.json").is_file() else None


def _student_init_folder(recipe: Recipe) -> Path | None:
    from leaf_hub.assets import OFFLINE_MODELS, leaf_hub_home

    if recipe.student.path:
        return Path(recipe.student.path).expanduser()
    known = OFFLINE_MODELS.get(recipe.student.id)
    if known is not None and (leaf_hub_home() / "models" / known[0] / "modules.json").is_file():
        return leaf_hub_home() / "models" / known[0]
    return None


def _data_root(recipe: Recipe) -> Path | None:
    from leaf_hub.assets import data_root
    from leaf_hub.errors import AssetError

    try:
        return data_root(recipe.data.root)
    except AssetError:
        return None


# ---------------------------------------------------------------------------
# STAGING
# ---------------------------------------------------------------------------


def _copy_model(model_dir: Path, target: Path) -> None:
    for path in sorted(model_dir.rglob("*")):
        rel = path.relative_to(model_dir)
        if not path.is_file() or rel.name in _SKIP_MODEL_FILES or any(p.startswith(".") for p in rel.parts):
            continue
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / rel)


def _file_table(folder: Path) -> dict[str, tuple[int, str]]:
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, sha256_file(p))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _write_manifest(folder: Path, manifest: ReleaseManifest) -> tuple[ReleaseManifest, dict[str, tuple[int, str]]]:
    """Write ``release.json`` into a staged repo: the manifest plus every other file's size and sha256."""
    files = _file_table(folder)
    manifest = manifest.model_copy(
        update={"files": {path: FileEntry(size=size, sha256=sha) for path, (size, sha) in files.items()}}
    )
    (folder / "release.json").write_text(manifest.to_json(), encoding="utf-8")
    return manifest, _file_table(folder)


def _base_manifest(
    recipe: Recipe, report: DistillReport | None, results: EvalResults, licenses: LicenseReport
) -> dict[str, Any]:
    from leaf_hub.models.portable import ASYM_MIN_SENTENCE_TRANSFORMERS, SUPPORTED_SENTENCE_TRANSFORMERS

    return {
        "schema_version": 1,
        "leaf_hub_version": __version__,
        "name": recipe.name,
        "version": recipe.version,
        "recipe_fingerprint": recipe.fingerprint(),
        "teacher": {
            "id": recipe.teacher.id,
            "revision": recipe.teacher.revision,
            "fingerprint": report.teacher_fingerprint if report else None,
        },
        "student_init": {"id": recipe.student.id, "revision": recipe.student.revision},
        "scores": [
            s.model_dump(include={"task", "mode", "split", "main_metric", "main_score", "subsampled", "n_docs"})
            for s in results.scores
        ],
        "mteb_version": results.mteb_version,
        "sentence_transformers": {
            "supported": SUPPORTED_SENTENCE_TRANSFORMERS,
            "asym_minimum": ASYM_MIN_SENTENCE_TRANSFORMERS,
        },
        "license": licenses.to_dict(),
    }


def stage_release(
    run_dir: str | Path,
    repo_id: str,
    staging: Path,
    *,
    recipe: Recipe,
    results: EvalResults,
    report: DistillReport | None = None,
    licenses: LicenseReport,
    asym: bool = False,
    teacher_folder: Path | None = None,
    exports: dict[str, Any] | None = None,
) -> list[StagedRepo]:
    """Stage the release folder(s) of a run.

    Args:
        run_dir: The run folder (its model, plot and exports are staged).
        repo_id: Target model repo; the asym companion is ``{repo_id}-asym``.
        staging: An empty folder; one sub-folder per repo is created in it.
        recipe: The recipe of the release (recorded as the repo's ``recipe.yaml``; the card and tag use it).
        results: The evaluation's results (the card's figures; recorded as ``eval/results.json``).
        report: Distillation's report (the card's training figures; recorded as ``metrics.json``).
        licenses: The licence gate's report (recorded in each manifest, used by the card).
        asym: Also stage the ``-asym`` Router release.
        teacher_folder: Local teacher folder (required for ``asym``; used for the card's sizes).
        exports: The record of ``run/exports`` (:func:`leaf_hub.export.prepare_exports`): its files
            are staged beside the weights, its figures go into the card and the manifest.

    Returns:
        The staged repos, model first.

    Raises:
        CardError: If the run's files cannot be rendered into a card.
        ReleaseError: If ``asym`` is asked for without a local teacher folder.
    """
    from leaf_hub.asym import build_asym_folder
    from leaf_hub.model_card import card_inputs, license_text_path, render_asym_card, render_card

    run = RunFolder(run_dir)
    asym_id = f"{repo_id}-asym" if asym else None
    inputs = card_inputs(
        recipe,
        results,
        run.model_dir,
        report=report,
        repo_id=repo_id,
        asym_repo_id=asym_id,
        plot=run.plot_in_repo(results),
        teacher_folder=teacher_folder,
        licenses=licenses,
    )
    manifest = _base_manifest(recipe, report, results, licenses)
    manifest["sentence_transformers"]["saved_with"] = inputs.versions.get("sentence_transformers")

    folder = staging / "model"
    folder.mkdir(parents=True)
    _copy_model(run.model_dir, folder)
    if exports:
        from leaf_hub.export import card_rows, copy_exports

        copy_exports(exports, run.exports_dir, folder)
        manifest["exports"] = {k: v for k, v in exports.items() if k != "model_fingerprint"}
        inputs = dataclasses.replace(inputs, exports=card_rows(exports))
    (folder / "README.md").write_text(render_card(inputs), encoding="utf-8")
    shutil.copy2(license_text_path(), folder / "LICENSE")
    (folder / "eval").mkdir()
    (folder / "eval" / "results.json").write_text(results.to_json(), encoding="utf-8")
    if inputs.plot:
        shutil.copy2(run.root / inputs.plot, folder / inputs.plot)
    (folder / "recipe.yaml").write_text(recipe_yaml(recipe), encoding="utf-8")
    if report is not None:
        (folder / "metrics.json").write_text(report.to_json(), encoding="utf-8")
    model_manifest, files = _write_manifest(
        folder, ReleaseManifest(**manifest, repo_id=repo_id, kind="model", asym_repo_id=asym_id)
    )
    staged = [StagedRepo(repo_id, folder, files, model_manifest, "model")]

    if asym and asym_id:
        if teacher_folder is None:
            raise ReleaseError(f"--asym needs the teacher's weights locally; {inputs.recipe.teacher.id} was not found")
        afolder = build_asym_folder(
            run.model_dir,
            teacher_folder,
            staging / "asym",
            document_prompt=inputs.recipe.teacher.document_prompt,
            teacher_max_seq_length=inputs.recipe.teacher.max_seq_length,
        )
        (afolder / "README.md").write_text(render_asym_card(inputs), encoding="utf-8")
        shutil.copy2(license_text_path(), afolder / "LICENSE")
        (afolder / "recipe.yaml").write_text(recipe_yaml(recipe), encoding="utf-8")
        asym_manifest, afiles = _write_manifest(
            afolder, ReleaseManifest(**manifest, repo_id=asym_id, kind="asym", student_repo_id=repo_id)
        )
        staged.append(StagedRepo(asym_id, afolder, afiles, asym_manifest, "asym"))
    return staged


# ---------------------------------------------------------------------------
# VERIFICATION
# ---------------------------------------------------------------------------


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    import numpy as np

    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1)))


def _reference_vectors(repo: StagedRepo, run: RunFolder, recipe: Recipe, teacher_folder: Path | None) -> dict[str, Any]:
    """Probe-text embeddings of the local models, keyed like the reload calls."""
    from sentence_transformers import SentenceTransformer

    from leaf_hub.hub import PROBE_TEXTS

    texts = list(PROBE_TEXTS)
    student = SentenceTransformer(str(run.model_dir), device="cpu")
    has_query = "query" in (student.prompts or {})
    query_kwargs = {"prompt_name": "query"} if has_query else {}
    if repo.kind == "model":
        return {
            "query": student.encode(texts, convert_to_numpy=True, **query_kwargs),
            "plain": student.encode(texts, convert_to_numpy=True),
        }
    if teacher_folder is None:
        raise VerificationError(f"cannot verify {repo.repo_id}: the teacher folder is not available locally")
    teacher = SentenceTransformer(str(teacher_folder), device="cpu")
    if recipe.teacher.max_seq_length:
        teacher.max_seq_length = recipe.teacher.max_seq_length
    doc_prompt = recipe.teacher.document_prompt
    return {
        "encode_query": student.encode(texts, convert_to_numpy=True, **query_kwargs),
        "encode_document": teacher.encode([doc_prompt + t for t in texts], convert_to_numpy=True),
    }


def _reload_calls(repo: StagedRepo, run: RunFolder) -> dict[str, tuple[str, dict[str, Any]]]:
    if repo.kind == "model":
        config = json.loads((run.model_dir / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        has_query = "query" in (config.get("prompts") or {})
        return {"query": ("encode", {"prompt_name": "query"} if has_query else {}), "plain": ("encode", {})}
    return {"encode_query": ("encode_query", {}), "encode_document": ("encode_document", {})}


def _verify(
    client: HubClient, repo: StagedRepo, commit: str, run: RunFolder, recipe: Recipe, teacher_folder: Path | None
) -> float:
    """Download ``commit`` into a fresh cache, check sha256s, reload in a fresh process, compare vectors."""
    from leaf_hub.hub import reload_in_subprocess

    with tempfile.TemporaryDirectory(prefix="leaf-hub-verify-") as tmp:
        # A fresh HF_HOME: the download fills its hub cache, the fresh process loads from it.
        hf_home = Path(tmp) / "hf_home"
        snapshot = client.download(repo.repo_id, commit, hf_home / "hub")
        remote = _file_table(snapshot)
        missing = sorted(set(repo.files) - set(remote))
        if missing:
            raise VerificationError(
                f"published commit {commit[:12]} of {repo.repo_id} lacks {missing[0]}"
                + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""),
                repo_id=repo.repo_id,
                revision=commit,
            )
        changed = sorted(p for p in repo.files if remote[p][1] != repo.files[p][1])
        if changed:
            raise VerificationError(
                f"published {changed[0]} in {repo.repo_id}@{commit[:12]} differs from the staged file (sha256)",
                repo_id=repo.repo_id,
                revision=commit,
            )
        remote_vectors = reload_in_subprocess(client, repo.repo_id, commit, _reload_calls(repo, run), hf_home=hf_home)
        if repo.kind == "model" and repo.manifest.exports:
            _verify_exports(repo, commit, snapshot, run)
    local = _reference_vectors(repo, run, recipe, teacher_folder)
    worst = min(_min_cosine(local[name], remote_vectors[name]) for name in local)
    if worst < RELOAD_MIN_COSINE:
        raise VerificationError(
            f"published {repo.repo_id}@{commit[:12]} embeds probe texts differently from the local model: "
            f"min cosine {worst:.6f} < {RELOAD_MIN_COSINE}; the commit stays untagged",
            repo_id=repo.repo_id,
            revision=commit,
        )
    logger.info("verified %s@%s: min cosine %.6f", repo.repo_id, commit[:12], worst)
    return worst


def _verify_exports(repo: StagedRepo, commit: str, snapshot: Path, run: RunFolder) -> float:
    """Run each downloaded export: same vectors as the local export, and (fp32) as the torch model.

    Returns:
        The smallest cosine between a downloaded export's and the local export's probe vectors.
    """
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.export import MIN_EXPORT_COSINE, ExportedStudent
    from leaf_hub.hub import PROBE_TEXTS

    texts = list(PROBE_TEXTS)
    torch_vectors: np.ndarray | None = None
    worst = 1.0
    for entry in (repo.manifest.exports or {}).get("exports", []):
        published = ExportedStudent(snapshot, snapshot / entry["path"])
        remote = published.encode(texts, kind="query")
        local = ExportedStudent(run.model_dir, run.exports_dir / entry["path"]).encode(texts, kind="query")
        same = _min_cosine(remote, local)
        if same < RELOAD_MIN_COSINE:
            raise VerificationError(
                f"published {entry['path']} in {repo.repo_id}@{commit[:12]} embeds probe texts differently from "
                f"the local export: min cosine {same:.6f} < {RELOAD_MIN_COSINE}; the commit stays untagged",
                repo_id=repo.repo_id,
                revision=commit,
            )
        if entry["precision"] == "fp32":
            if torch_vectors is None:
                torch_model = SentenceTransformerTeacher(run.model_dir, query_prompt=published.query_prompt)
                torch_vectors = torch_model.encode(texts, "query")
            close = _min_cosine(remote, torch_vectors)
            if close < MIN_EXPORT_COSINE:
                raise VerificationError(
                    f"published {entry['path']} in {repo.repo_id}@{commit[:12]} is not the torch model: "
                    f"min cosine {close:.4f} < {MIN_EXPORT_COSINE}; the commit stays untagged",
                    repo_id=repo.repo_id,
                    revision=commit,
                )
        worst = min(worst, same)
        logger.info("verified %s in %s@%s: min cosine %.6f", entry["path"], repo.repo_id, commit[:12], same)
    return worst


def check_published_exports(client: HubClient, repo_id: str, revision: str, run_dir: str | Path) -> float | None:
    """Download ``revision`` and run its exports against the run's local ones (the release's final check).

    Returns:
        The smallest probe cosine between a published and a local export, or ``None`` when the
        release has no exports.

    Raises:
        VerificationError: If an export embeds the probe texts differently.
    """
    run = RunFolder(run_dir)
    with tempfile.TemporaryDirectory(prefix="leaf-hub-exports-") as tmp:
        snapshot = client.download(repo_id, revision, Path(tmp) / "hub")
        manifest = ReleaseManifest.from_json((snapshot / "release.json").read_text(encoding="utf-8"))
        if not manifest.exports:
            return None
        repo = StagedRepo(repo_id, snapshot, {}, manifest, "model")
        return _verify_exports(repo, revision, snapshot, run)


# ---------------------------------------------------------------------------
# PUBLISH
# ---------------------------------------------------------------------------


def publish(
    run_dir: str | Path,
    *,
    recipe: Recipe | None = None,
    repo_id: str,
    tag: str,
    endpoint: str | None = None,
    token: str | None = None,
    private: bool = False,
    dry_run: bool = False,
    asym: bool = False,
    allow_license_override: bool = False,
    exports: bool = True,
) -> PublishResult:
    """Publish a run as a verified, tagged release (see the module docstring for the steps).

    Args:
        run_dir: ``runs/<name>`` with a model and evaluation results.
        recipe: The recipe of the release (default: the one the run folder recorded). The card,
            the tag check and the published ``recipe.yaml`` use it; after a release it is recorded
            in the run folder.
        repo_id: ``ORG/NAME`` of the model repo.
        tag: Release tag, ``v{recipe.version}``.
        endpoint: Hub URL (``None``: ``$HF_ENDPOINT`` or huggingface.co).
        token: Access token (see :func:`leaf_hub.hub.resolve_token`); not needed for ``dry_run``.
        private: Create new repos as private.
        dry_run: Stage and list the files, send nothing.
        asym: Also publish ``ORG/NAME-asym`` (Router: queries -> student, documents -> teacher).
        allow_license_override: Publish even if the licence gate refuses (recorded in ``release.json``).
        exports: Publish the ONNX / OpenVINO exports beside the weights (made once into ``run/exports``).

    Returns:
        What was (or, with ``dry_run``, would be) released.

    Raises:
        CardError: If the run has no evaluation results or they cannot be rendered.
        RepoIdError: On a bad repo id (:func:`leaf_hub.hub.check_repo_id`).
        ReleaseError: On a bad tag or run folder, or ``asym`` with a black-box teacher and
            no ``teacher.document_encoder``.
        ExportError: If an export cannot be made or an fp32 export differs from the torch model.
        LicenseError: If a redistributed component is not permissively licensed.
        NotPortableError: If the model would not load on every supported sentence-transformers.
        TagExistsError: If the tag exists with different content.
        HubAuthError, RepoNotFound, HubError: If the Hub refuses or fails.
        VerificationError: If the published commit does not reload to the same model.

    Example:
        >>> publish("runs/leaf-ir-mini", repo_id="org/leaf-ir-mini", tag="v0.1.0", dry_run=True)  # doctest: +SKIP
    """
    from leaf_hub.hub import HubClient, check_repo_id, resolve_endpoint
    from leaf_hub.licenses import check_licenses

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    run = RunFolder(run_dir)
    check_repo_id(repo_id)
    if asym:
        check_repo_id(f"{repo_id}-asym")
    _check_run(run)
    try:
        recipe, results, report = run.load_card_records(recipe)
    except (RunFolderError, RecipeError) as e:
        raise CardError(str(e)) from e
    check_tag(tag, recipe)
    _check_portable(run.model_dir)
    teacher_folder = _document_encoder_folder(recipe) if asym else _teacher_folder(recipe)
    licenses = check_licenses(
        recipe,
        student_folder=_student_init_folder(recipe),
        teacher_folder=teacher_folder,
        ship_teacher=asym,
        data_root=_data_root(recipe),
        allow_override=allow_license_override,
    )
    export_record = None
    if exports:
        from leaf_hub.export import prepare_exports

        with _timed(seconds, "export"):
            export_record = prepare_exports(run.model_dir, run.exports_dir, data_root=_data_root(recipe))
    with tempfile.TemporaryDirectory(prefix="leaf-hub-publish-") as tmp:
        with _timed(seconds, "stage"):
            staged = stage_release(
                run.root,
                repo_id,
                Path(tmp),
                recipe=recipe,
                results=results,
                report=report,
                licenses=licenses,
                asym=asym,
                teacher_folder=teacher_folder,
                exports=export_record,
            )
        if dry_run:
            seconds["total"] = time.perf_counter() - start
            repos = [RepoRelease(s.repo_id, tag, None, False, None, s.files) for s in staged]
            return PublishResult(resolve_endpoint(endpoint), True, repos, seconds)
        client = HubClient(endpoint, token)
        releases = _release(client, staged, tag, run, recipe, teacher_folder, private, seconds)
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
        existing = client.tag_target(repo.repo_id, tag)
        if existing is not None:
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
            releases.append(RepoRelease(repo.repo_id, tag, existing, False, None, repo.files))
            continue
        with _timed(seconds, "upload"):
            client.ensure_repo(repo.repo_id, private=private)
            commit = client.upload_folder(repo.repo_id, repo.folder, message)
        pending.append((repo, commit))
    verified: list[tuple[StagedRepo, str, float]] = []
    with _timed(seconds, "verify"):
        for repo, commit in pending:
            verified.append((repo, commit, _verify(client, repo, commit, run, recipe, teacher_folder)))
    with _timed(seconds, "tag"):
        for repo, commit, cosine in verified:
            try:
                client.create_tag(repo.repo_id, tag, commit, message)
            except LeafHubError:
                logger.error("tagging %s failed; its verified commit %s stays untagged", repo.repo_id, commit[:12])
                raise
            releases.append(RepoRelease(repo.repo_id, tag, commit, True, cosine, repo.files))
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
