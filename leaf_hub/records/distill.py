"""``metrics.json``: what a distillation did (:class:`DistillReport`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import RunFolderError

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["DistillReport"]


@dataclass
class DistillReport:
    """What a distillation run did; the content of ``metrics.json``.

    Attributes:
        recipe_name: The recipe's name.
        recipe_fingerprint: :meth:`Recipe.fingerprint` of the recipe distilled with.
        teacher_id: The teacher's id.
        teacher_fingerprint: The teacher's own fingerprint (weights or black-box version).
        student_init_id: The student initialisation's id.
        run_dir: The run folder.
        n_train_texts: Texts trained on.
        n_heldout: Held-out texts of the alignment figure.
        alignment_before: Mean held-out cosine to the teacher before training.
        alignment_after: The same after training.
        steps: Optimizer steps.
        train_seconds: Training time.
        train_texts_per_s: Texts per second in training.
        teacher_seconds: Time spent on the teacher's vectors.
        teacher_texts_encoded: Texts the teacher encoded (not from its cache).
        teacher_cache_hits: Vectors read from the teacher cache.
        wall_seconds: The whole distillation.
        projection_init: Figures of the projection's ridge fit.
        loss_history: ``[step, loss]`` pairs.
        hardware: Machine facts.
        versions: Library versions.
        resumed_from: Checkpoint resumed from, if any.
        text_passes: Texts trained on, counting each epoch's pass.
        train_tokens_per_s: Real (non-padding) tokens per second in training.
        alignment_gain_se: Standard error of the alignment gain (paired over held-out texts).
        parameters: ``trainable`` / ``frozen`` parameter counts.
        world_size: Processes that trained.
        teacher_encoded_per_rank: Texts each rank's teacher encoded.
        citations: Name -> BibTeX of the loss that was built (its parts in order).
        precision: What each stage computed in: ``teacher`` (``dtype`` ``fp32``/``bf16``/``external``,
            ``requested``, ``reason``, and for bf16 the ``check``: cosine of bf16 to fp32 vectors on
            the held-out texts) and ``training`` (``dtype``, ``requested``, ``device``, ``reason``).
            Empty in reports written before the precision policy (they ran in fp32).
        student_kind: ``transformer`` or ``static`` (the recipe's ``student.kind``).
        alignment_by_kind: Held-out alignment per text kind, ``{"query": {"n", "before", "after",
            "gain_se"}, "document": {...}}`` (empty in reports written before it).
    """

    recipe_name: str
    recipe_fingerprint: str
    teacher_id: str
    teacher_fingerprint: str
    student_init_id: str
    run_dir: str
    n_train_texts: int
    n_heldout: int
    alignment_before: float
    alignment_after: float
    steps: int
    train_seconds: float
    train_texts_per_s: float
    teacher_seconds: float
    teacher_texts_encoded: int
    teacher_cache_hits: int
    wall_seconds: float
    projection_init: dict[str, float] = field(default_factory=dict)
    loss_history: list[list[float]] = field(default_factory=list)
    hardware: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    resumed_from: str | None = None
    text_passes: int = 0
    train_tokens_per_s: float = 0.0
    alignment_gain_se: float = float("nan")
    parameters: dict[str, int] = field(default_factory=dict)
    world_size: int = 1
    teacher_encoded_per_rank: list[int] = field(default_factory=list)
    citations: dict[str, str] = field(default_factory=dict)
    precision: dict[str, dict[str, Any]] = field(default_factory=dict)
    student_kind: str = "transformer"
    alignment_by_kind: dict[str, dict[str, float]] = field(default_factory=dict)

    def query_alignment(self) -> float | None:
        """Held-out query alignment after training, or ``None`` when the report has no per-kind figures."""
        query = self.alignment_by_kind.get("query")
        return float(query["after"]) if query else None

    def to_json(self) -> str:
        """Serialise as pretty JSON (the ``metrics.json`` text)."""
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str, source: str = "metrics.json") -> DistillReport:
        """Parse a ``metrics.json`` text.

        Raises:
            RunFolderError: If it is not JSON or lacks a field.
        """
        try:
            data = json.loads(text)
            known = {f for f in cls.__dataclass_fields__}
            return cls(**{k: v for k, v in data.items() if k in known})
        except (ValueError, TypeError, AttributeError) as e:
            raise RunFolderError(f"{source}: not a distillation report ({str(e).splitlines()[0]})") from e

    def summary_table(self) -> Table:
        """A rich table of the headline figures."""
        from rich.table import Table

        table = Table(title=f"distilled {self.recipe_name} → {self.run_dir}/model", show_header=True)
        table.add_column("figure")
        table.add_column("value", justify="right")
        rows = [
            ("train texts / held-out", f"{self.n_train_texts:,} / {self.n_heldout:,}"),
            (
                "held-out alignment before → after (gain ± s.e.)",
                f"{self.alignment_before:.4f} → {self.alignment_after:.4f} "
                f"({self.alignment_after - self.alignment_before:+.4f} ± {self.alignment_gain_se:.4f})",
            ),
            *(
                (
                    f"  {kind} ({int(fig['n']):,}) before → after",
                    f"{fig['before']:.4f} → {fig['after']:.4f} ({fig['after'] - fig['before']:+.4f})",
                )
                for kind, fig in self.alignment_by_kind.items()
            ),
            ("steps / text-passes", f"{self.steps:,} / {self.text_passes:,}"),
            ("teacher: texts encoded / cache hits", f"{self.teacher_texts_encoded:,} / {self.teacher_cache_hits:,}"),
            ("teacher time", f"{self.teacher_seconds:.1f} s"),
            (
                "training time (texts/s, real tokens/s)",
                f"{self.train_seconds:.1f} s ({self.train_texts_per_s:.1f}/s, {self.train_tokens_per_s:,.0f}/s)",
            ),
            ("wall time", f"{self.wall_seconds:.1f} s"),
        ]
        if self.precision:
            used = [self.precision.get(stage, {}).get("dtype", "?") for stage in ("teacher", "training")]
            rows.insert(-1, ("precision: teacher / training", " / ".join(used)))
        for name, value in rows:
            table.add_row(name, value)
        return table
