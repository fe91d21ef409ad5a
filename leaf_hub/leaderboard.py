"""MTEB leaderboard submission: the results-repository tree and the model-registry entry of a release.

The MTEB leaderboard reads `embeddings-benchmark/results`, whose layout is mteb's own
:class:`mteb.ResultCache` layout::

    results/<org>__<name>/<revision>/<Task>.json     # one TaskResult per task
    results/<org>__<name>/<revision>/model_meta.json # ModelMeta.to_dict()
    results/<org>__<name>/<revision>/run_settings.jsonl  # one entry per task/split/subset (mteb > 2.0.0)

and lists models that have a ``ModelMeta(...)`` entry in ``mteb/models/model_implementations``.
:func:`build_submission` makes both from a release run folder: the student's per-task results that
mteb wrote under ``eval/mteb/student/``, with ``<revision>`` the commit that ``publish`` recorded in
``release.json``, and the registry entry as Python source. It then loads everything back with mteb's
classes (``TaskResult.from_disk``, ``ModelMeta`` validation, ``ResultCache.load_results``).

It refuses to build a submission it cannot stand behind:

* the local weights (the ones evaluated) differ from the sha256 that ``release.json`` lists for the
  published revision, or the results record a model fingerprint that is not this model's;
* a result was computed with an mteb version other than the one the release declares;
* a result was computed on a dataset revision other than the one mteb pins for the task.

``run_settings.jsonl`` is what mteb's ``ResultCache.save_to_cache`` writes (versions of mteb,
torch, sentence-transformers and transformers, the encode arguments, and the splits and subsets
of each task). Evaluation here runs mteb without a cache, so it writes the same entries itself
(:func:`write_run_settings`, called per task and mode); the submission keeps them and checks that
they cover every (task, split, subset) of the results with an mteb version above 2.0.0.

The ``ModelMeta``'s ``training_datasets`` hold the student initialisation's and the teacher's
training data from mteb's registry plus the recipe's ``teacher.training_datasets`` (what the
teacher's own model card declares), so the leaderboard does not count the student as zero-shot on
data its teacher was trained on.

:func:`write_pull_request` turns a submission into the pull request to the results repository: the
folder plus a ``git format-patch`` file (offline), or a fork, branch and PR with ``gh`` (online).

Sub-sampled results (``subsampled: true`` in ``eval/results.json``; the CPU recipes sub-sample
retrieval corpora) are not comparable with the leaderboard: they are left out and named; if nothing
is left, that is an error too.

Example:
    >>> from leaf_hub.leaderboard import build_submission
    >>> sub = build_submission("runs/leaf-ir")  # doctest: +SKIP
    >>> sub.results_dir  # doctest: +SKIP
    PosixPath('runs/leaf-ir/leaderboard/results/leaf-hub__leaf-ir/3f2a.../')
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from leaf_hub.errors import LeaderboardError, RecipeError, RunFolderError
from leaf_hub.hashing import sha256_file
from leaf_hub.records import ReleaseManifest
from leaf_hub.run_folder import RunFolder

if TYPE_CHECKING:
    from mteb.models.model_meta import ModelMeta

    from leaf_hub.records import EvalResults

logger = logging.getLogger(__name__)

__all__ = [
    "PullRequest",
    "Submission",
    "build_model_meta",
    "build_submission",
    "card_training_data",
    "model_meta_source",
    "check_run_settings",
    "validate_pull_request",
    "validate_submission",
    "write_pull_request",
    "write_run_settings",
    "write_submission",
]

#: Marker file that identifies a folder written by :func:`build_submission` (safe to replace).
SUBMISSION_FILE = "submission.json"
RESULTS_REPO = "https://github.com/embeddings-benchmark/results"
MTEB_REPO = "https://github.com/embeddings-benchmark/mteb"
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
#: The results repository refuses run settings written by mteb 2.0.0 or earlier.
_MIN_MTEB_EXCLUSIVE = "2.0.0"


@dataclass
class Submission:
    """What :func:`build_submission` wrote.

    Attributes:
        output: The submission folder.
        results_dir: ``output/results/<org>__<name>/<revision>``: copy it into the results repository.
        model_meta_py: The ``ModelMeta(...)`` entry as Python source, for mteb's model registry.
        model_name: ``org/name`` on the Hub.
        revision: The published commit id.
        tasks: Task name -> main score of the results included.
        skipped: Task name -> why it was left out (sub-sampled, incomplete).
        instructions: What to open the pull requests with (also in ``SUBMISSION.md``).
    """

    output: Path
    results_dir: Path
    model_meta_py: Path
    model_name: str
    revision: str
    tasks: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    instructions: str = ""


# ---------------------------------------------------------------------------
# reading the run folder
# ---------------------------------------------------------------------------


def _check_weights(model_dir: Path, release: ReleaseManifest, source: Path) -> None:
    """Refuse unless every local weight file equals the published revision's manifest entry."""
    manifest = release.hashes()
    if not manifest:
        raise LeaderboardError(f"{source}: no 'files' with sha256 values; publish writes them")
    commit = release.commit
    if "model.safetensors" not in manifest:
        raise LeaderboardError(f"{source} lists no sha256 for model.safetensors of revision {commit}")
    local = sorted(p for p in model_dir.rglob("*") if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))
    if not any(p.relative_to(model_dir).as_posix() == "model.safetensors" for p in local):
        raise LeaderboardError(f"{model_dir}/model.safetensors not found: the evaluated weights are missing")
    for path in local:
        rel = path.relative_to(model_dir).as_posix()
        published = manifest.get(rel)
        if published is None:
            raise LeaderboardError(f"{model_dir}/{rel} is not in revision {commit} of {release.repo_id}")
        actual = sha256_file(path)
        if actual != published:
            raise LeaderboardError(
                f"the evaluated weights differ from revision {commit} of {release.repo_id}: {rel} sha256 "
                f"{actual[:12]}... != published {published[:12]}...; re-evaluate or re-publish"
            )


