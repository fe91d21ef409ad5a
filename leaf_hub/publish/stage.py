"""Staging: one folder per repo, exactly what is uploaded, with its deterministic ``release.json``.

:func:`stage_release` copies the model files, the cards the orchestrator rendered (``README.md``),
``LICENSE``, ``eval/results.json``, the plot, ``recipe.yaml``, ``metrics.json`` and the checked CPU
exports into a folder, writes the Hub's ``.eval_results/<Task>.yaml`` files from the same results
(:mod:`leaf_hub.publish.eval_results`: the model's full-split scores only), then writes the
``release.json`` manifest: every other file's size and sha256, the leaf-hub version, teacher
fingerprint, scores, sentence-transformers versions and the licence report (never the token). With
``asym`` the ``-asym`` Router repo (:func:`leaf_hub.publish.asym.build_asym_folder`) is staged
beside it, with the asymmetric scores as its ``.eval_results``.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import ExportError, ReleaseError
from leaf_hub.hashing import sha256_file
from leaf_hub.models.folder import saved_versions
from leaf_hub.models.portable import ASYM_MIN_SENTENCE_TRANSFORMERS, SUPPORTED_SENTENCE_TRANSFORMERS
from leaf_hub.publish.eval_results import OWN_MODES, write_eval_results
from leaf_hub.records import FileEntry, ReleaseManifest
from leaf_hub.run_folder import recipe_yaml
from leaf_hub.version import __version__

if TYPE_CHECKING:
    from leaf_hub.licenses import LicenseReport
    from leaf_hub.recipe import Recipe
    from leaf_hub.records import DistillReport, EvalResults
    from leaf_hub.run_folder import RunFolder

__all__ = ["ReleaseContent", "StagedRepo", "copy_exports", "file_table", "stage_release"]

# Files of the model folder that are not part of the model (the card is rendered by the orchestrator).
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


@dataclass(frozen=True)
class ReleaseContent:
    """What a release ships besides the model folder, handed to :func:`leaf_hub.publish.publish`.

    Attributes:
        results: The evaluation's results (recorded as ``eval/results.json``; the manifest's scores).
        report: Distillation's report (recorded as ``metrics.json``), ``None`` for a run distilled elsewhere.
        licenses: The licence gate's report (recorded in each manifest).
        readme: The model repo's rendered card (``README.md``).
        asym_readme: The ``-asym`` repo's rendered card, when it is published.
        teacher_folder: The local teacher folder (the ``-asym`` repo's document route; its verification).
        license_text: The licence text shipped as ``LICENSE``.
        exports: The export stage's record (:func:`leaf_hub.export.prepare_exports`): its files are
            staged beside the weights from the run's ``exports/`` and it is recorded in the manifest.
    """

    results: EvalResults
    report: DistillReport | None
    licenses: LicenseReport
    readme: str
    license_text: Path
    asym_readme: str | None = None
    teacher_folder: Path | None = None
    exports: Mapping[str, Any] | None = None


def _copy_model(model_dir: Path, target: Path) -> None:
    for path in sorted(model_dir.rglob("*")):
        rel = path.relative_to(model_dir)
        if not path.is_file() or rel.name in _SKIP_MODEL_FILES or any(p.startswith(".") for p in rel.parts):
            continue
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / rel)


def file_table(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``folder``: relative path -> (size in bytes, sha256)."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, sha256_file(p))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _write_manifest(folder: Path, manifest: ReleaseManifest) -> tuple[ReleaseManifest, dict[str, tuple[int, str]]]:
    """Write ``release.json`` into a staged repo: the manifest plus every other file's size and sha256."""
    files = file_table(folder)
    manifest = manifest.model_copy(
        update={"files": {path: FileEntry(size=size, sha256=sha) for path, (size, sha) in files.items()}}
    )
    (folder / "release.json").write_text(manifest.to_json(), encoding="utf-8")
    return manifest, file_table(folder)


def _base_manifest(
    recipe: Recipe, report: DistillReport | None, results: EvalResults, licenses: LicenseReport
) -> dict[str, Any]:
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


def copy_exports(record: Mapping[str, Any], source: str | Path, target: str | Path) -> list[str]:
    """Copy every file of a record's exports from ``source`` into ``target`` (a staged repo folder).

    Returns:
        The repo-relative paths copied.

    Raises:
        ExportError: If a file is missing or no longer has its recorded sha256.
    """
    source, target = Path(source), Path(target)
    copied = []
    for entry in record["exports"]:
        for rel, facts in entry["files"].items():
            src = source / rel
            if not src.is_file() or sha256_file(src) != facts["sha256"]:
                raise ExportError(f"export file {src} is missing or changed since it was checked; delete {source}")
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target / rel)
            copied.append(rel)
    return copied


