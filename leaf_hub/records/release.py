"""The release's records.

The manifest (``release.json``), the stage record (``stages.json``) and what one
``leaf-hub release`` did (``release_summary.json``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from leaf_hub.errors import RunFolderError

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["FileEntry", "ReleaseManifest", "ReleaseSummary", "StageRecord"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileEntry(_Strict):
    """One released file: its size in bytes and sha256."""

    size: int
    sha256: str


class ReleaseManifest(_Strict):
    """``release.json``: a release's deterministic manifest (staged in every repo; the run keeps the model's).

    The staged copy holds every field up to ``files`` (sha256 of each other file, so equal
    manifests mean equal releases); the run folder's copy adds where and when it was published
    (``tag`` … ``releases``).
    """

    schema_version: int = 1
    leaf_hub_version: str
    name: str
    version: str
    recipe_fingerprint: str
    teacher: dict[str, Any]
    student_init: dict[str, Any]
    scores: list[dict[str, Any]]
    mteb_version: str | None = None
    sentence_transformers: dict[str, Any] = {}
    license: dict[str, Any] = {}
    exports: dict[str, Any] | None = None
    repo_id: str
    kind: str
    asym_repo_id: str | None = None
    student_repo_id: str | None = None
    files: dict[str, FileEntry] = {}
    tag: str | None = None
    commit: str | None = None
    endpoint: str | None = None
    published_at: str | None = None
    releases: list[dict[str, Any]] = []

    def to_json(self) -> str:
        """Deterministic JSON: sorted keys, only the fields that were set."""
        return json.dumps(self.model_dump(mode="json", exclude_unset=True), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "release.json") -> ReleaseManifest:
        """Parse a ``release.json`` text.

        Raises:
            RunFolderError: If it is not JSON or not a manifest.
        """
        try:
            return cls.model_validate_json(text)
        except ValidationError as e:
            first = e.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise RunFolderError(f"{source}: {loc}: {first['msg']}") from e

    def hashes(self) -> dict[str, str]:
        """Released file -> sha256."""
        return {path: entry.sha256.lower() for path, entry in self.files.items()}


@dataclass
class StageRecord:
    """``stages.json``: the input fingerprint each stage last completed with.

    Attributes:
        completed: Stage name -> ``{"fingerprint": ..., ...}`` of its last completed run.
        distill_started: Fingerprint of a distillation that started (and may have been
            interrupted): its checkpoints may be resumed only by a run of the same inputs.
    """

    completed: dict[str, dict[str, Any]] = field(default_factory=dict)
    distill_started: str | None = None

    def fingerprint(self, stage: str) -> str | None:
        """The fingerprint ``stage`` last completed with, or ``None``."""
        return (self.completed.get(stage) or {}).get("fingerprint")

    def complete(self, stage: str, fingerprint: str, **facts: Any) -> None:
        """Record that ``stage`` completed with inputs ``fingerprint`` (plus facts such as a commit)."""
        self.completed[stage] = {"fingerprint": fingerprint, **facts}

    def invalidate(self, *stages: str) -> None:
        """Forget ``stages`` (their outputs are stale)."""
        for stage in stages:
            self.completed.pop(stage, None)


@dataclass
class ReleaseSummary:
    """What one ``leaf-hub release`` did; written to ``<run_dir>/release_summary.json``.

    Attributes:
        recipe: Recipe name.
        version: Recipe version.
        run_dir: The run folder.
        endpoint: Hub endpoint published to.
        repo_id: Published repository.
        tag: Release tag.
        commit: Commit id the tag points at.
        url: Web URL of the repository.
        stages: Stage name -> ``{"status": "ran"|"skipped", "seconds": float}``.
        scores: ``"<task>/<mode>"`` -> main score (fraction); modes include ``init`` when evaluated.
        alignment_before: Held-out alignment before training.
        alignment_after: Held-out alignment after training.
        alignment_gain_se: Standard error of the alignment gain (paired, per held-out text).
        text_passes: Texts trained on, counting each epoch's pass (steps × batch size).
        train_seconds: Training time of the distill stage.
        model_mb: Size of the model's weights in MB.
        n_parameters: Parameters of the student.
        reload_min_cosine: Worst cosine between the local model and the tag reloaded from the Hub.
        precision: Stage -> the precision it computed in (``teacher``, ``training``: ``fp32`` or
            ``bf16``, ``external`` for a black-box teacher; ``evaluation``: ``fp32``).
        wall_seconds: Whole release.
    """

    recipe: str
    version: str
    run_dir: str
    endpoint: str
    repo_id: str
    tag: str
    commit: str | None = None
    url: str | None = None
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    subsampled: dict[str, bool] = field(default_factory=dict)
    alignment_before: float | None = None
    alignment_after: float | None = None
    alignment_gain_se: float | None = None
    text_passes: int | None = None
    train_seconds: float | None = None
    model_mb: float | None = None
    n_parameters: int | None = None
    reload_min_cosine: float | None = None
    precision: dict[str, str] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def to_json(self) -> str:
        """Serialise as pretty JSON."""
        return json.dumps(asdict(self), indent=2)

    def summary_table(self) -> Table:
        """A rich table: scores, sizes, repo, commit, tag and per-stage times."""
        from rich.table import Table

        table = Table(title=f"leaf-hub release {self.recipe} {self.tag}", show_header=True)
        table.add_column("item")
        table.add_column("value", justify="right")
        for name, stage in self.stages.items():
            table.add_row(f"stage {name}", f"{stage['status']} ({stage['seconds']:.1f} s)")
        for key, value in sorted(self.scores.items()):
            note = " (sub-sampled corpus)" if self.subsampled.get(key) else ""
            table.add_row(key, f"{100 * value:.2f}{note}")
        for key in sorted(k for k in self.scores if k.endswith("/init")):
            task = key.removesuffix("/init")
            if f"{task}/student" in self.scores:  # a loss reads as a loss: negative
                delta = 100 * (self.scores[f"{task}/student"] - self.scores[key])
                table.add_row(f"{task}: student − init", f"{delta:+.2f}")
        if self.alignment_after is not None:
            gain = self.alignment_after - self.alignment_before
            se = f" ± {self.alignment_gain_se:.4f}" if self.alignment_gain_se is not None else ""
            table.add_row(
                "held-out alignment (gain)",
                f"{self.alignment_before:.4f} → {self.alignment_after:.4f} ({gain:+.4f}{se})",
            )
        if self.text_passes:
            table.add_row("training: text-passes / seconds", f"{self.text_passes:,} / {self.train_seconds:.0f} s")
        if self.n_parameters:
            table.add_row("parameters / weights", f"{self.n_parameters / 1e6:.1f} M / {self.model_mb:.1f} MB")
        table.add_row("repo", self.url or self.repo_id)
        table.add_row("commit", self.commit or "-")
        table.add_row("tag", self.tag)
        if self.reload_min_cosine is not None:
            table.add_row("reload at tag: min cosine", f"{self.reload_min_cosine:.6f}")
        table.add_row("wall time", f"{self.wall_seconds:.1f} s")
        return table