def _model_dir(run: RunFolder, results: EvalResults) -> Path:
    recorded = results.model_path
    for candidate in ([Path(recorded), run.root / recorded] if recorded else []) + [run.model_dir]:
        if (candidate / "modules.json").is_file():
            return candidate
    raise LeaderboardError(f"{run.model_dir} is not a sentence-transformers folder (no modules.json)")


def _find_task_results(mteb_dir: Path) -> dict[str, Path]:
    """Task name -> the one TaskResult JSON under ``mteb_dir`` (mteb's ResultCache layout or flat)."""
    if not mteb_dir.is_dir():
        raise LeaderboardError(f"{mteb_dir} not found: run `leaf-hub evaluate` first (the student's mteb results)")
    found: dict[str, Path] = {}
    for path in sorted(mteb_dir.rglob("*.json")):
        if path.name == "model_meta.json":
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not (isinstance(data, dict) and "task_name" in data and "scores" in data):
            continue
        name = str(data["task_name"])
        if name in found:
            raise LeaderboardError(f"two results for {name} under {mteb_dir}: {found[name]} and {path}")
        found[name] = path
    if not found:
        raise LeaderboardError(f"no mteb task results under {mteb_dir}")
    return found


def _subsample_flags(results: EvalResults, mode: str) -> dict[str, tuple[bool, str]]:
    """Task -> (sub-sampled?, description) for ``mode`` from the evaluation's results."""
    flags: dict[str, tuple[bool, str]] = {}
    for score in results.scores:
        if score.mode != mode:
            continue
        task = score.task
        sub = score.subsampled
        desc = f"{score.n_queries} queries, {score.n_docs} documents"
        previous = flags.get(task, (False, ""))
        flags[task] = (previous[0] or sub, desc)
    return flags


# ---------------------------------------------------------------------------
# model metadata
# ---------------------------------------------------------------------------


