"""Model cards rendered from a release's own records.

The card is built in steps, like sentence-transformers' ``model_card.py``, one concept per module:

* :mod:`~leaf_hub.model_card.inputs`: :func:`card_inputs` puts the records the orchestrator hands
  over (recipe, evaluation results, distillation report, licence report, export rows) and the facts
  of the model folders into a frozen :class:`CardInputs`; no module here reads the run folder;
* :mod:`~leaf_hub.model_card.evidence`: :func:`load_evidence`, what leaf-hub's committed reports
  say that a run's records cannot (the tested sentence-transformers versions, the asymmetric noise
  margin);
* :mod:`~leaf_hub.model_card.claims`: :func:`card_claims`, the Highlights and Limitations the
  figures support (and only those), with their margins (:data:`FASTER_MIN_RATIO`);
* :mod:`~leaf_hub.model_card.card_data`: :func:`build_card_data` (the YAML front matter: ``license``,
  ``library_name``, ``base_model``, ``datasets``, ``model-index``...) and the templates' variables;
* :mod:`~leaf_hub.model_card.render`: :func:`render_card` / :func:`render_asym_card` through
  ``huggingface_hub.ModelCard.from_template`` and the Jinja templates of ``model_cards/``.

Every number in a card comes from the records; nothing is typed by hand.

Example:
    >>> recipe, results, report = RunFolder("runs/leaf-ir-mini").load_card_records()  # doctest: +SKIP
    >>> inputs = card_inputs(recipe, results, "runs/leaf-ir-mini/model", report=report)  # doctest: +SKIP
    >>> markdown = render_card(inputs)  # doctest: +SKIP
"""

from leaf_hub.model_card.card_data import DATA_ORIGINS, build_card_data, card_context
from leaf_hub.model_card.claims import (
    FASTER_MIN_RATIO,
    INTERCHANGEABLE_MIN_ALIGNMENT,
    Claims,
    card_claims,
    matryoshka_supported,
    task_type,
)
from leaf_hub.model_card.evidence import Evidence, load_evidence
from leaf_hub.model_card.inputs import CardInputs, card_inputs
from leaf_hub.model_card.render import license_text_path, render_asym_card, render_card, template_path

__all__ = [
    "DATA_ORIGINS",
    "FASTER_MIN_RATIO",
    "INTERCHANGEABLE_MIN_ALIGNMENT",
    "CardInputs",
    "Claims",
    "Evidence",
    "build_card_data",
    "card_claims",
    "card_context",
    "card_inputs",
    "license_text_path",
    "load_evidence",
    "matryoshka_supported",
    "render_asym_card",
    "render_card",
    "task_type",
    "template_path",
]