def stage_release(
    recipe: Recipe, run: RunFolder, content: ReleaseContent, repo_id: str, staging: Path, *, asym: bool = False
) -> list[StagedRepo]:
    """Stage the release folder(s) of a run.

    Args:
        recipe: The recipe of the release (recorded as the repo's ``recipe.yaml``).
        run: The run folder (its model, plot and exports are staged).
        content: The records, rendered cards and exports record of the release.
        repo_id: Target model repo; the asym companion is ``{repo_id}-asym``.
        staging: An empty folder; one sub-folder per repo is created in it.
        asym: Also stage the ``-asym`` Router release.

    Returns:
        The staged repos, model first.

    Raises:
        ExportError: If an export file is missing or changed since it was checked.
        ReleaseError: If ``asym`` is asked for without a local teacher folder (or its card).
    """
    from leaf_hub.publish.asym import build_asym_folder

    results, report = content.results, content.report
    asym_id = f"{repo_id}-asym" if asym else None
    plot = run.plot_in_repo(results)
    manifest = _base_manifest(recipe, report, results, content.licenses)
    manifest["sentence_transformers"]["saved_with"] = saved_versions(run.model_dir).get("sentence_transformers")

    folder = staging / "model"
    folder.mkdir(parents=True)
    _copy_model(run.model_dir, folder)
    if content.exports:
        copy_exports(content.exports, run.exports_dir, folder)
        manifest["exports"] = {k: v for k, v in content.exports.items() if k != "model_fingerprint"}
    (folder / "README.md").write_text(content.readme, encoding="utf-8")
    shutil.copy2(content.license_text, folder / "LICENSE")
    (folder / "eval").mkdir()
    (folder / "eval" / "results.json").write_text(results.to_json(), encoding="utf-8")
    write_eval_results(results, folder, mode=OWN_MODES["model"])
    if plot:
        shutil.copy2(run.root / plot, folder / plot)
    (folder / "recipe.yaml").write_text(recipe_yaml(recipe), encoding="utf-8")
    if report is not None:
        (folder / "metrics.json").write_text(report.to_json(), encoding="utf-8")
    model_manifest, files = _write_manifest(
        folder, ReleaseManifest(**manifest, repo_id=repo_id, kind="model", asym_repo_id=asym_id)
    )
    staged = [StagedRepo(repo_id, folder, files, model_manifest, "model")]

    if asym and asym_id:
        if content.teacher_folder is None:
            raise ReleaseError(f"--asym needs the teacher's weights locally; {recipe.teacher.id} was not found")
        if content.asym_readme is None:
            raise ReleaseError(f"--asym needs the card of {asym_id}")
        afolder = build_asym_folder(
            run.model_dir,
            content.teacher_folder,
            staging / "asym",
            document_prompt=recipe.teacher.document_prompt,
            teacher_max_seq_length=recipe.teacher.max_seq_length,
        )
        (afolder / "README.md").write_text(content.asym_readme, encoding="utf-8")
        shutil.copy2(content.license_text, afolder / "LICENSE")
        (afolder / "recipe.yaml").write_text(recipe_yaml(recipe), encoding="utf-8")
        write_eval_results(results, afolder, mode=OWN_MODES["asym"])
        asym_manifest, afiles = _write_manifest(
            afolder, ReleaseManifest(**manifest, repo_id=asym_id, kind="asym", student_repo_id=repo_id)
        )
        staged.append(StagedRepo(asym_id, afolder, afiles, asym_manifest, "asym"))
    return staged