def _module_configs(model_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    out = []
    for module in modules:
        cfg_path = model_dir / module.get("path", "") / "config.json"
        cfg = json.loads(cfg_path.read_text(encoding="utf-8")) if module.get("path") and cfg_path.is_file() else {}
        out.append((str(module.get("type", "")), cfg))
    return out


def _embed_dim(model_dir: Path) -> int:
    dim = None
    for mtype, cfg in _module_configs(model_dir):
        if mtype.endswith("Dense") and "out_features" in cfg:
            dim = int(cfg["out_features"])
        elif mtype.endswith("Pooling") and "word_embedding_dimension" in cfg and dim is None:
            dim = int(cfg["word_embedding_dimension"])
    if dim is None:
        raise LeaderboardError(f"{model_dir}: cannot tell the embedding dimension (no Dense or Pooling config)")
    return dim


def _release_date(release: ReleaseManifest, source: Path) -> str:
    if release.published_at:
        return release.published_at[:10]
    return dt.datetime.fromtimestamp(source.stat().st_mtime, tz=dt.UTC).date().isoformat()


def build_model_meta(
    model_dir: str | Path,
    *,
    repo_id: str,
    revision: str,
    release_date: str,
    languages: list[str],
    license: str,
    adapted_from: str | None,
    related_models: list[str] | None = None,
    training_datasets: set[str] | None = None,
    reference: str | None = None,
    public_training_code: str | None = None,
) -> ModelMeta:
    """Build mteb's ``ModelMeta`` for a published sentence-transformers folder.

    Sizes come from the folder itself: parameters from the safetensors headers
    (:func:`leaf_hub.models.weights.count_weights`), ``embed_dim`` from the
    final ``Dense`` (or ``Pooling``), ``max_tokens`` from ``sentence_bert_config.json``, the similarity
    function and prompts from ``config_sentence_transformers.json``.

    Args:
        model_dir: The local model folder (the weights that were evaluated and published).
        repo_id: ``org/name`` on the Hub.
        revision: The published commit id.
        release_date: ``YYYY-MM-DD``.
        languages: ISO 639-1 codes from the recipe (``["en"]``), mapped to mteb's ``eng-Latn`` form.
        license: Licence id of the published model.
        adapted_from: The student initialisation's Hub id.
        related_models: Models whose training data the student inherits (its initialisation and the
            teacher it was distilled from); their ``training_datasets`` from mteb's registry are included.
        training_datasets: Further mteb dataset names the student was trained on.
        reference: URL of the model page (default ``https://huggingface.co/<repo_id>``).
        public_training_code: URL of the training code, if public.

    Returns:
        The validated ``ModelMeta``.

    Raises:
        RepoIdError: If ``repo_id`` is not a valid ``org/name`` (:func:`leaf_hub.hub.check_repo_id`).
        LeaderboardError: If a field fails mteb's validation (unknown licence or language, ...).
    """
    from mteb.languages.iso_mappings import _hf_langs_to_iso_lang_scripts
    from mteb.models.model_implementations import MODEL_REGISTRY
    from mteb.models.model_meta import ModelMeta, ScoringFunction
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
    from pydantic import ValidationError

    from leaf_hub.hub import check_repo_id
    from leaf_hub.models.weights import count_weights

    check_repo_id(repo_id)
    folder = Path(model_dir)
    counts = count_weights(folder)
    st_config_path = folder / "config_sentence_transformers.json"
    st_config = json.loads(st_config_path.read_text(encoding="utf-8")) if st_config_path.is_file() else {}
    bert_path = folder / "sentence_bert_config.json"
    bert_config = json.loads(bert_path.read_text(encoding="utf-8")) if bert_path.is_file() else {}
    # every non-empty prompt, per-task ones included: mteb resolves them as the evaluation here did
    model_prompts = {k: v for k, v in (st_config.get("prompts") or {}).items() if v}

    iso = _hf_langs_to_iso_lang_scripts(list(languages)) or []
    if len(iso) != len(languages):
        raise LeaderboardError(f"languages {languages}: mteb knows only {iso}; use ISO 639-1 codes such as 'en'")

    datasets = set(training_datasets or ())
    for other in related_models or []:
        known = MODEL_REGISTRY.get(other)
        inherited = known.training_datasets if known is not None else None
        if inherited is None:
            logger.warning("mteb's registry has no training_datasets for %s; they are not listed", other)
        datasets |= set(inherited or ())

    try:
        return ModelMeta(
            loader=SentenceTransformerEncoderWrapper,
            loader_kwargs={"model_prompts": model_prompts} if model_prompts else {},
            name=repo_id,
            revision=revision,
            release_date=release_date,
            languages=iso,
            n_parameters=counts.parameters,
            n_embedding_parameters=counts.embedding_parameters or None,
            memory_usage_mb=round(counts.size_bytes / 2**20),
            max_tokens=bert_config.get("max_seq_length"),
            embed_dim=_embed_dim(folder),
            license=license,
            open_weights=True,
            public_training_code=public_training_code,
            public_training_data=None,
            framework=["Sentence Transformers", "PyTorch", "safetensors"],
            reference=reference or f"https://huggingface.co/{repo_id}",
            similarity_fn_name=ScoringFunction(st_config.get("similarity_fn_name") or "cosine"),
            use_instructions=bool(model_prompts),
            training_datasets=datasets or None,
            adapted_from=adapted_from,
            model_type=["dense"],
            modalities=["text"],
        )
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise LeaderboardError(f"ModelMeta.{loc}: {first['msg']}") from e


def model_meta_source(meta: ModelMeta, variable: str | None = None) -> str:
    """Render ``meta`` as the Python source of an entry in ``mteb/models/model_implementations``.

    Args:
        meta: The model metadata (loader ``SentenceTransformerEncoderWrapper``).
        variable: Module-level name (default: the model name in snake case).

    Returns:
        A self-contained module that defines the entry; exec'ing it gives a ``ModelMeta`` equal to ``meta``.
    """
    name = variable or re.sub(r"\W+", "_", (meta.name or "model").split("/")[-1]).strip("_").lower()
    if not name.isidentifier():
        name = f"model_{name}"

    def lit(value: object) -> str:
        if isinstance(value, (set, frozenset)):
            return "{" + ", ".join(repr(v) for v in sorted(value)) + "}" if value else "set()"
        if isinstance(value, float) and value.is_integer():
            return repr(int(value))
        return repr(value)

    sim = meta.similarity_fn_name
    fields = [
        ("loader", "SentenceTransformerEncoderWrapper"),
        ("loader_kwargs", lit(dict(meta.loader_kwargs))),
        ("name", lit(meta.name)),
        ("revision", lit(meta.revision)),
        ("release_date", lit(meta.release_date)),
        ("languages", lit(meta.languages)),
        ("n_parameters", lit(meta.n_parameters)),
        ("n_embedding_parameters", lit(meta.n_embedding_parameters)),
        ("memory_usage_mb", lit(meta.memory_usage_mb)),
        ("max_tokens", lit(meta.max_tokens)),
        ("embed_dim", lit(meta.embed_dim)),
        ("license", lit(meta.license)),
        ("open_weights", lit(meta.open_weights)),
        ("public_training_code", lit(meta.public_training_code)),
        ("public_training_data", lit(meta.public_training_data)),
        ("framework", lit(list(meta.framework))),
        ("reference", lit(meta.reference)),
        ("similarity_fn_name", f"ScoringFunction.{sim.name}" if sim is not None else "None"),
        ("use_instructions", lit(meta.use_instructions)),
        ("training_datasets", lit(meta.training_datasets)),
        ("adapted_from", lit(meta.adapted_from)),
        ("model_type", lit(list(meta.model_type))),
        ("modalities", lit(list(meta.modalities))),
    ]
    body = "\n".join(f"    {key}={value}," for key, value in fields)
    return (
        f'"""mteb model-registry entry for {meta.name} (generated by `leaf-hub leaderboard`).\n\n'
        "Add it to mteb/models/model_implementations/ (a new module or an existing one) in a pull request to\n"
        f'{MTEB_REPO}.\n"""\n\n'
        "from mteb.models.model_meta import ModelMeta, ScoringFunction\n"
        "from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper\n\n"
        f"{name} = ModelMeta(\n{body}\n)\n"
    )


def card_training_data(model_dir: str | Path) -> list[str]:
    """The training datasets a model's own card declares (the ``datasets:`` list of its README front matter).

    These are Hub dataset ids (``ms_marco``, ``natural_questions``); a recipe's
    ``teacher.training_datasets`` lists the mteb tasks built from them.

    Returns:
        The ids in card order (``[]`` when the folder has no README or the card declares none).
    """
    path = Path(model_dir) / "README.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    if not text.startswith("---"):
        return []
    try:
        front = yaml.safe_load(text.split("---", 2)[1]) or {}
    except (yaml.YAMLError, IndexError):
        return []
    datasets = front.get("datasets") if isinstance(front, dict) else None
    return [str(d) for d in datasets] if isinstance(datasets, list) else []


# ---------------------------------------------------------------------------
# run settings
# ---------------------------------------------------------------------------


def _run_settings_entries(
    task_result: Any, encode_kwargs: dict[str, Any] | None, versions: dict[str, str | None]
) -> list[dict[str, Any]]:
    """The entries mteb's ``ResultCache.save_to_cache`` writes for one result: one per split, with its subsets."""
    return [
        {
            "task": task_result.task_name,
            "splits": [split],
            "version": versions,
            "encode_kwargs": json.loads(json.dumps(encode_kwargs or {}, default=str)),
            "subsets": sorted({entry.get("hf_subset", "default") for entry in scores}),
        }
        for split, scores in task_result.scores.items()
    ]


def write_run_settings(task_result: Any, folder: str | Path, encode_kwargs: dict[str, Any] | None = None) -> Path:
    """Add one result's entries to ``folder/run_settings.jsonl`` as mteb's own cache would.

    The versions are this environment's (mteb, torch, sentence-transformers, flash-attn,
    transformers), read as mteb reads them; entries for the same (task, split, subset) are
    replaced, with mteb's own merge.

    Returns:
        The ``run_settings.jsonl`` path.
    """
    from mteb.cache.result_cache import _get_package_versions
    from mteb.results.task_result import _write_and_merge_keyed_json

    path = Path(folder) / "run_settings.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_and_merge_keyed_json(path, _run_settings_entries(task_result, encode_kwargs, _get_package_versions()))
    return path


def check_run_settings(revision_dir: str | Path, tasks: list[str]) -> dict[tuple[str, str, str], str]:
    """Check ``run_settings.jsonl`` covers every (task, split, subset) of the results, by mteb > 2.0.0.

    Read with mteb's own reader and entry expansion.

    Returns:
        (task, split, subset) -> mteb version of its entry.

    Raises:
        LeaderboardError: If the file is missing, an evaluated subset has no entry, or an entry's
            mteb version is 2.0.0 or older (the results repository rejects those).
    """
    from mteb.results import TaskResult
    from mteb.results.task_result import _expand_run_settings_entry, _read_run_settings_from_file
    from packaging.version import InvalidVersion, Version

    folder = Path(revision_dir)
    path = folder / "run_settings.jsonl"
    if not path.is_file():
        raise LeaderboardError(f"{path} is missing: the results repository needs one entry per task, split and subset")
    found: dict[tuple[str, str, str], str] = {}
    for entry in _read_run_settings_from_file(path):
        for scope, _, settings in _expand_run_settings_entry(entry):
            found[scope] = str((settings.get("version") or {}).get("mteb") or "")
    for scope, version in found.items():
        try:
            ok = Version(version) > Version(_MIN_MTEB_EXCLUSIVE)
        except InvalidVersion:
            ok = False
        if not ok:
            raise LeaderboardError(
                f"{path}: {'/'.join(scope)} was run with mteb {version or '(none)'}; "
                f"the results repository needs mteb above {_MIN_MTEB_EXCLUSIVE}"
            )
    for task in tasks:
        result = TaskResult.from_disk(folder / f"{task}.json")
        for split, scores in result.scores.items():
            for entry in scores:
                scope = (task, split, entry.get("hf_subset", "default"))
                if scope not in found:
                    raise LeaderboardError(f"{path} has no entry for {'/'.join(scope)}")
    return found


# ---------------------------------------------------------------------------
# validation with mteb's own loaders
# ---------------------------------------------------------------------------


def _comparable(meta: ModelMeta) -> dict[str, Any]:
    data = meta.to_dict()
    data["training_datasets"] = sorted(data["training_datasets"] or [])
    return data


def validate_submission(output: str | Path, meta: ModelMeta, tasks: list[str]) -> None:
    """Load a submission back with mteb's classes and check it is what was meant.

    Checks that every ``<Task>.json`` parses with ``TaskResult.from_disk`` and passes
    ``validate_and_filter_scores`` for its task, that ``run_settings.jsonl`` covers every
    (task, split, subset) with mteb above 2.0.0 (:func:`check_run_settings`), that ``model_meta.json`` validates as a
    ``ModelMeta`` equal to ``meta``, that ``ResultCache.load_results`` finds exactly this model,
    revision and task set, and that the generated Python entry builds the same ``ModelMeta``.

    Raises:
        LeaderboardError: On the first mismatch, naming the file.
    """
    from mteb.cache import ResultCache
    from mteb.models.model_meta import ModelMeta
    from mteb.results import TaskResult

    out = Path(output)
    revision_dir = out / "results" / meta.model_name_as_path() / str(meta.revision)
    for task in tasks:
        path = revision_dir / f"{task}.json"
        try:
            result = TaskResult.from_disk(path).validate_and_filter_scores()
        except Exception as e:  # noqa: BLE001 - any mteb failure here means an invalid file
            raise LeaderboardError(f"{path} does not load with mteb's TaskResult: {str(e).splitlines()[0]}") from e
        if result.task_name != task or any(
            not isinstance(s.get("main_score"), (int, float)) or math.isnan(s["main_score"])
            for split in result.scores.values()
            for s in split
        ):
            raise LeaderboardError(f"{path}: scores are missing for a split or subset mteb expects")

    check_run_settings(revision_dir, list(tasks))

    meta_path = revision_dir / "model_meta.json"
    loaded = ModelMeta.model_validate_json_resolved(meta_path.read_text(encoding="utf-8"))
    if _comparable(loaded) != _comparable(meta):
        raise LeaderboardError(f"{meta_path} does not round-trip through mteb's ModelMeta")

    cache = ResultCache(out)
    bench = cache.load_results(
        models=[meta], tasks=list(tasks), require_model_meta=True, include_remote=False, validate_and_filter=True
    )
    models = [(m.model_name, m.model_revision) for m in bench.model_results]
    if models != [(meta.name, meta.revision)]:
        raise LeaderboardError(
            f"mteb's ResultCache finds {models} under {out}, expected [({meta.name}, {meta.revision})]"
        )
    found = sorted(r.task_name for r in bench.model_results[0].task_results)
    if found != sorted(tasks):
        raise LeaderboardError(f"mteb's ResultCache loads tasks {found}, expected {sorted(tasks)}")

    namespace: dict[str, Any] = {}
    source = out / "model_meta.py"
    exec(compile(source.read_text(encoding="utf-8"), str(source), "exec"), namespace)  # noqa: S102 - our own file
    entries = [v for v in namespace.values() if isinstance(v, ModelMeta)]
    if len(entries) != 1 or _comparable(entries[0]) != _comparable(meta):
        raise LeaderboardError(f"{source} does not define the same ModelMeta as model_meta.json")


# ---------------------------------------------------------------------------
# the submission
# ---------------------------------------------------------------------------


def _instructions(sub: Submission, output: Path) -> str:
    folder = sub.results_dir.parent.name
    lines = [
        f"# MTEB leaderboard submission: {sub.model_name} @ {sub.revision}",
        "",
        f"Results ({len(sub.tasks)}): " + ", ".join(f"{t} {100 * s:.2f}" for t, s in sorted(sub.tasks.items())),
    ]
    if sub.skipped:
        lines.append("Left out: " + "; ".join(f"{t} ({why})" for t, why in sorted(sub.skipped.items())))
    lines += [
        "",
        f"1. Results: open a pull request to {RESULTS_REPO} that adds `results/{folder}/{sub.revision}/`:",
        "",
        "   ```bash",
        f"   git clone {RESULTS_REPO} mteb-results && cd mteb-results",
        f"   git switch -c add-{folder}",
        f"   mkdir -p results/{folder} && cp -r {output.resolve()}/results/{folder}/{sub.revision} results/{folder}/",
        f'   git add results/{folder} && git commit -m "Add {sub.model_name} results"',
        f'   gh pr create --title "Add {sub.model_name}" --body "Evaluated with mteb on revision {sub.revision}"',
        "   ```",
        "",
        f"   or apply {output.resolve()}/pull_request.patch (scripts/submit_leaderboard.py writes it) with `git am`.",
        "",
        f"2. Model: open a pull request to {MTEB_REPO} that adds the `ModelMeta` entry in `{sub.model_meta_py.name}`",
        "   to `mteb/models/model_implementations/` (e.g. a new `leaf_hub_models.py`).",
        "",
    ]
    return "\n".join(lines)


def build_submission(
    run_dir: str | Path,
    output: str | Path | None = None,
    *,
    mode: str = "student",
    training_datasets: set[str] | None = None,
    validate: bool = True,
) -> Submission:
    """Build the MTEB results tree and registry entry of a published run.

    Args:
        run_dir: The run folder (``runs/<name>``) with ``recipe.yaml``, ``model/``, ``eval/results.json``,
            ``eval/mteb/<mode>/`` and ``release.json``.
        output: Submission folder (default ``<run_dir>/leaderboard``); replaced if it holds an earlier submission.
        mode: Which evaluation to submit; only the published model itself (``student``) belongs on the leaderboard.
        training_datasets: mteb dataset names the distillation text came from, added to those the
            student initialisation and the teacher were trained on (mteb's registry, and the recipe's
            ``teacher.training_datasets``).
        validate: Load the result back with mteb's classes (:func:`validate_submission`).

    Returns:
        The :class:`Submission`.

    Raises:
        LeaderboardError: If the weights differ from the published revision, an mteb version differs
            from the declared one, a dataset revision differs from mteb's, every result is sub-sampled,
            or a file is missing.
    """
    import mteb
    from mteb.results import TaskResult

    from leaf_hub.assets import model_fingerprint

    run = RunFolder(run_dir)
    release_path, results_path = run.manifest_file, run.results_file
    try:
        release = run.load_manifest()
        results = run.load_results()
        recipe = run.load_recipe()
    except (RunFolderError, RecipeError) as e:
        raise LeaderboardError(str(e)) from e
    if not release.commit:
        raise LeaderboardError(f"{release_path}: missing 'commit' (the run was staged, never published)")
    revision = release.commit
    if not _HEX40.match(revision):
        raise LeaderboardError(f"{release_path}: commit '{revision}' is not a 40-hex commit id")

    model_dir = _model_dir(run, results)
    _check_weights(model_dir, release, release_path)
    recorded = results.model_fingerprint
    if recorded and recorded != model_fingerprint(model_dir):
        raise LeaderboardError(f"{results_path} was computed on another model (fingerprint {str(recorded)[:12]}...)")

    declared = release.mteb_version or results.mteb_version
    if not declared:
        raise LeaderboardError(f"{release_path}: no 'mteb_version' declared for the results")

    flags = _subsample_flags(results, mode)
    included: dict[str, tuple[Path, Any]] = {}
    skipped: dict[str, str] = {}
    for task, path in _find_task_results(run.mteb_dir(mode)).items():
        result = TaskResult.from_disk(path)
        versions = {result.mteb_version} | {
            s.get("mteb_version") for split in result.scores.values() for s in split if s.get("mteb_version")
        }
        if versions != {declared}:
            raise LeaderboardError(
                f"{path.name} was computed with mteb {', '.join(sorted(map(str, versions)))}, "
                f"but the release declares mteb {declared}"
            )
        try:
            official = mteb.get_task(task).metadata.revision
        except (KeyError, ValueError) as e:
            raise LeaderboardError(f"{path.name}: mteb {declared} has no task named {task}") from e
        if result.dataset_revision != official:
            raise LeaderboardError(
                f"{path.name}: dataset revision {result.dataset_revision} is not mteb's {official} for {task}"
            )
        if task not in flags:
            skipped[task] = f"not in {results_path.name}, so not known to be full-corpus"
            continue
        subsampled, desc = flags[task]
        if subsampled:
            skipped[task] = f"sub-sampled: {desc}"
            continue
        filtered = result.validate_and_filter_scores()
        if any(math.isnan(s["main_score"]) for split in filtered.scores.values() for s in split):
            skipped[task] = "incomplete: a split or subset mteb expects is missing"
            continue
        included[task] = (path, filtered)
    for task, why in sorted(skipped.items()):
        logger.warning("leaderboard: leaving out %s (%s)", task, why)
    if not included:
        reasons = "; ".join(f"{t}: {w}" for t, w in sorted(skipped.items()))
        raise LeaderboardError(
            f"every result of {run} is sub-sampled or incomplete ({reasons}); "
            "a leaderboard submission needs full-corpus results: evaluate with evaluation.corpus_limit: null"
        )

    if not recipe.teacher.training_datasets:
        logger.warning(
            "recipe teacher.training_datasets is empty: the ModelMeta lists only what mteb's registry knows of %s",
            recipe.teacher.id,
        )
    meta = build_model_meta(
        model_dir,
        repo_id=release.repo_id,
        revision=revision,
        release_date=_release_date(release, release_path),
        languages=list(recipe.card.language),
        license=recipe.card.license,
        adapted_from=recipe.student.id,
        related_models=[recipe.student.id, recipe.teacher.id],
        training_datasets=set(training_datasets or ()) | set(recipe.teacher.training_datasets or ()),
    )

    # the other modes (init, teacher, asymmetric) are not this model's scores: recorded, never submitted
    others: dict[str, dict[str, float]] = {}
    for score in results.scores:
        if score.mode != mode:
            others.setdefault(score.mode, {})[score.task] = score.main_score

    out = Path(output) if output is not None else run.leaderboard_dir
    return write_submission(
        out,
        meta,
        {task: path for task, (path, _) in included.items()},
        skipped=skipped,
        tag=release.tag,
        mteb_version=declared,
        validate=validate,
        not_submitted=others,
    )


def write_submission(
    output: str | Path,
    meta: ModelMeta,
    task_files: dict[str, Path],
    *,
    skipped: dict[str, str] | None = None,
    tag: str | None = None,
    mteb_version: str | None = None,
    validate: bool = True,
    not_submitted: dict[str, dict[str, float]] | None = None,
) -> Submission:
    """Write the results tree, the registry entry and the instructions; no honesty checks here.

    :func:`build_submission` decides which results may be submitted; this only lays them out. The
    folder is built beside ``output`` and moved into place once it validates, so a failure leaves
    any earlier submission untouched.

    Args:
        output: Submission folder; replaced if it holds an earlier submission (``submission.json``).
        meta: The model's ``ModelMeta`` (``name`` and ``revision`` name the results folder).
        task_files: Task name -> mteb ``TaskResult`` JSON to include (copied byte for byte).
        skipped: Task name -> why it was left out, for the record.
        tag: The release tag, for the record.
        mteb_version: The mteb version of the results, for the record.
        validate: Load the result back with mteb's classes (:func:`validate_submission`).
        not_submitted: Mode -> task -> main score of the evaluations that are not this model's own
            (``init``: the student initialisation; ``teacher``; ``asymmetric``): recorded in
            ``submission.json`` under ``not_submitted``, never put in the results tree.

    Returns:
        The :class:`Submission`.

    Raises:
        LeaderboardError: If ``output`` is some other folder, or validation fails.
    """
    from mteb.results import TaskResult

    out = Path(output)
    revision = str(meta.revision)
    if out.exists() and not (out / SUBMISSION_FILE).is_file() and any(out.iterdir()):
        raise LeaderboardError(f"{out} exists and is not a leaf-hub submission folder; choose another --output")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        revision_dir = staging / "results" / meta.model_name_as_path() / revision
        revision_dir.mkdir(parents=True)
        settings: list[dict[str, Any]] = []
        for task, path in task_files.items():
            shutil.copyfile(path, revision_dir / f"{task}.json")
            settings_path = path.parent / "run_settings.jsonl"
            lines = settings_path.read_text(encoding="utf-8").splitlines() if settings_path.is_file() else []
            own = [json.loads(line) for line in lines if line.strip() and json.loads(line).get("task") == task]
            if not own:
                # an evaluation from before run settings were written: only the mteb version is known
                result = TaskResult.from_disk(path)
                logger.warning("%s: no run settings beside it; recording mteb %s only", path, result.mteb_version)
                own = _run_settings_entries(result, None, {"mteb": result.mteb_version})
            settings += own
        from mteb.results.task_result import _write_and_merge_keyed_json

        _write_and_merge_keyed_json(revision_dir / "run_settings.jsonl", settings)
        with (revision_dir / "model_meta.json").open("w", encoding="utf-8") as fh:
            json.dump(meta.to_dict(), fh, default=str, indent=4)
        (staging / "model_meta.py").write_text(model_meta_source(meta), encoding="utf-8")
        sub = Submission(
            output=out,
            results_dir=out / "results" / meta.model_name_as_path() / revision,
            model_meta_py=out / "model_meta.py",
            model_name=str(meta.name),
            revision=revision,
            tasks={t: float(TaskResult.from_disk(p).get_score()) for t, p in sorted(task_files.items())},
            skipped=dict(sorted((skipped or {}).items())),
        )
        sub.instructions = _instructions(sub, out)
        (staging / "SUBMISSION.md").write_text(sub.instructions, encoding="utf-8")
        record = {
            "model": sub.model_name,
            "revision": revision,
            "tag": tag,
            "mteb_version": mteb_version,
            "tasks": sub.tasks,
            "skipped": sub.skipped,
            "not_submitted": not_submitted or {},
        }
        (staging / SUBMISSION_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if validate:
            validate_submission(staging, meta, list(task_files))
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    logger.info("leaderboard submission for %s @ %s written to %s", sub.model_name, revision, out)
    return sub


# ---------------------------------------------------------------------------
# the pull request to the results repository
# ---------------------------------------------------------------------------


@dataclass
class PullRequest:
    """What :func:`write_pull_request` made.

    Attributes:
        folder: The files of the pull request, laid out as in the results repository (``results/...``).
        patch: ``git format-patch`` of one commit adding them; ``git am`` applies it to a clone.
        files: Path in the results repository -> size in bytes.
        url: The opened pull request (online), else ``None``.
    """

    folder: Path
    patch: Path
    files: dict[str, int]
    url: str | None = None


def _git(*args: str, cwd: Path) -> str:
    import subprocess

    env = {
        "GIT_AUTHOR_NAME": "leaf-hub",
        "GIT_AUTHOR_EMAIL": "leaf-hub@localhost",
        "GIT_COMMITTER_NAME": "leaf-hub",
        "GIT_COMMITTER_EMAIL": "leaf-hub@localhost",
        "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+00:00",
        "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+00:00",
    }
    import os

    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, env={**os.environ, **env}, check=True, capture_output=True, text=True
        )
    except FileNotFoundError as e:
        raise LeaderboardError("git is not installed; it writes the pull request's patch") from e
    except subprocess.CalledProcessError as e:
        raise LeaderboardError(f"git {args[0]} failed: {(e.stderr or e.stdout).strip().splitlines()[-1]}") from e
    return done.stdout


def write_pull_request(sub: Submission, *, open_pr: bool = False) -> PullRequest:
    """Write the results-repository pull request of a submission, and open it when asked.

    Offline (the default) it writes ``<submission>/pull_request/`` (the files, in the repository's
    layout) and ``<submission>/pull_request.patch``: one commit that adds them, made with git in a
    scratch repository, so ``git am pull_request.patch`` on a clone of the results repository
    reproduces it. With ``open_pr`` it then forks the results repository, pushes that commit to a
    branch and opens the pull request with the GitHub CLI (``gh``), as mteb's docs describe.

    Raises:
        LeaderboardError: If git is missing, or ``open_pr`` is asked without ``gh`` or without network.
    """
    out = sub.output
    folder = out / "pull_request"
    shutil.rmtree(folder, ignore_errors=True)
    rel_dir = sub.results_dir.relative_to(out)
    shutil.copytree(sub.results_dir, folder / rel_dir)
    files = {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
    title = f"Add {sub.model_name} ({sub.revision[:12]})"
    body = f"Results of {sub.model_name} at revision {sub.revision}: " + ", ".join(
        f"{t} {100 * s:.2f}" for t, s in sorted(sub.tasks.items())
    )
    with tempfile.TemporaryDirectory(prefix="leaf-hub-pr-") as tmp:
        repo = Path(tmp)
        _git("init", "-q", "-b", "main", cwd=repo)
        _git("commit", "-q", "--allow-empty", "-m", "results repository (base)", cwd=repo)
        shutil.copytree(folder, repo, dirs_exist_ok=True)
        _git("add", "results", cwd=repo)
        _git("commit", "-q", "-m", title, "-m", body, cwd=repo)
        patch = out / "pull_request.patch"
        patch.write_text(_git("format-patch", "-1", "--stdout", cwd=repo), encoding="utf-8")
    pr = PullRequest(folder=folder, patch=patch, files=files)
    if open_pr:
        pr.url = _open_pull_request(pr, title, body, branch=f"add-{sub.results_dir.parent.name}")
    return pr


def _open_pull_request(pr: PullRequest, title: str, body: str, *, branch: str) -> str:
    import shutil as _shutil
    import socket
    import subprocess

    if _shutil.which("gh") is None:
        raise LeaderboardError(
            f"opening the pull request needs the GitHub CLI (gh); without it apply {pr.patch} "
            f"to a fork of {RESULTS_REPO} with `git am` and open the PR there"
        )
    try:
        socket.create_connection(("github.com", 443), timeout=5).close()
    except OSError as e:
        raise LeaderboardError(f"github.com is unreachable ({e.strerror or e}); {pr.patch} is ready to apply") from e
    with tempfile.TemporaryDirectory(prefix="leaf-hub-results-") as tmp:
        clone = Path(tmp) / "results"
        try:
            subprocess.run(
                ["gh", "repo", "fork", RESULTS_REPO.removeprefix("https://github.com/"), "--clone", "--", str(clone)],
                check=True,
                capture_output=True,
                text=True,
            )
            _git("switch", "-c", branch, cwd=clone)
            _git("am", str(pr.patch.resolve()), cwd=clone)
            _git("push", "-u", "origin", branch, cwd=clone)
            done = subprocess.run(
                ["gh", "pr", "create", "--repo", RESULTS_REPO, "--title", title, "--body", body],
                cwd=clone,
                check=True,
                capture_output=True,
                text=True,
            )
        except subprocess.CalledProcessError as e:
            raise LeaderboardError(f"gh failed: {(e.stderr or e.stdout).strip().splitlines()[-1]}") from e
    return done.stdout.strip().splitlines()[-1]


def validate_pull_request(pr: PullRequest) -> dict[str, Any]:
    """Load a pull request's folder back with mteb's own loaders and result classes, as the results repository does.

    ``model_meta.json`` through ``ModelMeta``, each ``<Task>.json`` through ``TaskResult.from_disk`` and
    ``validate_and_filter_scores``, ``run_settings.jsonl`` through :func:`check_run_settings`, and the
    whole tree through ``ResultCache.load_results`` (model metadata required, nothing remote).

    Returns:
        What was checked and found: model, revision, main score per task, run-settings scopes, the
        tasks ``ResultCache`` loads, and ``passed: true``.

    Raises:
        LeaderboardError: On the first file mteb does not accept.
    """
    from mteb.cache import ResultCache
    from mteb.models.model_meta import ModelMeta
    from mteb.results import TaskResult

    metas = list(pr.folder.glob("results/*/*/model_meta.json"))
    if len(metas) != 1:
        raise LeaderboardError(
            f"{pr.folder}: expected one results/<model>/<revision>/model_meta.json, found {len(metas)}"
        )
    revision_dir = metas[0].parent
    try:
        meta = ModelMeta.model_validate_json_resolved(metas[0].read_text(encoding="utf-8"))
    except Exception as e:  # noqa: BLE001 - any mteb failure here means an invalid file
        raise LeaderboardError(f"{metas[0]} does not load as mteb's ModelMeta: {str(e).splitlines()[0]}") from e
    scores: dict[str, float] = {}
    for path in sorted(revision_dir.glob("*.json")):
        if path.name == "model_meta.json":
            continue
        try:
            result = TaskResult.from_disk(path).validate_and_filter_scores()
        except Exception as e:  # noqa: BLE001
            raise LeaderboardError(f"{path} does not load with mteb's TaskResult: {str(e).splitlines()[0]}") from e
        scores[result.task_name] = float(result.get_score())
    scopes = check_run_settings(revision_dir, sorted(scores))
    bench = ResultCache(pr.folder).load_results(
        models=[meta], tasks=sorted(scores), require_model_meta=True, include_remote=False, validate_and_filter=True
    )
    loaded = sorted(r.task_name for m in bench.model_results for r in m.task_results)
    if loaded != sorted(scores):
        raise LeaderboardError(f"mteb's ResultCache loads {loaded} from {pr.folder}, expected {sorted(scores)}")
    return {
        "model": meta.name,
        "revision": meta.revision,
        "tasks": scores,
        "run_settings": sorted("/".join(scope) + f" (mteb {version})" for scope, version in scopes.items()),
        "result_cache_tasks": loaded,
        "training_datasets": sorted(meta.training_datasets or []),
        "passed": True,
    }
