"""What must hold before a release is staged: the run, the repo ids, the tag, portability and licences.

:func:`check_run` runs before the run's records are loaded (the repo ids are valid, the run has a
model and evaluation results); :func:`check_release` after (the tag matches the recipe's version,
the model folder is portable, the local teacher or document encoder is found, and the licence gate
of :mod:`leaf_hub.licenses` lets the release through). Nothing here writes anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from leaf_hub.errors import CardError, ReleaseError, RunFolderError
from leaf_hub.publish.tag import check_tag

if TYPE_CHECKING:
    from leaf_hub.licenses import LicenseReport
    from leaf_hub.recipe import Recipe
    from leaf_hub.run_folder import RunFolder

logger = logging.getLogger(__name__)

__all__ = ["ReleaseChecks", "check_release", "check_run", "document_encoder_folder", "teacher_folder"]


@dataclass(frozen=True)
class ReleaseChecks:
    """What :func:`check_release` found, for the card and the staging.

    Attributes:
        licenses: The licence gate's report (recorded in each manifest, shown on the card).
        teacher_folder: The local teacher folder (or, for ``-asym`` with a black-box teacher, the
            document encoder's), ``None`` when it is not at hand.
        data_root: The data folder, ``None`` when it is not found.
    """

    licenses: LicenseReport
    teacher_folder: Path | None
    data_root: Path | None


def check_run(run: RunFolder, repo_id: str, *, asym: bool = False) -> None:
    """Check the repo id(s) and that the run has a model and evaluation results.

    Raises:
        RepoIdError: On a bad repo id (:func:`leaf_hub.hub.check_repo_id`).
        ReleaseError: If the run has no model.
        CardError: If the run has no evaluation results.
    """
    from leaf_hub.hub import check_repo_id

    check_repo_id(repo_id)
    if asym:
        check_repo_id(f"{repo_id}-asym")
    try:
        run.require_model()
    except RunFolderError as e:
        raise ReleaseError(str(e)) from None
    if not run.has_results():
        raise CardError(f"run {run.root} has no eval/results.json; run `leaf-hub evaluate {run.root}` first")


def check_release(
    recipe: Recipe, run: RunFolder, *, tag: str, asym: bool = False, allow_license_override: bool = False
) -> ReleaseChecks:
    """Check the tag, the model folder's portability and the licences of what the release ships.

    Args:
        recipe: The recipe of the release.
        run: The run folder (its model is checked).
        tag: Release tag, ``v{recipe.version}``.
        asym: The ``-asym`` repo is published too (the teacher's weights are shipped).
        allow_license_override: Let a licence refusal through (recorded in the report).

    Returns:
        The licence report and the local folders found.

    Raises:
        ReleaseError: On a bad tag, or ``asym`` with a black-box teacher and no ``teacher.document_encoder``.
        NotPortableError: If the model would not load on every supported sentence-transformers.
        LicenseError: If a redistributed component is not permissively licensed.
    """
    from leaf_hub.licenses import check_licenses

    check_tag(tag, recipe)
    _check_portable(run.model_dir)
    teacher = document_encoder_folder(recipe) if asym else teacher_folder(recipe)
    data = _data_root(recipe)
    licenses = check_licenses(
        recipe,
        student_folder=_student_init_folder(recipe),
        teacher_folder=teacher,
        ship_teacher=asym,
        data_root=data,
        allow_override=allow_license_override,
    )
    return ReleaseChecks(licenses, teacher, data)


def _check_portable(model_dir: Path) -> None:
    try:
        from leaf_hub.models.portable import check_portable
    except ImportError:  # pragma: no cover - the portability module ships with leaf-hub
        logger.warning("leaf_hub.models.portable is unavailable; skipping the portability check")
        return
    check_portable(model_dir)


def teacher_folder(recipe: Recipe) -> Path | None:
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


def document_encoder_folder(recipe: Recipe) -> Path | None:
    """The local folder of the model that encodes documents for ``-asym``.

    That is the teacher, or for a black-box teacher the ``teacher.document_encoder`` the recipe names.

    Raises:
        ReleaseError: If the teacher is a black box and the recipe names no document encoder.
    """
    teacher = recipe.teacher
    if not teacher.black_box:
        return teacher_folder(recipe)
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
