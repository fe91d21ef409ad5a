"""What a card is made of: the release's records, the facts of its model folders and leaf-hub's reports.

:func:`card_inputs` puts together a frozen :class:`CardInputs` from the records the orchestrator
hands over (the recipe, :class:`~leaf_hub.records.EvalResults`, the
:class:`~leaf_hub.records.DistillReport`, the licence report, the exports' card rows); it reads
only model folders (:func:`leaf_hub.models.folder.read_model_facts`) and leaf-hub's own committed
reports (:func:`leaf_hub.model_card.evidence.load_evidence`), never the run folder.

Example:
    >>> recipe, results, report = RunFolder("runs/leaf-ir-mini").load_card_records()  # doctest: +SKIP
    >>> inputs = card_inputs(recipe, results, "runs/leaf-ir-mini/model", report=report)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import CardError, ModelFolderError
from leaf_hub.model_card.evidence import Evidence, load_evidence
from leaf_hub.models.folder import ModelFacts, read_model_facts, saved_versions
from leaf_hub.recipe import Recipe

if TYPE_CHECKING:
    from leaf_hub.licenses import LicenseReport
    from leaf_hub.records import DistillReport, EvalResults
    from leaf_hub.records.comparison import PeerScore

__all__ = ["CardInputs", "card_inputs"]


@dataclass(frozen=True)
class CardInputs:
    """Everything a card shows: the records a release hands over, plus facts of the model folders.

    Attributes:
        recipe: The recipe of the release (the one the stages ran with).
        results: The evaluation's results.
        model: Facts of the published model folder.
        repo_id: Where the card is published (``org/name``).
        report: Distillation's report (``None`` for a run distilled elsewhere).
        teacher: Facts of the teacher folder, when it is available locally.
        licenses: The licence gate's report (for the data licence notes).
        asym_repo_id: The companion ``-asym`` repo, when one is published.
        plot: Path of the sweep plot inside the published repo (``None`` when there is none).
        versions: sentence-transformers / transformers / torch versions the model was saved with.
        teacher_card: Text of the teacher's own model card (``README.md`` of its folder), when at hand.
        exports: The checked CPU exports staged beside the weights (:func:`leaf_hub.export.card_rows`).
        peers: Other models' scores from mteb result files, for the "Compared with" table
            (:func:`leaf_hub.evaluation.peers.peer_scores`); the init and the teacher rows come from
            ``results`` itself.
        evidence: What leaf-hub's reports say that the run's records cannot (tested
            sentence-transformers versions, the asymmetric noise margin); ``None``: nothing claimed
            from them.
    """

    recipe: Recipe
    results: EvalResults
    model: ModelFacts
    repo_id: str
    report: DistillReport | None = None
    teacher: ModelFacts | None = None
    licenses: LicenseReport | None = None
    asym_repo_id: str | None = None
    plot: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    teacher_card: str | None = None
    exports: dict[str, Any] | None = None
    peers: tuple[PeerScore, ...] = ()
    evidence: Evidence | None = None

    @property
    def model_name(self) -> str:
        """Display name: the recipe's ``card.model_name`` or the repo's name."""
        return self.recipe.card.model_name or self.repo_id.split("/")[-1]


def card_inputs(
    recipe: Recipe,
    results: EvalResults,
    model_dir: str | Path,
    *,
    report: DistillReport | None = None,
    repo_id: str | None = None,
    asym_repo_id: str | None = None,
    plot: str | None = None,
    teacher_folder: str | Path | None = None,
    licenses: LicenseReport | None = None,
    exports: dict[str, Any] | None = None,
    peers: Sequence[PeerScore] = (),
) -> CardInputs:
    """Put together what a card shows from the records a release hands over (reads only model folders).

    Args:
        recipe: The recipe of the release.
        results: The evaluation's results.
        model_dir: The model folder being published.
        report: Distillation's report, when there is one.
        repo_id: Target repo (default: the recipe's ``hub.repo_id``).
        asym_repo_id: Companion asymmetric repo, when published.
        plot: Path of the sweep plot inside the published repo.
        teacher_folder: Local teacher folder (for its size in the highlights).
        licenses: Licence report; without one, data licences are classified from the recipe alone.
        exports: What the card shows of the release's CPU exports (:func:`leaf_hub.export.card_rows`).
        peers: Other models' scores for the "Compared with" table (read by the evaluation stage).

    Returns:
        The card inputs.

    Raises:
        CardError: If the model folder is missing or the results hold no score.
    """
    model_dir = Path(model_dir)
    if not (model_dir / "modules.json").is_file():
        raise CardError(f"{model_dir} has no modules.json; distil the run first")
    if not results.scores:
        raise CardError(f"the evaluation of {model_dir} has no scores; run `leaf-hub evaluate` first")
    if licenses is None:
        from leaf_hub.licenses import LicenseReport, classify_data

        licenses = LicenseReport(recipe.card.license, [], [classify_data(s, None) for s in recipe.data.sources])
    versions = saved_versions(model_dir)
    teacher = None
    teacher_card = None
    try:
        if teacher_folder is not None and (Path(teacher_folder) / "modules.json").is_file():
            teacher = read_model_facts(teacher_folder)
            readme = Path(teacher_folder) / "README.md"
            teacher_card = readme.read_text(encoding="utf-8", errors="replace") if readme.is_file() else None
        model = read_model_facts(model_dir)
    except ModelFolderError as e:
        raise CardError(str(e)) from e
    return CardInputs(
        recipe=recipe,
        results=results,
        model=model,
        repo_id=repo_id or recipe.hub.repo_id,
        report=report,
        teacher=teacher,
        licenses=licenses,
        asym_repo_id=asym_repo_id,
        plot=plot,
        versions=versions,
        teacher_card=teacher_card,
        exports=exports,
        peers=tuple(peers),
        evidence=load_evidence(),
    )
