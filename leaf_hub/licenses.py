"""The licence gate: may this run be published under the recipe's licence?

A leaf model is a fine-tune of its student initialisation, so publishing it redistributes
(a derivative of) the student's weights; an ``-asym`` release also ships the teacher's
weights. Each redistributed component must carry a licence compatible with publishing the
release as Apache-2.0, or publishing stops with a :class:`LicenseError` (unless the caller
passes an explicit override, which is recorded in the release manifest).

Training text is not redistributed, but a model trained on research-only data must say so:
every data source is classified, and the card prints the research-only ones plainly.

Evidence is read, in order, from the model folder's card front matter (``license:``), its
``LICENSE`` file, its ``PROVENANCE.txt`` and finally the recipe; for data, from the recipe's
``license`` field and the ``SOURCE.md`` next to the file when the data folder is present.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from leaf_hub.errors import LicenseError
from leaf_hub.recipe import DataSource, ModelSpec, Recipe

logger = logging.getLogger(__name__)

__all__ = [
    "PERMISSIVE_LICENSES",
    "ComponentLicense",
    "DataLicense",
    "LicenseReport",
    "check_licenses",
    "classify_data",
    "model_license",
    "normalize_license",
]

#: Licences whose weights may be redistributed inside an Apache-2.0 release.
PERMISSIVE_LICENSES = frozenset(
    {"apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "isc", "cc0-1.0", "unlicense", "cc-by-4.0", "zlib"}
)

_ALIASES = {
    "apache 2.0": "apache-2.0",
    "apache2": "apache-2.0",
    "apache-2": "apache-2.0",
    "apache license 2.0": "apache-2.0",
    "apache license, version 2.0": "apache-2.0",
    "apache license version 2.0": "apache-2.0",
    "mit license": "mit",
    "bsd-3": "bsd-3-clause",
    "bsd-2": "bsd-2-clause",
}

#: Phrases that make a data source research-only (matched case-insensitively).
_RESEARCH_ONLY = re.compile(r"research[- ]only|non[- ]commercial|research use|academic use|\bnc\b|-nc-", re.IGNORECASE)
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


def normalize_license(value: str | None) -> str:
    """Return a lower-case SPDX-like id (``Apache-2.0`` -> ``apache-2.0``); ``unknown`` for empty input."""
    if not value:
        return "unknown"
    text = value.strip().strip("'\"").lower()
    return _ALIASES.get(text, text)


@dataclass(frozen=True)
class ComponentLicense:
    """The licence of one model component of a release.

    Attributes:
        role: ``student-init`` or ``teacher``.
        model_id: Hub id of the component.
        license: Normalised licence id.
        evidence: Where the licence was read (``README.md front matter``, ``LICENSE``, ``recipe``...).
        redistributed: Whether the release ships these weights (or a derivative of them).
        permissive: Whether the licence allows redistribution under Apache-2.0.
    """

    role: str
    model_id: str
    license: str
    evidence: str
    redistributed: bool
    permissive: bool


@dataclass(frozen=True)
class DataLicense:
    """The licence note of one training-data source.

    Attributes:
        path: The source file as named in the recipe.
        kind: ``query`` or ``document``.
        samples: Lines drawn from it (``None``: all).
        license: The licence text from the recipe.
        research_only: Whether any part of the source is research-only / non-commercial.
        evidence: ``recipe`` or ``recipe + SOURCE.md``.
    """

    path: str
    kind: str
    samples: int | None
    license: str
    research_only: bool
    evidence: str


@dataclass(frozen=True)
class LicenseReport:
    """Outcome of the licence gate; recorded in ``release.json``.

    Attributes:
        release_license: The licence the release is published under.
        components: Model components and their licences.
        data: Training-data sources and their licence notes.
        override: Whether the caller overrode a refusal.
        refusals: One line per component that would have been refused.
    """

    release_license: str
    components: list[ComponentLicense]
    data: list[DataLicense]
    override: bool = False
    refusals: list[str] = field(default_factory=list)

    @property
    def research_only_data(self) -> list[DataLicense]:
        """The training sources the card must flag as research-only."""
        return [d for d in self.data if d.research_only]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the release manifest."""
        return {
            "release_license": self.release_license,
            "override": self.override,
            "refusals": list(self.refusals),
            "components": [asdict(c) for c in self.components],
            "data": [asdict(d) for d in self.data],
        }


def _front_matter_license(readme: Path) -> str | None:
    try:
        text = readme.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = _FRONT_MATTER.match(text)
    if not match:
        return None
    for line in match.group(1).splitlines():
        if line.startswith("license:"):
            return line.split(":", 1)[1].strip() or None
    return None


