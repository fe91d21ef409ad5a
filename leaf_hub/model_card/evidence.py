"""What a card's margins and named versions are read from: leaf-hub's committed reports, never typed.

Two reports back claims that a run's own records cannot:

* ``reports/compat_matrix.json`` (``scripts/bench/compat_matrix.py``): the sentence-transformers
  releases that loaded leaf-hub's saved folder and reproduced its vectors. The card names exactly
  these versions (:attr:`Evidence.tested_sentence_transformers`), not a range.
* ``reports/ablation.json`` (``scripts/studies/ablation.py``): the seed-to-seed range of the
  asymmetric score per task over the plain-LEAF seeds (test splits). It is the noise margin an
  asymmetric score must beat this model's own score by before the card recommends asymmetric use
  (:attr:`Evidence.asymmetric_noise`). The evaluation records one score per task and mode, not one
  per query, so a bootstrap over queries is not possible from them; the seed range is the measured
  spread there is.

The reports are read from the checkout (``reports/`` beside the package) or, in an installed wheel,
from ``leaf_hub/_data/reports``. Without them the card names no tested version and recommends no
asymmetric use.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["COMPAT_REPORT", "NOISE_REPORT", "Evidence", "load_evidence", "report_path"]

#: The compatibility matrix the card's tested sentence-transformers versions come from.
COMPAT_REPORT = "compat_matrix.json"
#: The study whose plain-LEAF seeds give the asymmetric noise margin.
NOISE_REPORT = "ablation.json"


@dataclass(frozen=True)
class Evidence:
    """Facts from leaf-hub's reports that a card's claims need (see the module docstring).

    Attributes:
        tested_sentence_transformers: Versions whose every compatibility row (saved folder, hub
            download) loaded and matched, in version order; empty when the report is not at hand.
        asymmetric_noise: Task -> seed-to-seed range (a fraction) of the asymmetric test score over
            the plain-LEAF seeds.
        sources: What each field was read from (report paths).
    """

    tested_sentence_transformers: tuple[str, ...] = ()
    asymmetric_noise: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def noise(self, task: str) -> float | None:
        """The asymmetric noise margin of ``task``: its own seed range, else the largest one measured."""
        if task in self.asymmetric_noise:
            return self.asymmetric_noise[task]
        return max(self.asymmetric_noise.values()) if self.asymmetric_noise else None


def report_path(name: str) -> Path | None:
    """Where the report ``name`` is: the checkout's ``reports/`` or the wheel's ``leaf_hub/_data/reports``."""
    package = Path(__file__).resolve().parents[1]
    for folder in (package.parent / "reports", package / "_data" / "reports"):
        if (folder / name).is_file():
            return folder / name
    return None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def versions_that_passed(matrix: dict[str, Any]) -> tuple[str, ...]:
    """sentence-transformers versions whose every non-control row of a compatibility matrix passed."""
    outcome: dict[str, bool] = {}
    for row in matrix.get("rows", []):
        if row.get("control"):
            continue  # a deliberately unportable save: expected to fail on old releases
        version = row["sentence_transformers"]
        outcome[version] = outcome.get(version, True) and bool(row.get("passed"))
    return tuple(sorted((v for v, ok in outcome.items() if ok), key=_version_key))


def asymmetric_noise(ablation: dict[str, Any]) -> dict[str, float]:
    """Per task, the range of the asymmetric test score over the plain-LEAF seed rows of an ablation report."""
    plain = [r for r in ablation.get("rows", []) if r.get("name", "").startswith("plain") and r.get("asymmetric")]
    if len(plain) < 2:
        return {}
    tasks = set.intersection(*(set(r["asymmetric"]) for r in plain))
    return {t: max(r["asymmetric"][t] for r in plain) - min(r["asymmetric"][t] for r in plain) for t in sorted(tasks)}


def load_evidence() -> Evidence:
    """Read :class:`Evidence` from the reports (an empty one, with a warning, when they are missing)."""
    sources: dict[str, str] = {}
    versions: tuple[str, ...] = ()
    noise: dict[str, float] = {}
    compat = report_path(COMPAT_REPORT)
    if compat is not None:
        versions = versions_that_passed(json.loads(compat.read_text()))
        sources["tested_sentence_transformers"] = f"reports/{COMPAT_REPORT}"
    study = report_path(NOISE_REPORT)
    if study is not None:
        noise = asymmetric_noise(json.loads(study.read_text()))
        sources["asymmetric_noise"] = f"reports/{NOISE_REPORT}"
    if compat is None or study is None:
        logger.warning(
            "card: %s not found; the card names no tested version or no asymmetric margin",
            " and ".join(n for n, p in ((COMPAT_REPORT, compat), (NOISE_REPORT, study)) if p is None),
        )
    return Evidence(tested_sentence_transformers=versions, asymmetric_noise=noise, sources=sources)
