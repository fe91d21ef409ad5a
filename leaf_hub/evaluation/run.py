"""Evaluate a student (and its teacher) on mteb tasks: one ``mteb.evaluate`` run per task and mode.

Two levels, as in model2vec: :func:`evaluate_models` takes a student folder and an already-built
teacher and does the work; :func:`evaluate_run` (a ``runs/<name>`` folder with its
``recipe.yaml``) and :func:`evaluate_model_folder` (a bare sentence-transformers folder) resolve
what to evaluate and call it.

Per task and mode, one ``mteb.evaluate`` run with a :class:`~leaf_hub.evaluation.encoders.RoutedEncoder`:

* ``student`` / ``teacher``: the model encodes queries and documents (symmetric);
* ``asymmetric``: the student encodes queries, the teacher documents (for STS: the student the
  first sentence of each pair, the teacher the second);
* ``init``: the student's initialisation as published (``recipe.student``, e.g. all-MiniLM-L6-v2)
  encodes queries and documents with its own stored prompts, at the student's token limit: the
  model distillation started from, so a card can show what distillation gained or lost. Its
  vectors are cached like the student's (keyed by its fingerprint).

Optionally (``speed_texts``), a dedicated uncached timing of student and teacher on the same
texts (:mod:`leaf_hub.evaluation.speed`), the only source of a card's speed claim.

Then the Matryoshka x quantisation sweep (:mod:`leaf_hub.evaluation.sweep`) on the same cached
vectors, and the files: ``results.json`` (schema in :mod:`leaf_hub.records.evaluation`),
``mteb/<mode>/<Task>.json`` (mteb's ``TaskResult``) and ``sweep.png``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from leaf_hub.assets import data_root as resolve_data_root
from leaf_hub.assets import leaf_hub_home, model_fingerprint, require_model_folder
from leaf_hub.errors import EvalError, ModelFolderError
from leaf_hub.hashing import atomic_write
from leaf_hub.precision import EVALUATION_PRECISION
from leaf_hub.recipe import EvalSpec
from leaf_hub.records import EvalResults, ScoreRecord, SweepRecord

if TYPE_CHECKING:
    from leaf_hub.encoders import Teacher
    from leaf_hub.evaluation.encoders import EmbeddingSource
    from leaf_hub.recipe import Recipe
    from leaf_hub.run_folder import RunFolder

logger = logging.getLogger(__name__)

__all__ = [
    "EVAL_MODES",
    "eval_settings",
    "evaluate_model_folder",
    "evaluate_models",
    "evaluate_run",
    "load_init",
    "saved_prompt_table",
    "saved_prompts",
    "student_cache_root",
]

EVAL_MODES = ("student", "teacher", "asymmetric", "init")
#: Modes that need the teacher.
_TEACHER_MODES = ("teacher", "asymmetric")


def eval_settings(base: EvalSpec | None = None, **overrides: Any) -> EvalSpec:
    """Return ``base`` (or the defaults) with the non-``None`` ``overrides`` applied, validated.

    Args:
        base: Settings to start from (a recipe's ``evaluation`` section).
        overrides: ``EvalSpec`` fields, e.g. ``tasks=["SciFact"]``, ``corpus_limit=600``.

    Returns:
        The validated settings.

    Raises:
        EvalError: On an unknown task or mode, or any other invalid value.
    """
    data = (base or EvalSpec()).model_dump()
    if overrides.get("tasks"):
        from leaf_hub.task_meta import resolve_task_names

        resolve_task_names(overrides["tasks"])
    for mode in overrides.get("modes") or []:
        if mode not in EVAL_MODES:
            raise EvalError(f"unknown mode {mode!r}; known: {', '.join(EVAL_MODES)}")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return EvalSpec.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise EvalError(f"evaluation.{loc}: {first['msg'].removeprefix('Value error, ')}") from e


def student_cache_root(fingerprint: str) -> Path:
    """On-disk cache of a student's vectors: ``$LEAF_HUB_HOME/eval_cache/<fingerprint[:16]>``."""
    return leaf_hub_home() / "eval_cache" / fingerprint[:16]


def saved_prompt_table(folder: Path) -> dict[str, str]:
    """Every prompt saved in a sentence-transformers folder (``{}`` if none)."""
    config = folder / "config_sentence_transformers.json"
    try:
        prompts = json.loads(config.read_text(encoding="utf-8")).get("prompts") or {}
    except (OSError, ValueError):
        prompts = {}
    return {str(k): str(v or "") for k, v in prompts.items()} if isinstance(prompts, dict) else {}


def saved_prompts(folder: Path) -> tuple[str, str]:
    """The ``query``/``document`` prompts saved in a sentence-transformers folder (empty if none)."""
    prompts = saved_prompt_table(folder)
    return prompts.get("query", ""), prompts.get("document", "")


def _load_student(
    folder: Path, prompts: tuple[str, str] | None, max_seq_length: int | None, batch_size: int
) -> Teacher:
    from leaf_hub.encoders import SentenceTransformerTeacher

    table = saved_prompt_table(folder)
    query_prompt, document_prompt = (
        prompts if prompts is not None else (table.get("query", ""), table.get("document", ""))
    )
    task_prompts = {k: v for k, v in table.items() if k not in ("query", "document")}
    try:
        return SentenceTransformerTeacher(
            folder,
            query_prompt=query_prompt,
            document_prompt=document_prompt,
            normalize=True,
            batch_size=batch_size,
            max_seq_length=max_seq_length,
            task_prompts=task_prompts,
        )
    except (OSError, ValueError, KeyError) as e:
        raise ModelFolderError(f"cannot load {folder} as a sentence-transformers model: {e}") from e


@contextlib.contextmanager
def _pairs_split_between_models(task: Any, enabled: bool) -> Iterator[None]:
    """For asymmetric STS, send the first sentence of each pair to the query side, the second to documents."""
    if not enabled or task.metadata.type not in ("STS", "PairClassification"):
        yield
        return
    from mteb.types import PromptType

    task.input1_prompt_type, task.input2_prompt_type = PromptType.query, PromptType.document
    try:
        yield
    finally:
        task.input1_prompt_type = task.input2_prompt_type = None


def evaluate_models(
    student_path: str | Path,
    *,
    output_dir: str | Path,
    teacher: Teacher | None = None,
    teacher_id: str | None = None,
    settings: EvalSpec | None = None,
    data_root: str | Path | None = None,
    student_prompts: tuple[str, str] | None = None,
    student_max_seq_length: int | None = None,
    sweep: bool = True,
    progress: bool = True,
    drop_unmatched_asymmetric: bool = False,
    init: Teacher | None = None,
    speed_texts: int = 0,
    speed_repeats: int = 5,
) -> EvalResults:
    """Evaluate a student folder (and optionally its teacher) and write the result files.

    Args:
        student_path: A sentence-transformers folder.
        output_dir: Where ``results.json``, ``mteb/`` and ``sweep.png`` go.
        teacher: The teacher (any :class:`~leaf_hub.encoders.Teacher`); needed for the
            ``teacher`` and ``asymmetric`` modes and the teacher half of the sweep.
        teacher_id: Name recorded for the teacher (Hub id).
        settings: Tasks, modes, split, limits, sweep (default: :class:`~leaf_hub.recipe.EvalSpec`).
        data_root: Data folder (``None``: ``$LEAF_HUB_DATA`` or ``../shared/data``).
        student_prompts: ``(query, document)`` prompts (``None``: the folder's own).
        student_max_seq_length: Token limit of the student (``None``: the folder's own).
        sweep: Run the Matryoshka x quantisation sweep.
        progress: Show encoding progress bars.
        drop_unmatched_asymmetric: When student and teacher dimensions differ (a student without
            a projection), leave the ``asymmetric`` mode out with a warning instead of failing.
        init: The student's initialisation (needed for the ``init`` mode), loaded with its own
            prompts (see :func:`load_init`).
        speed_texts: When > 0 (and a teacher is given), time student and teacher uncached on up to
            this many query texts of the first task (:func:`~leaf_hub.evaluation.speed.time_models`)
            and record it as ``speed``.
        speed_repeats: Interleaved repeats of that timing (at least 5).

    Returns:
        The results, also written to ``output_dir/results.json``.

    Raises:
        AssetError: If the data folder or a data file is missing.
        ModelFolderError: If ``student_path`` is not a sentence-transformers folder.
        EvalError: If a mode needs a teacher or init model that was not given, or dimensions do not match.

    Example:
        >>> res = evaluate_models("runs/x/model", output_dir="runs/x/eval", teacher=t)  # doctest: +SKIP
        >>> res.score("SciFact", "asymmetric")  # doctest: +SKIP
        0.61
    """
    import datasets
    import mteb

    # mteb re-standardises the corpus on every sweep point: one datasets bar each would bury the
    # progress that matters (encoding, with rate and ETA).
    datasets.disable_progress_bars()

    from leaf_hub.evaluation.tasks import get_tasks

    start = time.perf_counter()
    settings = settings or EvalSpec()
    student_folder = require_model_folder(student_path)
    root = resolve_data_root(data_root)
    modes = list(dict.fromkeys(settings.modes))
    _require_models(modes, teacher=teacher, init=init)
    out = Path(output_dir)

    # Data first: a missing or malformed file fails before any model loads.
    tasks = get_tasks(
        list(dict.fromkeys(settings.tasks)),
        local=settings.local,
        data_root=root,
        split=settings.split,
        corpus_limit=settings.corpus_limit,
        query_limit=settings.query_limit,
    )
    for task in tasks:
        task.load_data()

    student = _load_student(student_folder, student_prompts, student_max_seq_length, settings.batch_size)
    fingerprint = model_fingerprint(student_folder)
    sources = _embedding_sources(student, teacher, init, modes, progress, drop_unmatched_asymmetric)

    # Results of an earlier evaluation in the same folder must not outlive it.
    shutil.rmtree(out / "mteb", ignore_errors=True)
    (out / "sweep.png").unlink(missing_ok=True)

    scores: list[ScoreRecord] = []
    for task in tasks:
        for mode in modes:
            name = f"leaf-hub/{student_folder.name}-{mode}"
            row = _score(task, mode, sources, out / "mteb" / mode, name, fingerprint[:16], settings.batch_size)
            if row is not None:
                scores.append(row)

    speed = None
    if speed_texts > 0 and teacher is not None and tasks:
        speed = _time_speed(tasks[0], student, teacher, speed_texts, speed_repeats, settings.batch_size)

    sweep_rows: list[SweepRecord] = []
    plot_name: str | None = None
    if sweep and settings.sweep_precisions:
        title = f"{student_folder.name}" + (f" vs teacher {teacher_id}" if teacher_id else "")
        sweep_rows, plot_name = _sweep(tasks, sources, settings, out / "sweep.png", title)

    teacher_source = sources.get("teacher")
    results = EvalResults(
        model_path=str(student_folder),
        model_fingerprint=fingerprint,
        teacher=teacher_id,
        teacher_path=getattr(teacher, "source", None),
        mteb_version=mteb.__version__,
        data_root=str(root),
        split=settings.split,
        corpus_limit=settings.corpus_limit,
        query_limit=settings.query_limit,
        scores=scores,
        sweep=sweep_rows,
        plot=plot_name,
        wall_seconds=round(time.perf_counter() - start, 3),
        teacher_corpus_cache_hits=teacher_source.disk_hits["document"] if teacher_source else 0,
        texts_encoded={name: source.texts_encoded for name, source in sources.items()},
        speed=speed,
        precision=EVALUATION_PRECISION,
    )
    atomic_write(out / "results.json", results.to_json())
    return results


#: mode -> (the source that encodes queries, the source that encodes documents)
_ROUTES = {
    "student": ("student", "student"),
    "teacher": ("teacher", "teacher"),
    "asymmetric": ("student", "teacher"),
    "init": ("init", "init"),
}


def _require_models(modes: list[str], *, teacher: Teacher | None, init: Teacher | None) -> None:
    """Refuse modes whose model was not given, before anything loads."""
    needy = [m for m in modes if m in _TEACHER_MODES]
    if "init" in modes and init is None:
        raise EvalError("mode init needs the student's initialisation model; none was given")
    if teacher is None and needy:
        one = len(needy) == 1
        raise EvalError(
            f"{'mode' if one else 'modes'} {', '.join(needy)} need{'s' if one else ''} a teacher model; none was given"
        )


def _embedding_sources(
    student: Teacher,
    teacher: Teacher | None,
    init: Teacher | None,
    modes: list[str],
    progress: bool,
    drop_unmatched_asymmetric: bool,
) -> dict[str, EmbeddingSource]:
    """One cached :class:`EmbeddingSource` per model; drops ``asymmetric`` from ``modes`` if allowed and needed."""
    from leaf_hub.encoders import EmbeddingCache, teacher_cache_root
    from leaf_hub.evaluation.encoders import EmbeddingSource

    sources: dict[str, EmbeddingSource] = {
        "student": EmbeddingSource(
            "student",
            EmbeddingCache(student, student_cache_root(student.fingerprint), label="student"),
            progress=progress,
        )
    }
    if teacher is not None:
        sources["teacher"] = EmbeddingSource(
            "teacher", EmbeddingCache(teacher, teacher_cache_root(teacher.fingerprint)), progress=progress
        )
        if "asymmetric" in modes and sources["teacher"].dim != sources["student"].dim:
            why = f"the student gives {sources['student'].dim}-d vectors, the teacher {sources['teacher'].dim}-d"
            if not drop_unmatched_asymmetric:
                raise EvalError(f"asymmetric mode needs equal dimensions: {why}")
            logger.warning("leaving out the asymmetric mode: %s", why)
            modes.remove("asymmetric")
    if init is not None and "init" in modes:
        sources["init"] = EmbeddingSource(
            "init", EmbeddingCache(init, student_cache_root(init.fingerprint), label="init"), progress=progress
        )
    return sources


def _score(
    task: Any,
    mode: str,
    sources: dict[str, EmbeddingSource],
    out: Path,
    name: str,
    revision: str,
    batch_size: int,
) -> ScoreRecord | None:
    """Run mteb on one task in one mode; write mteb's result files into ``out``; ``None`` if the mode does not apply."""
    from leaf_hub.evaluation.encoders import RoutedEncoder
    from leaf_hub.evaluation.run_settings import write_run_settings
    from leaf_hub.evaluation.tasks import has_two_sides, run_task, task_split

    task_name = task.metadata.name
    if mode == "asymmetric" and not has_two_sides(task):
        logger.info("%s: a %s task has no query/document sides; no asymmetric score", task_name, task.metadata.type)
        return None
    split = task_split(task)
    info = task.sample_info[split]
    query_side, doc_side = _ROUTES[mode]
    encoder = RoutedEncoder(sources[query_side], sources[doc_side], name=name, revision=revision)
    tick = time.perf_counter()
    with _pairs_split_between_models(task, mode == "asymmetric"):
        task_result = run_task(encoder, task, batch_size)
    seconds = time.perf_counter() - tick
    out.mkdir(parents=True, exist_ok=True)
    task_result.to_disk(out / f"{task_name}.json")
    write_run_settings(task_result, out, {"batch_size": batch_size})
    score = float(task_result.get_score(splits=[split]))
    logger.info("%s %s: %s = %.4f (%.1f s)", task_name, mode, task.metadata.main_score, score, seconds)
    return ScoreRecord(
        task=task_name,
        mode=mode,
        split=split,
        main_metric=task.metadata.main_score,
        main_score=score,
        subsampled=info.subsampled,
        n_queries=info.n_queries,
        n_docs=info.n_docs,
        seconds=round(seconds, 3),
        dataset=task.metadata.dataset["path"],
        dataset_revision=task.metadata.dataset["revision"],
        task_type=task.metadata.type,
        data_path=info.data_path,
        data_sha256=info.data_sha256,
    )


def _time_speed(task: Any, student: Teacher, teacher: Teacher, n_texts: int, repeats: int, batch_size: int) -> Any:
    """Uncached, interleaved timing of student and teacher on up to ``n_texts`` queries of ``task``."""
    from leaf_hub.evaluation.speed import speed_texts as pick_speed_texts
    from leaf_hub.evaluation.speed import time_models
    from leaf_hub.evaluation.tasks import task_split

    texts, what = pick_speed_texts(task, task_split(task), n_texts)
    speed = time_models(
        {"student": student, "teacher": teacher},
        texts,
        kind="query",
        repeats=repeats,
        source=what,
        batch_size=batch_size,
    )
    logger.info("speed: %s", speed.seconds)
    return speed


def _sweep(
    tasks: list[Any], sources: dict[str, EmbeddingSource], settings: EvalSpec, plot: Path, title: str
) -> tuple[list[SweepRecord], str]:
    """The Matryoshka x quantisation sweep of student and teacher on every task, and its plot."""
    from leaf_hub.evaluation.sweep import plot_sweep, sweep_task
    from leaf_hub.evaluation.tasks import task_split

    swept = {k: v for k, v in sources.items() if k in ("student", "teacher")}
    rows: list[SweepRecord] = []
    for task in tasks:
        rows += sweep_task(
            task,
            swept,
            split=task_split(task),
            dims=settings.sweep_dims,
            precisions=settings.sweep_precisions,
            batch_size=settings.batch_size,
        )
    return rows, plot_sweep(rows, plot, title=title).name


def evaluate_run(
    recipe: Recipe,
    run: RunFolder,
    *,
    tasks: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
    corpus_limit: int | None = None,
    query_limit: int | None = None,
    data_root: str | Path | None = None,
    output_dir: str | Path | None = None,
    sweep: bool = True,
    progress: bool = True,
    speed_texts: int = 0,
) -> EvalResults:
    """Evaluate ``run``'s model with the teacher, prompts, tasks and limits of a recipe.

    The orchestrator hands over the recipe it runs; ``leaf-hub evaluate`` the one the run folder
    recorded. After a full evaluation into the run's own ``eval/``, the recipe is recorded in the
    run folder: the results and the recipe beside them always agree.

    Args:
        recipe: The recipe to evaluate with.
        run: A run folder written by ``leaf-hub distill``.
        tasks: Override the recipe's tasks.
        modes: Override the recipe's modes.
        corpus_limit: Override the recipe's corpus sub-sample size (``0``: full corpus).
        query_limit: Override the recipe's query / STS pair limit (``0``: all).
        data_root: Data folder (default: the recipe's ``data.root``, then the usual lookup).
        output_dir: Where results go (default the run's ``eval/``).
        sweep: Run the sweep.
        progress: Show progress bars.
        speed_texts: Time student and teacher uncached on this many query texts (``0``: the
            recipe's ``evaluation.speed_texts``).

    Returns:
        The results (also written to disk).

    Raises:
        ModelFolderError: If the run's ``model/`` is not a sentence-transformers folder.
        EvalError: On an unknown task or mode.
    """
    from leaf_hub.encoders import evaluation_teacher

    folder = run
    model = require_model_folder(folder.model_dir)
    base = recipe.evaluation
    if corpus_limit == 0 or query_limit == 0:
        unset = {k: None for k, v in (("corpus_limit", corpus_limit), ("query_limit", query_limit)) if v == 0}
        base = base.model_copy(update=unset)
    settings = eval_settings(
        base,
        tasks=list(tasks) if tasks else None,
        modes=list(modes) if modes else None,
        corpus_limit=corpus_limit or None,
        query_limit=query_limit or None,
    )
    speed_texts = speed_texts or settings.speed_texts
    root = resolve_data_root(data_root if data_root is not None else recipe.data.root)
    _check_tasks(settings, root)
    teacher = None
    if any(m in _TEACHER_MODES for m in settings.modes) or sweep or speed_texts:
        teacher, why_not = evaluation_teacher(recipe.teacher)
        if teacher is None:  # a black box that cannot encode new texts
            logger.warning("skipping the teacher and asymmetric modes: %s", why_not)
            kept = [m for m in settings.modes if m not in _TEACHER_MODES] or ["student"]
            settings = settings.model_copy(update={"modes": kept})
    init = None
    if "init" in settings.modes:
        init = load_init(recipe, settings.batch_size)
    results = evaluate_models(
        model,
        output_dir=output_dir or folder.eval_dir,
        teacher=teacher,
        teacher_id=recipe.teacher.id,
        settings=settings,
        data_root=root,
        student_prompts=(recipe.student.query_prompt, recipe.student.document_prompt),
        student_max_seq_length=recipe.student.max_seq_length,
        sweep=sweep,
        progress=progress,
        init=init,
        speed_texts=speed_texts,
    )
    overridden = any(x is not None for x in (tasks, modes, corpus_limit, query_limit, data_root)) or not sweep
    if output_dir is None and not overridden:
        folder.save_recipe(recipe)  # the results beside it were made with this recipe
    return results


def load_init(recipe: Recipe, batch_size: int = 32) -> Teacher:
    """The student's initialisation (``recipe.student``) as published, with its own stored prompts.

    It keeps the prompts saved in its own folder (all-MiniLM-L6-v2 has none), not the ones the
    recipe gives the distilled student, and encodes at the recipe's student token limit, so the
    ``init`` scores differ from the student's by distillation only.

    Raises:
        AssetError: If the offline copy cannot be had.
        ModelFolderError: If the folder cannot be loaded.
    """
    source = recipe.student.resolve()
    if not Path(source).is_dir():
        raise ModelFolderError(f"init mode needs a local copy of {recipe.student.id}; got {source!r}")
    return _load_student(Path(source), None, recipe.student.max_seq_length, batch_size)


def _check_tasks(settings: EvalSpec, root: Path) -> None:
    """Refuse unknown, misplaced or unreachable tasks before any model loads (builds them; loads no data)."""
    from leaf_hub.evaluation.tasks import get_tasks

    get_tasks(settings.tasks, local=settings.local, data_root=root, split=settings.split)


def _teacher_from_arg(teacher: str) -> tuple[Teacher, str]:
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.recipe import TeacherSpec

    if Path(teacher).expanduser().is_dir():
        folder = require_model_folder(Path(teacher).expanduser())
        return SentenceTransformerTeacher(folder), folder.name
    try:
        spec = TeacherSpec(id=teacher)
    except ValidationError as e:
        raise ModelFolderError(f"teacher {teacher!r} is neither a model folder nor a Hub id (org/name)") from e
    return SentenceTransformerTeacher.from_spec(spec), teacher


def evaluate_model_folder(
    model_dir: str | Path,
    *,
    teacher: str | None = None,
    output_dir: str | Path | None = None,
    tasks: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
    split: str | None = None,
    corpus_limit: int | None = None,
    query_limit: int | None = None,
    data_root: str | Path | None = None,
    sweep: bool = True,
    progress: bool = True,
    local: dict[str, str] | None = None,
) -> EvalResults:
    """Evaluate a bare sentence-transformers folder: student-only unless ``teacher`` is given.

    Args:
        model_dir: The model folder.
        teacher: Teacher folder or Hub id (an offline copy is used for known ids).
        output_dir: Where results go (default ``./eval/<folder name>``).
        tasks: mteb task or benchmark names (default: SciFact, NFCorpus, STSBenchmark, shipped locally).
        modes: Modes (default: all three with a teacher, else ``student``).
        split: Split (default ``test``).
        corpus_limit: Retrieval corpus sub-sample size (``None`` or ``0``: full corpus).
        query_limit: Retrieval queries / STS pairs to keep (``None`` or ``0``: all).
        data_root: Data folder.
        sweep: Run the sweep.
        progress: Show progress bars.
        local: Task name -> BEIR- or STS-layout folder standing for that task (``evaluation.local``).

    Returns:
        The results (also written to disk).

    Raises:
        ModelFolderError: If ``model_dir`` (or a teacher folder) is not a sentence-transformers folder.
        EvalError: On an unknown task or mode, or a teacher mode without a teacher.
    """
    folder = require_model_folder(Path(model_dir).expanduser())
    if "init" in (modes or []):
        raise EvalError("mode init needs a run folder: its recipe names the student's initialisation")
    settings = eval_settings(
        None,
        tasks=list(tasks) if tasks else None,
        modes=list(modes) if modes else (None if teacher else ["student"]),
        split=split,
        corpus_limit=corpus_limit or None,
        query_limit=query_limit or None,
        local=dict(local) if local else None,
    )
    _check_tasks(settings, resolve_data_root(data_root))
    teacher_obj, teacher_id = _teacher_from_arg(teacher) if teacher else (None, None)
    return evaluate_models(
        folder,
        output_dir=output_dir or Path("eval") / folder.name,
        teacher=teacher_obj,
        teacher_id=teacher_id,
        settings=settings,
        data_root=data_root,
        sweep=sweep,
        progress=progress,
        drop_unmatched_asymmetric=not modes,
    )