def _license_file(folder: Path) -> str | None:
    for name in ("LICENSE", "LICENSE.txt", "LICENSE.md"):
        path = folder / name
        if path.is_file():
            head = path.read_text(encoding="utf-8", errors="replace")[:2000]
            if "Apache License" in head and "Version 2.0" in head:
                return "apache-2.0"
            if "MIT License" in head or "Permission is hereby granted, free of charge" in head:
                return "mit"
            return "see-license-file"
    return None


def _provenance_license(folder: Path) -> str | None:
    path = folder / "PROVENANCE.txt"
    if not path.is_file():
        return None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.lower().startswith("license:"):
            return line.split(":", 1)[1].strip() or None
    return None


def model_license(spec: ModelSpec, folder: str | Path | None) -> tuple[str, str]:
    """Find the licence of a model from its local folder, falling back on the recipe.

    Args:
        spec: The recipe's model section (its ``license`` is the fallback).
        folder: The local model folder, when there is one.

    Returns:
        ``(normalised licence, evidence)``.
    """
    if folder is not None and Path(folder).is_dir():
        root = Path(folder)
        for reader, evidence in (
            (lambda: _front_matter_license(root / "README.md"), "README.md front matter"),
            (lambda: _license_file(root), "LICENSE file"),
            (lambda: _provenance_license(root), "PROVENANCE.txt"),
        ):
            found = reader()
            if found:
                return normalize_license(found), evidence
    return normalize_license(spec.license), "recipe"


def _source_notes(path: Path) -> str:
    """Licence section(s) of the SOURCE*.md notes beside a data file (empty if none)."""
    notes = []
    for candidate in sorted(path.parent.glob("SOURCE*.md")):
        stem = candidate.stem.removeprefix("SOURCE").lstrip("_")
        if stem and not path.stem.startswith(stem):
            continue
        notes.append(candidate.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(notes)


def classify_data(source: DataSource, data_root: Path | None) -> DataLicense:
    """Classify one training source as research-only or not.

    Args:
        source: The recipe's data source.
        data_root: The data folder, when present; its ``SOURCE*.md`` notes are read too.

    Returns:
        The source's licence note.
    """
    text = source.license
    evidence = "recipe"
    if data_root is not None:
        file = Path(source.path) if Path(source.path).is_absolute() else data_root / source.path
        notes = _source_notes(file) if file.parent.is_dir() else ""
        if notes:
            text = f"{text}\n{notes}"
            evidence = "recipe + SOURCE.md"
    return DataLicense(
        path=source.path,
        kind=source.kind,
        samples=source.samples,
        license=source.license,
        research_only=bool(_RESEARCH_ONLY.search(text)),
        evidence=evidence,
    )


def check_licenses(
    recipe: Recipe,
    *,
    student_folder: str | Path | None,
    teacher_folder: str | Path | None,
    ship_teacher: bool,
    data_root: Path | None = None,
    allow_override: bool = False,
) -> LicenseReport:
    """Run the licence gate for publishing ``recipe``'s model under ``recipe.card.license``.

    Args:
        recipe: The run's recipe.
        student_folder: Local folder of the student initialisation (licence evidence).
        teacher_folder: Local folder of the teacher (licence evidence).
        ship_teacher: Whether the release redistributes the teacher's weights (``--asym``).
        data_root: The data folder, to read ``SOURCE.md`` notes.
        allow_override: Publish anyway when a component is refused (recorded in the report).

    Returns:
        The report; research-only data does not refuse, it is flagged for the card.

    Raises:
        LicenseError: If a redistributed component is not permissive and no override is given.
    """
    release = normalize_license(recipe.card.license)
    components = []
    for role, spec, folder, shipped in (
        ("student-init", recipe.student, student_folder, True),
        ("teacher", recipe.teacher, teacher_folder, ship_teacher),
    ):
        lic, evidence = model_license(spec, folder)
        if spec.license and normalize_license(spec.license) != lic and evidence != "recipe":
            logger.warning("%s %s: recipe says %s but %s says %s", role, spec.id, spec.license, evidence, lic)
        components.append(
            ComponentLicense(role, spec.id, lic, evidence, redistributed=shipped, permissive=lic in PERMISSIVE_LICENSES)
        )
    refusals = []
    if release not in PERMISSIVE_LICENSES:
        refusals.append(f"release licence {release!r} is not a permissive licence leaf-hub can check")
    refusals += [
        f"{c.role} {c.model_id} is licensed {c.license!r} ({c.evidence}), which does not allow "
        f"redistribution under {release}"
        for c in components
        if c.redistributed and not c.permissive
    ]
    data = [classify_data(s, data_root) for s in recipe.data.sources]
    report = LicenseReport(release, components, data, override=bool(refusals) and allow_override, refusals=refusals)
    if refusals and not allow_override:
        raise LicenseError(f"refusing to publish: {refusals[0]}; pass --allow-license-override to publish anyway")
    if refusals:
        logger.warning("licence override: %s", "; ".join(refusals))
    return report
