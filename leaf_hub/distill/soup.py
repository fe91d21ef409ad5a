"""Model soups: average the weights of compatible students into one stock model (KaLM-Embedding-V2).

KaLM-Embedding-V2 ends its training with model-soup parameter averaging for robust
generalisation (Wortsman et al., 2022). For leaf students the ingredients are checkpoints of one
run, or runs of one recipe with different seeds / data orders: every ingredient starts from the
same initialisation (the init encoder and a ridge-fitted projection), which is what makes their
weights averageable.

* :func:`uniform_soup`: the plain mean of every member's parameters;
* :func:`greedy_soup`: members sorted by their held-out score, each added to the soup only if the
  soup's held-out score goes *up* (Wortsman et al.'s greedy soup), so the result never scores
  below its best member;
* :func:`soup`: the command-line entry point over run folders / model folders / checkpoints. The
  held-out score is the LEAF alignment (mean cosine to the teacher's vectors) on the runs'
  held-out texts that no member trained on; the teacher's vectors come from the teacher cache
  that ``leaf-hub distill`` filled.

The result is saved with :func:`leaf_hub.models.portable.save_portable`: a normal model folder
that stock sentence-transformers loads.

Example:
    >>> report = soup(["runs/a", "runs/b", "runs/c"], "runs/soup/model", greedy=True)  # doctest: +SKIP
    >>> report.score >= max(m.score for m in report.members)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from leaf_hub.errors import ModelFolderError, RecipeError, RunFolderError
from leaf_hub.run_folder import RunFolder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from leaf_hub.encoders import TextKind
    from leaf_hub.recipe import Recipe

logger = logging.getLogger(__name__)

__all__ = [
    "MODEL_SOUP_CITATION",
    "SoupMember",
    "SoupReport",
    "Validation",
    "average_models",
    "greedy_soup",
    "resolve_members",
    "soup",
    "uniform_soup",
    "validation_from_runs",
]

MODEL_SOUP_CITATION = """@inproceedings{wortsman2022modelsoups,
    title={Model soups: averaging weights of multiple fine-tuned models improves accuracy without increasing
        inference time},
    author={Mitchell Wortsman and Gabriel Ilharco and Samir Yitzhak Gadre and Rebecca Roelofs and
        Raphael Gontijo-Lopes and Ari S. Morcos and Hongseok Namkoong and Ali Farhadi and Yair Carmon and
        Simon Kornblith and Ludwig Schmidt},
    booktitle={Proceedings of the 39th International Conference on Machine Learning},
    year={2022},
    url={https://arxiv.org/abs/2203.05482}
}"""


@dataclass
class SoupMember:
    """One ingredient of a soup.

    Attributes:
        source: The path given for it.
        model_path: The model folder actually loaded.
        score: Its held-out score (``None`` when no held-out texts were available).
        used: Whether it is part of the final soup.
    """

    source: str
    model_path: str
    score: float | None = None
    used: bool = True


@dataclass
class SoupReport:
    """What :func:`soup` did.

    Attributes:
        method: ``uniform`` or ``greedy``.
        output: The saved model folder.
        members: Every ingredient, in the order given.
        score: Held-out score of the soup (``None`` without held-out texts).
        n_validation: Held-out texts scored on.
        seconds: Wall time.
        history: Greedy steps: ``{"candidate", "score", "accepted"}`` in the order tried.
    """

    method: Literal["uniform", "greedy"]
    output: str
    members: list[SoupMember]
    score: float | None = None
    n_validation: int = 0
    seconds: float = 0.0
    history: list[dict[str, object]] = field(default_factory=list)

    def to_json(self) -> str:
        """Serialise as pretty JSON."""
        return json.dumps(asdict(self), indent=2)


@dataclass
class Validation:
    """Held-out texts (prompts applied) and the teacher's vectors of them.

    Attributes:
        texts: Texts as the student sees them.
        targets: ``(n, dim)`` teacher vectors.
    """

    texts: list[str]
    targets: np.ndarray

    def score(self, model: SentenceTransformer) -> float:
        """Mean cosine between ``model``'s vectors and the teacher's (LEAF's alignment)."""
        from leaf_hub.distill.alignment import mean_alignment

        return mean_alignment(model, self.texts, self.targets)


# ---------------------------------------------------------------------------------------------
# averaging loaded models
# ---------------------------------------------------------------------------------------------


def _check_compatible(models: Sequence[SentenceTransformer], names: Sequence[str]) -> None:
    first = models[0]
    layout = [type(m).__name__ for m in first]
    shapes = {k: tuple(v.shape) for k, v in first.state_dict().items()}
    for model, name in zip(models[1:], names[1:], strict=True):
        other = [type(m).__name__ for m in model]
        if other != layout:
            raise ModelFolderError(f"cannot average {name}: modules {other} differ from {layout} of {names[0]}")
        state = model.state_dict()
        if set(state) != set(shapes):
            missing = sorted(set(shapes) ^ set(state))[0]
            raise ModelFolderError(f"cannot average {name}: parameter {missing} is not in every member")
        for key, value in state.items():
            if tuple(value.shape) != shapes[key]:
                raise ModelFolderError(
                    f"cannot average {name}: {key} has shape {tuple(value.shape)}, {names[0]} has {shapes[key]}"
                )
        if dict(model.prompts) != dict(first.prompts):
            raise ModelFolderError(f"cannot average {name}: its prompts {model.prompts} differ from {names[0]}'s")


def average_models(
    models: Sequence[SentenceTransformer], weights: Sequence[float] | None = None, *, names: Sequence[str] = ()
) -> SentenceTransformer:
    """Return a new model whose parameters are the (weighted) mean of ``models``' parameters.

    Floating-point parameters and buffers are averaged; integer buffers (token position ids)
    must agree and are copied from the first model, as are the configuration and prompts.

    Args:
        models: Compatible models (same modules, parameter names and shapes, prompts).
        weights: Mixing weights (default uniform); normalised to sum 1.
        names: Labels of the models for error messages.

    Returns:
        A new model; the inputs are not modified.

    Raises:
        ModelFolderError: If the models cannot be averaged (different architectures or prompts).
    """
    import copy

    import torch

    if not models:
        raise ModelFolderError("a soup needs at least one model")
    labels = list(names) or [f"model {i}" for i in range(len(models))]
    _check_compatible(models, labels)
    mix = np.full(len(models), 1.0 / len(models)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(mix) != len(models) or not (mix >= 0).all() or mix.sum() <= 0:
        raise ValueError(f"weights must be {len(models)} non-negative numbers with a positive sum")
    mix = mix / mix.sum()
    states = [m.state_dict() for m in models]
    merged: dict[str, torch.Tensor] = {}
    for key, value in states[0].items():
        if value.is_floating_point():
            total = torch.zeros_like(value, dtype=torch.float64)
            for w, state in zip(mix, states, strict=True):
                total += float(w) * state[key].detach().to(torch.float64)
            merged[key] = total.to(value.dtype)
        else:
            for state, label in zip(states[1:], labels[1:], strict=True):
                if not torch.equal(state[key], value):
                    raise ModelFolderError(f"cannot average {label}: non-float buffer {key} differs")
            merged[key] = value.clone()
    souped = copy.deepcopy(models[0])
    souped.load_state_dict(merged)
    return souped


def uniform_soup(models: Sequence[SentenceTransformer], *, names: Sequence[str] = ()) -> SentenceTransformer:
    """The uniform soup: every member's parameters averaged with equal weight."""
    return average_models(models, names=names)


def greedy_soup(
    models: Sequence[SentenceTransformer],
    score: Callable[[SentenceTransformer], float],
    *,
    names: Sequence[str] = (),
    member_scores: Sequence[float] | None = None,
) -> tuple[SentenceTransformer, list[int], float, list[dict[str, object]]]:
    """Wortsman et al.'s greedy soup: add members best-first, keep one only if the score improves.

    The soup starts as the best-scoring member; each next member (by decreasing score) is mixed in
    (uniform average of the kept members plus the candidate) and kept only if the soup's score
    strictly increases. The result therefore never scores below its best member.

    Args:
        models: Compatible models.
        score: Held-out score of a model (higher is better), e.g. :meth:`Validation.score`.
        names: Labels for messages and the history.
        member_scores: Already computed ``score`` of each model (computed when ``None``).

    Returns:
        ``(soup, kept indices in the order added, soup score, history)``.

    Raises:
        ModelFolderError: If the models cannot be averaged.
    """
    labels = list(names) or [f"model {i}" for i in range(len(models))]
    _check_compatible(models, labels)
    scores = list(member_scores) if member_scores is not None else [score(m) for m in models]
    order = sorted(range(len(models)), key=lambda i: -scores[i])
    kept = [order[0]]
    best = models[order[0]]
    best_score = scores[order[0]]
    history: list[dict[str, object]] = [{"candidate": labels[order[0]], "score": best_score, "accepted": True}]
    for index in order[1:]:
        trial = average_models([models[i] for i in [*kept, index]], names=[labels[i] for i in [*kept, index]])
        trial_score = score(trial)
        accepted = trial_score > best_score
        history.append({"candidate": labels[index], "score": trial_score, "accepted": accepted})
        logger.info(
            "greedy soup: + %s -> %.5f (%s %.5f)",
            labels[index],
            trial_score,
            "kept, was" if accepted else "dropped, stays",
            best_score,
        )
        if accepted:
            kept.append(index)
            best, best_score = trial, trial_score
    if len(kept) == 1:
        import copy

        best = copy.deepcopy(best)  # never hand back the caller's own model
    return best, kept, best_score, history


# ---------------------------------------------------------------------------------------------
# run folders -> models and held-out texts
# ---------------------------------------------------------------------------------------------


def _run_dir_of(path: Path) -> Path | None:
    for folder in (path, *list(path.parents)[:3]):
        if RunFolder(folder).is_run():
            return folder
    return None


def resolve_members(sources: Sequence[str | Path], *, checkpoints: bool = False) -> list[tuple[str, Path, Path | None]]:
    """Resolve each source to ``(label, model folder, run folder or None)``.

    A source is a run folder (its ``model/``), a model folder, or a training checkpoint
    (``runs/x/checkpoints/checkpoint-50``); the run folder is found from a model or checkpoint
    folder inside it.

    Args:
        sources: Paths given on the command line.
        checkpoints: Also take every complete checkpoint of each run folder given.

    Returns:
        One entry per ingredient.

    Raises:
        ModelFolderError: If a source is neither a run folder nor a model folder.
    """
    members: list[tuple[str, Path, Path | None]] = []
    for source in sources:
        path = Path(source).expanduser()
        run = RunFolder(path)
        if run.is_run() and run.has_model():
            members.append((str(source), run.model_dir, path))
            if checkpoints:
                found = sorted(
                    (p for p in run.checkpoints_dir.glob("checkpoint-*") if (p / "modules.json").is_file()),
                    key=lambda p: int(p.name.rsplit("-", 1)[-1]) if p.name.rsplit("-", 1)[-1].isdigit() else -1,
                )
                members += [(str(p), p, path) for p in found]
        elif (path / "modules.json").is_file():
            members.append((str(source), path, _run_dir_of(path.resolve())))
        else:
            raise ModelFolderError(
                f"not a run folder (recipe.yaml + model/) nor a sentence-transformers model folder: {source}"
            )
    if not members:
        raise ModelFolderError("a soup needs at least one run or model folder")
    return members


def _read_recipe(run_dir: Path) -> Recipe:
    try:
        return RunFolder(run_dir).load_recipe()
    except RunFolderError as e:
        raise RecipeError(str(e)) from e


def validation_from_runs(run_dirs: Sequence[Path], *, limit: int | None = None) -> Validation:
    """Held-out texts of the runs that no run trained on, with the teacher's vectors of them.

    Each run's recipe gives its held-out and training texts (:func:`leaf_hub.distill.texts.load_texts`
    with its seed); runs with different seeds hold out different texts, so a text enters the
    validation set only if it is in some run's held-out set and in no run's training set.

    Args:
        run_dirs: Run folders written by ``leaf-hub distill`` (one teacher and prompts for all).
        limit: Keep at most this many texts.

    Returns:
        The validation texts (student prompts applied) and teacher vectors.

    Raises:
        RecipeError: If the runs have different teachers or student prompts, or no text is left.
    """
    from leaf_hub.distill.texts import load_texts
    from leaf_hub.encoders import EmbeddingCache, SentenceTransformerTeacher, teacher_cache_root

    recipes = [_read_recipe(d) for d in dict.fromkeys(run_dirs)]
    first = recipes[0]
    for recipe, run_dir in zip(recipes[1:], list(dict.fromkeys(run_dirs))[1:], strict=True):
        if recipe.fingerprint("teacher") != first.fingerprint("teacher"):
            raise RecipeError(f"{run_dir}: its teacher differs from {run_dirs[0]}'s; a soup needs one teacher")
        if (recipe.student.query_prompt, recipe.student.document_prompt) != (
            first.student.query_prompt,
            first.student.document_prompt,
        ):
            raise RecipeError(f"{run_dir}: its student prompts differ from {run_dirs[0]}'s")
    held: dict[tuple[str, TextKind], None] = {}
    trained: set[tuple[str, TextKind]] = set()
    for recipe in recipes:
        texts = load_texts(recipe.data, recipe.training.seed)
        held.update(dict.fromkeys(texts.heldout))
        trained.update(texts.train)
    unseen = [p for p in held if p not in trained]
    if not unseen:
        raise RecipeError("no held-out text is left that none of the runs trained on")
    pairs = unseen[:limit]
    logger.info(
        "soup validation: %d held-out texts (%d left out: trained on by some run)", len(pairs), len(held) - len(unseen)
    )
    teacher = SentenceTransformerTeacher.from_spec(first.teacher)
    cache = EmbeddingCache(teacher, teacher_cache_root(teacher.fingerprint))
    targets = np.zeros((len(pairs), teacher.dim), dtype=np.float32)
    prompts = {"query": first.student.query_prompt, "document": first.student.document_prompt}
    for kind in ("query", "document"):
        positions = [i for i, (_, k) in enumerate(pairs) if k == kind]
        if positions:
            targets[positions] = cache.embed([pairs[i][0] for i in positions], kind=kind, progress=False)
    return Validation([prompts[k] + t for t, k in pairs], targets)


def soup(
    sources: Sequence[str | Path],
    output: str | Path,
    *,
    greedy: bool = False,
    checkpoints: bool = False,
    validation: Validation | None = None,
    validation_limit: int | None = 1000,
    device: str | None = None,
) -> SoupReport:
    """Average run folders / model folders / checkpoints into one portable model folder.

    Args:
        sources: Run folders, model folders or checkpoint folders (at least one).
        output: The model folder to write (replaced if it exists).
        greedy: Greedy soup (needs held-out texts) instead of the uniform one.
        checkpoints: Also use every complete checkpoint of each run folder.
        validation: Held-out texts and teacher vectors to score with (default: from the runs'
            recipes, when every source belongs to a run).
        validation_limit: At most this many held-out texts.
        device: Torch device of the models.

    Returns:
        What was averaged and how it scored.

    Raises:
        ModelFolderError: If a source is not a model, the models cannot be averaged, or a greedy
            soup has no held-out texts to score with.
        RecipeError: If the runs' recipes disagree on the teacher or prompts.
    """
    start = time.perf_counter()
    resolved = resolve_members(sources, checkpoints=checkpoints)
    runs = [run for _, _, run in resolved]
    if greedy and validation is None and not all(run is not None for run in runs):
        raise ModelFolderError(
            "a greedy soup needs held-out texts to score members: give run folders (with recipe.yaml), "
            "or model folders inside run folders"
        )
    from sentence_transformers import SentenceTransformer

    from leaf_hub.models.portable import save_portable

    if validation is None and all(run is not None for run in runs):
        validation = validation_from_runs([r for r in runs if r is not None], limit=validation_limit)
    labels = [label for label, _, _ in resolved]
    models = []
    for label, path, _ in resolved:
        try:
            models.append(SentenceTransformer(str(path), device=device))
        except (OSError, ValueError, KeyError) as e:
            raise ModelFolderError(f"cannot load {label} as a sentence-transformers model: {e}") from e
    members = [SoupMember(source=label, model_path=str(path)) for label, path, _ in resolved]
    scores = [validation.score(m) for m in models] if validation is not None else None
    history: list[dict[str, object]] = []
    if greedy:
        assert validation is not None and scores is not None
        souped, kept, soup_score, history = greedy_soup(models, validation.score, names=labels, member_scores=scores)
        for i, member in enumerate(members):
            member.used = i in kept
    else:
        souped = uniform_soup(models, names=labels)
        soup_score = validation.score(souped) if validation is not None else None
    for member, value in zip(members, scores or [None] * len(members), strict=True):
        member.score = value
    out = save_portable(souped, output)
    report = SoupReport(
        method="greedy" if greedy else "uniform",
        output=str(out),
        members=members,
        score=soup_score,
        n_validation=len(validation.texts) if validation is not None else 0,
        seconds=round(time.perf_counter() - start, 3),
        history=history,
    )
    logger.info("%s soup of %d/%d members -> %s", report.method, sum(m.used for m in members), len(members), out)
    return report
