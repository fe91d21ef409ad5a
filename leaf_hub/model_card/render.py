"""Render a card: Jinja templates through ``huggingface_hub.ModelCard.from_template``.

:func:`render_card` and :func:`render_asym_card` are pure (they read only the template), so the
YAML front matter is valid Hub metadata. Templates are Jinja files in the repository's
``model_cards/`` folder, shipped in the wheel as ``leaf_hub/_data/model_cards``; ``{% include %}``
lines are inlined first (``from_template`` renders without a loader), and every variable must
exist (an unknown one is a :class:`~leaf_hub.errors.CardError`, not an empty string).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import CardError
from leaf_hub.model_card.card_data import build_card_data, card_context

if TYPE_CHECKING:
    from huggingface_hub import ModelCardData

    from leaf_hub.model_card.inputs import CardInputs

__all__ = ["license_text_path", "render_asym_card", "render_card", "template_path"]


def _template_dirs() -> list[Path]:
    package = Path(__file__).resolve().parents[1]  # leaf_hub/
    return [package.parent / "model_cards", package / "_data" / "model_cards"]


def template_path(name: str) -> Path:
    """Path of a card template (``leaf-ir``, ``leaf-mt``, ``generic`` or ``asym``).

    Raises:
        CardError: If no such template ships with leaf-hub.
    """
    for folder in _template_dirs():
        candidate = folder / f"{name}.md"
        if candidate.is_file():
            return candidate
    raise CardError(f"card template {name!r} not found in {', '.join(str(d) for d in _template_dirs())}")


def license_text_path() -> Path:
    """Path of the Apache-2.0 licence text shipped with leaf-hub (``model_cards/LICENSE-APACHE-2.0``)."""
    for folder in _template_dirs():
        candidate = folder / "LICENSE-APACHE-2.0"
        if candidate.is_file():
            return candidate
    raise CardError("LICENSE-APACHE-2.0 not found in the leaf-hub installation")


_INCLUDE = re.compile(r'^\{%-? include "([A-Za-z0-9_.-]+)" -?%\}\n?', re.MULTILINE)


def _expand_includes(template: Path, depth: int = 0) -> str:
    """Inline ``{% include "name" %}`` lines (``from_template`` renders without a loader)."""
    if depth > 4:
        raise CardError(f"card template {template.name}: includes nested too deeply")

    def _inline(match: re.Match[str]) -> str:
        return _expand_includes(template.parent / match.group(1), depth + 1)

    try:
        return _INCLUDE.sub(_inline, template.read_text(encoding="utf-8"))
    except OSError as e:
        raise CardError(f"card template {template.name}: cannot read ({e.strerror})") from e


def _render(template: Path, card_data: ModelCardData, context: dict[str, Any]) -> str:
    import jinja2
    from huggingface_hub import ModelCard

    source = _expand_includes(template)
    # Check every variable exists first: from_template renders leniently (undefined -> "").
    try:
        jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(source).render(card_data="", **context)
    except jinja2.TemplateError as e:
        raise CardError(f"card template {template.name}: {e}") from e
    card = ModelCard.from_template(card_data, template_str=source, **context)
    return str(card).rstrip() + "\n"


def render_card(inputs: CardInputs) -> str:
    """Render the model card of a run (pure: reads only the template).

    Args:
        inputs: The card inputs (see :func:`leaf_hub.model_card.inputs.card_inputs`).

    Returns:
        The markdown, YAML front matter included.

    Raises:
        CardError: If the template is missing or refers to an unknown value.
    """
    return _render(template_path(inputs.recipe.card.template), build_card_data(inputs), card_context(inputs))


def render_asym_card(inputs: CardInputs) -> str:
    """Render the card of the ``-asym`` companion repo (Router: queries -> student, documents -> teacher).

    Args:
        inputs: The card inputs of the run; ``asym_repo_id`` must be set.

    Returns:
        The markdown.

    Raises:
        CardError: If ``asym_repo_id`` is missing.
    """
    from huggingface_hub import EvalResult, ModelCardData

    if not inputs.asym_repo_id:
        raise CardError("render_asym_card needs inputs.asym_repo_id")
    base = build_card_data(inputs)
    asym_results = [r for r in (base.eval_results or []) if r.metric_config == "asymmetric"]
    data = ModelCardData(
        model_name=inputs.asym_repo_id.split("/")[-1],
        license=base.license,
        library_name="sentence-transformers",
        pipeline_tag=base.pipeline_tag,
        language=base.language,
        tags=[*(base.tags or []), "asymmetric"],
        base_model=[inputs.repo_id, inputs.recipe.teacher.id],
        datasets=base.datasets,
        metrics=base.metrics,
        eval_results=[EvalResult(**{k: v for k, v in vars(r).items() if k in _EVAL_FIELDS}) for r in asym_results]
        or None,
    )
    return _render(template_path("asym"), data, card_context(inputs))


_EVAL_FIELDS = (
    "task_type",
    "dataset_type",
    "dataset_name",
    "metric_type",
    "metric_value",
    "task_name",
    "dataset_config",
    "dataset_split",
    "dataset_revision",
    "dataset_args",
    "metric_name",
    "metric_config",
    "metric_args",
)
