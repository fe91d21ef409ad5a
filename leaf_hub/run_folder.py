"""The run folder ``runs/<name>/``: its layout, and the one ``load`` and ``save`` of each record in it.

This is the only module that knows the folder's file names and parses its files. The stages
(:mod:`leaf_hub.distill`, :mod:`leaf_hub.evaluation`, :mod:`leaf_hub.model_card`,
:mod:`leaf_hub.publish`, :mod:`leaf_hub.leaderboard`) receive typed records from the orchestrator
(:mod:`leaf_hub.release`) or, when a user runs one stage alone from the CLI, from a
:class:`RunFolder`; none of them opens another stage's file. Layout::

    runs/<name>/
      recipe.yaml            Recipe           the recipe the latest stage ran with (each stage saves it)
      model/                 the distilled sentence-transformers folder (written by distill)
      checkpoints/           trainer checkpoints of an interrupted distillation (resume)
      work/                  distill scratch (teacher targets); removed when distill ends
      metrics.json           DistillReport    what distillation did
      eval/results.json      EvalResults      scores, sweep, speed (schema: leaf_hub.records.evaluation)
      eval/mteb/<mode>/      mteb's own TaskResult files (read by mteb's loaders)
      eval/<plot>.png        the sweep plot
      exports/               ONNX / OpenVINO exports (leaf_hub.export)
      stages.json            StageRecord      the input fingerprint each stage last completed with
      release.json           ReleaseManifest  the model repo's manifest, plus where and when it was published
      release_summary.json   ReleaseSummary   what the last ``leaf-hub release`` did
      leaderboard/           the MTEB submission tree (leaf_hub.leaderboard)

Every write is atomic (a temporary file, then :func:`os.replace`), so an interrupted stage never
leaves a half-written record that a later stage would trust.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from leaf_hub.errors import EvalError, RecipeError, RunFolderError
from leaf_hub.hashing import atomic_write
from leaf_hub.records import DistillReport, ReleaseManifest, StageRecord

if TYPE_CHECKING:
    from leaf_hub.recipe import Recipe
    from leaf_hub.records import EvalResults, ReleaseSummary

__all__ = ["RunFolder", "recipe_yaml"]


# ---------------------------------------------------------------------------------------------
# the folder
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFolder:
    """One run folder (see the module docstring for the layout).

    Example:
        >>> run = RunFolder("runs/leaf-ir-mini")  # doctest: +SKIP
        >>> run.load_results().score("SciFact", "student")  # doctest: +SKIP
    """

    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root))

    # -- layout ---------------------------------------------------------------------------------

    @property
    def model_dir(self) -> Path:
        """``model/``: the distilled sentence-transformers folder."""
        return self.root / "model"

    @property
    def checkpoints_dir(self) -> Path:
        """``checkpoints/``: trainer checkpoints."""
        return self.root / "checkpoints"

    @property
    def work_dir(self) -> Path:
        """``work/``: distillation scratch."""
        return self.root / "work"

    @property
    def exports_dir(self) -> Path:
        """``exports/``: ONNX / OpenVINO exports."""
        return self.root / "exports"

    @property
    def eval_dir(self) -> Path:
        """``eval/``: results, mteb's files and the plot."""
        return self.root / "eval"

    def mteb_dir(self, mode: str) -> Path:
        """``eval/mteb/<mode>/``: mteb's TaskResult files of one mode."""
        return self.eval_dir / "mteb" / mode

    @property
    def leaderboard_dir(self) -> Path:
        """``leaderboard/``: the submission tree."""
        return self.root / "leaderboard"

    @property
    def recipe_file(self) -> Path:
        """``recipe.yaml``."""
        return self.root / "recipe.yaml"

    @property
    def metrics_file(self) -> Path:
        """``metrics.json``."""
        return self.root / "metrics.json"

    @property
    def results_file(self) -> Path:
        """``eval/results.json``."""
        return self.eval_dir / "results.json"

    @property
    def stages_file(self) -> Path:
        """``stages.json``."""
        return self.root / "stages.json"

    @property
    def manifest_file(self) -> Path:
        """``release.json``."""
        return self.root / "release.json"

    @property
    def summary_file(self) -> Path:
        """``release_summary.json``."""
        return self.root / "release_summary.json"

    def plot_file(self, results: EvalResults) -> Path | None:
        """The sweep plot that ``results`` names, when it exists."""
        if results.plot and (self.eval_dir / results.plot).is_file():
            return self.eval_dir / results.plot
        return None

    def plot_in_repo(self, results: EvalResults) -> str | None:
        """Where the sweep plot goes in a published repo (the run-relative path), when it exists."""
        plot = self.plot_file(results)
        return plot.relative_to(self.root).as_posix() if plot else None

    # -- presence -------------------------------------------------------------------------------

    def has_model(self) -> bool:
        """Whether ``model/`` holds a sentence-transformers folder."""
        return (self.model_dir / "modules.json").is_file()

    def has_report(self) -> bool:
        """Whether distillation's ``metrics.json`` exists."""
        return self.metrics_file.is_file()

    def has_results(self) -> bool:
        """Whether ``eval/results.json`` exists."""
        return self.results_file.is_file()

    def has_manifest(self) -> bool:
        """Whether a publish left ``release.json``."""
        return self.manifest_file.is_file()

    def is_run(self) -> bool:
        """Whether this looks like a run folder (a ``recipe.yaml``)."""
        return self.recipe_file.is_file()

    def require_model(self) -> Path:
        """The model folder.

        Raises:
            RunFolderError: If the run has none.
        """
        if not self.root.is_dir():
            raise RunFolderError(f"run folder not found: {self.root}")
        if not self.has_model():
            raise RunFolderError(
                f"run {self.root} has no model/ (model/modules.json missing); run `leaf-hub distill` first"
            )
        return self.model_dir

    # -- records --------------------------------------------------------------------------------

    def load_recipe(self) -> Recipe:
        """The recipe the latest stage ran with.

        Raises:
            RunFolderError: If ``recipe.yaml`` is missing.
            RecipeError: If it is invalid.
        """
        from leaf_hub.recipe import load_recipe

        if not self.recipe_file.is_file():
            raise RunFolderError(
                f"{self.recipe_file} not found: is {self.root} a run folder made by `leaf-hub distill`?"
            )
        try:
            return load_recipe(self.recipe_file)
        except RecipeError as e:
            raise RecipeError(f"{self.recipe_file}: {str(e).splitlines()[0]}") from e

    def save_recipe(self, recipe: Recipe) -> Path:
        """Record the recipe a stage ran with (resolved: every default written out)."""
        atomic_write(self.recipe_file, recipe_yaml(recipe))
        return self.recipe_file

    def load_report(self) -> DistillReport:
        """Distillation's report.

        Raises:
            RunFolderError: If ``metrics.json`` is missing or malformed.
        """
        try:
            text = self.metrics_file.read_text(encoding="utf-8")
        except OSError as e:
            raise RunFolderError(f"{self.metrics_file} not found: distil the run first (`leaf-hub distill`)") from e
        return DistillReport.from_json(text, str(self.metrics_file))

    def save_report(self, report: DistillReport) -> Path:
        """Write ``metrics.json``."""
        atomic_write(self.metrics_file, report.to_json())
        return self.metrics_file

    def load_results(self) -> EvalResults:
        """The evaluation's results.

        Raises:
            RunFolderError: If ``eval/results.json`` is missing, not JSON, or not schema version 1.
        """
        from leaf_hub.records import load_results

        if not self.results_file.is_file():
            raise RunFolderError(
                f"run {self.root} has no eval/results.json; run `leaf-hub evaluate {self.root}` first"
            )
        try:
            return load_results(self.results_file)
        except EvalError as e:
            raise RunFolderError(str(e)) from e

    def load_card_records(self, recipe: Recipe | None = None) -> tuple[Recipe, EvalResults, DistillReport | None]:
        """What a card and a release are made of: the recipe (``recipe``, else the recorded one), results, report.

        The report is ``None`` for a run distilled elsewhere (no ``metrics.json``).

        Raises:
            RunFolderError: If the recipe (when not given) or the results are missing or malformed.
            RecipeError: If the recorded recipe is invalid.
        """
        recipe = recipe or self.load_recipe()
        results = self.load_results()
        return recipe, results, self.load_report() if self.has_report() else None

    def save_results(self, results: EvalResults) -> Path:
        """Write ``eval/results.json``."""
        atomic_write(self.results_file, results.to_json())
        return self.results_file

    def load_stages(self) -> StageRecord:
        """What each stage last completed with (empty when there is no readable ``stages.json``)."""
        try:
            data = json.loads(self.stages_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return StageRecord()
        if not isinstance(data, dict):
            return StageRecord()
        started = data.pop("distill_started", None)
        completed = {k: v for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("fingerprint"), str)}
        return StageRecord(completed, started if isinstance(started, str) else None)

    def save_stages(self, stages: StageRecord) -> Path:
        """Write ``stages.json``."""
        data: dict[str, Any] = dict(stages.completed)
        if stages.distill_started:
            data["distill_started"] = stages.distill_started
        atomic_write(self.stages_file, json.dumps(data, indent=2, sort_keys=True) + "\n")
        return self.stages_file

    def load_manifest(self) -> ReleaseManifest:
        """The last publish's manifest.

        Raises:
            RunFolderError: If ``release.json`` is missing or malformed.
        """
        try:
            text = self.manifest_file.read_text(encoding="utf-8")
        except OSError as e:
            raise RunFolderError(
                f"{self.manifest_file} not found: publish the run first (`leaf-hub publish` or `leaf-hub release`)"
            ) from e
        return ReleaseManifest.from_json(text, str(self.manifest_file))

    def save_manifest(self, manifest: ReleaseManifest) -> Path:
        """Write ``release.json`` (atomically: a crash never leaves a half manifest claiming a release)."""
        atomic_write(self.manifest_file, manifest.to_json())
        return self.manifest_file

    def load_summary(self) -> ReleaseSummary:
        """What the last ``leaf-hub release`` did.

        Raises:
            RunFolderError: If ``release_summary.json`` is missing (the release did not finish) or malformed.
        """
        from leaf_hub.records import ReleaseSummary

        try:
            data = json.loads(self.summary_file.read_text(encoding="utf-8"))
        except OSError as e:
            raise RunFolderError(f"{self.summary_file} is missing: the release did not finish") from e
        except ValueError as e:
            raise RunFolderError(f"{self.summary_file} is not JSON") from e
        try:
            return ReleaseSummary(**data)
        except TypeError as e:
            raise RunFolderError(f"{self.summary_file} is not a release summary ({e})") from e

    def save_summary(self, text: str) -> Path:
        """Write ``release_summary.json`` (the release's own JSON)."""
        atomic_write(self.summary_file, text)
        return self.summary_file

    def clear_summary(self) -> None:
        """Remove an earlier release's summary, so a failed release never leaves another run's figures."""
        self.summary_file.unlink(missing_ok=True)


def recipe_yaml(recipe: Recipe) -> str:
    """A recipe as the YAML a run folder or a release records (every default written out)."""
    return yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False)
