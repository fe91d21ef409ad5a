"""The ``leaf-hub`` command line: a thin typer app over the stage modules.

Every subcommand parses its options, calls one stage function and prints its result. Known
errors (:mod:`leaf_hub.errors`) become one line on stderr and an exit code from
:data:`ERROR_EXIT_CODES`; ``LEAF_HUB_DEBUG=1`` shows the traceback too.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from leaf_hub import errors
from leaf_hub.hub_server.cli import serve
from leaf_hub.version import __version__

if TYPE_CHECKING:
    from leaf_hub.leaderboard import Submission
    from leaf_hub.recipe import Recipe
    from leaf_hub.run_folder import RunFolder

app = typer.Typer(
    name="leaf-hub",
    help="Distil small LEAF text-embedding students aligned to a teacher, evaluate them with MTEB, "
    "write their model cards and publish them to a Hugging Face Hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console()

#: Options ``publish`` and ``release`` share (one definition, the same flag and help in both commands).
NoExportsOption = Annotated[
    bool, typer.Option("--no-exports", help="Publish the weights only: no ONNX / OpenVINO exports.")
]
CompareWithOption = Annotated[
    list[str] | None,
    typer.Option(
        "--compare-with",
        help="Card's 'Compared with' rows: a folder of mteb result files, or a model name (org/name) "
        "read from mteb's results cache (updated from the results repository when online). Repeatable.",
    ),
]
err_console = Console(stderr=True)

#: Error class -> exit code, most specific first (like huggingface_hub's ``CLI_ERROR_MAPPINGS``).
ERROR_EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (errors.RecipeError, 2),
    (errors.RepoIdError, 2),
    (errors.AssetError, 2),
    (errors.ModelFolderError, 2),
    (errors.LicenseError, 2),
    (errors.ReleaseError, 2),
    (errors.LeaderboardError, 2),
    (errors.CardError, 2),
    (errors.ServerConfigError, 2),
    (errors.HubError, 3),
    (errors.EvalError, 4),
    (errors.DistillError, 5),
    (errors.TeacherError, 5),
    (errors.CacheCorruptError, 5),
    (errors.LeafHubError, 1),
]


def exit_code_for(error: BaseException) -> int | None:
    """Return the exit code for a known error, or ``None`` for an unexpected one."""
    for cls, code in ERROR_EXIT_CODES:
        if isinstance(error, cls):
            return code
    return None


def _setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, show_time=False)],
    )
    for noisy in (
        "httpx",
        "httpx2",
        "httpcore",
        "httpcore2",
        "urllib3",
        "huggingface_hub",
        "sentence_transformers",
        "transformers",
        "mteb",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"leaf-hub {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Distil, evaluate, card and publish LEAF embedding students."""
    _setup_logging(verbose)


@app.command()
def distill(
    recipe: Annotated[str, typer.Argument(help="Recipe YAML path or shipped name (e.g. leaf-ir-mini).")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Run folder (default: the recipe's).")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint in the run folder.")
    ] = False,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Override training.max_steps.")] = None,
) -> None:
    """Distil a student from a recipe: teacher cache, training, alignment report."""
    from leaf_hub.distill import distill as run_distill
    from leaf_hub.recipe import load_recipe
    from leaf_hub.run_folder import RunFolder

    overrides: dict[str, object] = {}
    if output is not None:
        overrides["output_dir"] = str(output)
    if max_steps is not None:
        overrides["training.max_steps"] = max_steps
    loaded = load_recipe(recipe, overrides)
    report = run_distill(loaded, RunFolder(loaded.run_dir), resume=resume)
    from leaf_hub.parallel import is_main_process

    if is_main_process():  # torchrun: one table, not one per rank
        console.print(report.summary_table())


def _split_list(values: list[str] | None) -> list[str] | None:
    """Accept both ``--tasks A --tasks B`` and ``--tasks A,B``."""
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@app.command()
def evaluate(
    target: Annotated[
        Path, typer.Argument(help="Run folder (with recipe.yaml and model/) or a sentence-transformers model folder.")
    ],
    tasks: Annotated[
        list[str] | None, typer.Option("--tasks", help="SciFact, NFCorpus, STSBenchmark (repeat or comma-separate).")
    ] = None,
    modes: Annotated[
        list[str] | None, typer.Option("--modes", help="student, teacher, asymmetric, init (repeat or comma-separate).")
    ] = None,
    corpus_limit: Annotated[
        int | None, typer.Option("--corpus-limit", min=0, help="Sub-sample retrieval corpora to N docs; 0: full.")
    ] = None,
    query_limit: Annotated[
        int | None, typer.Option("--query-limit", min=0, help="Keep N queries (STS: pairs) per task; 0: all.")
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Data folder (default: $LEAF_HUB_DATA or ../shared/data).")
    ] = None,
    teacher: Annotated[
        str | None, typer.Option("--teacher", help="Model folder only: teacher folder or Hub id (adds teacher modes).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Results folder (default: RUN/eval or ./eval/<model>).")
    ] = None,
    sweep: Annotated[bool, typer.Option("--sweep/--no-sweep", help="Matryoshka × quantisation sweep.")] = True,
) -> None:
    """Evaluate with mteb: student / teacher / asymmetric scores, the sweep, results.json and a plot."""
    from leaf_hub.evaluation.report import scores_table, sweep_table
    from leaf_hub.evaluation.run import evaluate_model_folder, evaluate_run
    from leaf_hub.run_folder import RunFolder

    task_list, mode_list = _split_list(tasks), _split_list(modes)
    run = RunFolder(target)
    if run.is_run():
        if teacher is not None:
            raise errors.EvalError("--teacher is for a bare model folder; a run folder uses its recipe's teacher")
        out = output or run.eval_dir
        results = evaluate_run(
            run.load_recipe(),
            run,
            tasks=task_list,
            modes=mode_list,
            corpus_limit=corpus_limit,
            query_limit=query_limit,
            data_root=data,
            output_dir=out,
            sweep=sweep,
        )
    elif (target / "modules.json").is_file():
        out = output or Path("eval") / target.name
        results = evaluate_model_folder(
            target,
            teacher=teacher,
            tasks=task_list,
            modes=mode_list,
            corpus_limit=corpus_limit,
            query_limit=query_limit,
            data_root=data,
            output_dir=out,
            sweep=sweep,
        )
    else:
        raise errors.ModelFolderError(
            f"not a run folder (no recipe.yaml) nor a sentence-transformers model folder (no modules.json): {target}"
        )
    console.print(scores_table(results))
    if results.sweep:
        console.print(sweep_table(results))
    console.print(f"results: {out / 'results.json'}", markup=False, highlight=False)


@app.command()
def soup(
    sources: Annotated[
        list[Path], typer.Argument(help="Run folders, model folders or checkpoint folders to average (same student).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder to write (replaced if present).")],
    greedy: Annotated[
        bool, typer.Option("--greedy", help="Greedy soup: add a member only if held-out alignment improves.")
    ] = False,
    checkpoints: Annotated[
        bool, typer.Option("--checkpoints", help="Also average every saved checkpoint of each run folder.")
    ] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Also write the soup report JSON here.")] = None,
) -> None:
    """Average compatible students into one stock model folder (model soup, uniform or greedy)."""
    from rich.markup import escape
    from rich.table import Table

    from leaf_hub.distill.soup import soup as run_soup

    result = run_soup(sources, output, greedy=greedy, checkpoints=checkpoints)
    table = Table(title=escape(f"{result.method} soup -> {result.output}"))
    table.add_column("member")
    table.add_column("held-out alignment", justify="right")
    table.add_column("in soup")
    for member in result.members:
        score = "" if member.score is None else f"{member.score:.4f}"
        table.add_row(escape(member.source), score, "yes" if member.used else "no")
    table.add_row("[b]soup[/b]", "" if result.score is None else f"{result.score:.4f}", "")
    console.print(table)
    if result.n_validation:
        console.print(f"scored on {result.n_validation} held-out texts no member trained on; {result.seconds:.1f} s")
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(result.to_json())


def _published_run(run_dir: Path) -> tuple[Recipe, RunFolder]:
    """The ``(Recipe, RunFolder)`` pair of a run to submit; a missing or broken record is a LeaderboardError.

    The records are checked in the order the leaderboard always named them: ``release.json``, then
    ``eval/results.json``, then ``recipe.yaml``.
    """
    from leaf_hub.run_folder import RunFolder

    run = RunFolder(run_dir)
    try:
        run.load_manifest()
        run.load_results()
        return run.load_recipe(), run
    except (errors.RunFolderError, errors.RecipeError) as e:
        raise errors.LeaderboardError(str(e)) from e


@app.command()
def leaderboard(
    run_dir: Annotated[Path, typer.Argument(help="Published run folder (runs/<name>) with release.json and eval/.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Submission folder (default: RUN_DIR/leaderboard).")
    ] = None,
    training_dataset: Annotated[
        list[str] | None,
        typer.Option("--training-dataset", help="mteb dataset name the distillation text came from (repeatable)."),
    ] = None,
    pull_request: Annotated[
        bool,
        typer.Option(
            "--pull-request", help="Also write the results-repository pull request (folder + patch), validated by mteb."
        ),
    ] = False,
    open_pr: Annotated[
        bool, typer.Option("--open-pr", help="Open the pull request with gh (needs network; implies --pull-request).")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write file list, sizes and validation here (implies --pull-request)."),
    ] = None,
) -> None:
    """Build the MTEB leaderboard submission (results tree + ModelMeta entry) of a published run.

    Before anything is written, stock mteb (mteb.evaluate with mteb's own SentenceTransformerEncoderWrapper
    and the ModelMeta's prompts) scores the saved folder on every task to submit, on its full split; a
    score that differs from leaf-hub's by more than 1e-4 refuses the submission.

    With --pull-request (implied by --open-pr and --report) it also writes the pull request to the
    results repository: pull_request/ (the files as laid out there) and pull_request.patch (git am it
    on a clone), loads them back with mteb's own loaders and, with --open-pr, opens it with gh.
    """
    from rich.table import Table

    from leaf_hub.evaluation.stock import stock_scores
    from leaf_hub.leaderboard import build_submission

    recipe, run = _published_run(run_dir)
    sub = build_submission(
        recipe, run, output, stock_scorer=stock_scores, training_datasets=set(training_dataset or ())
    )
    submitted: list[str] = []
    if pull_request or open_pr or report is not None:
        submitted = _submit_pull_request(sub, open_pr=open_pr, report=report)
    table = Table(title=f"MTEB submission: {sub.model_name} @ {sub.revision[:12]}")
    table.add_column("task")
    table.add_column("main score ×100", justify="right")
    table.add_column("stock mteb ×100", justify="right")
    table.add_column("status")
    stock = {row.task: row.mteb for row in sub.agreement}
    for task, score in sub.tasks.items():
        theirs = f"{100 * stock[task]:.2f}" if task in stock else ""
        table.add_row(task, f"{100 * score:.2f}", theirs, "included")
    for task, why in sub.skipped.items():
        table.add_row(task, "", "", f"left out: {why}")
    console.print(table)
    console.print(f"results tree: {sub.results_dir}")
    console.print(f"ModelMeta entry: {sub.model_meta_py}")
    console.print(sub.instructions, markup=False, highlight=False)
    if submitted:
        console.print("\n".join(submitted), markup=False, highlight=False)


def _submit_pull_request(sub: Submission, *, open_pr: bool, report: Path | None) -> list[str]:
    """Write a submission's pull request, validate it with mteb, open it if asked, record it; say what was done."""
    import mteb

    from leaf_hub.leaderboard import pull_request_report, validate_pull_request, write_pull_request

    pr = write_pull_request(sub, open_pr=False)
    validation = validate_pull_request(pr)
    if open_pr:
        pr = write_pull_request(sub, open_pr=True)
    lines = [f"pull request files: {pr.folder}", *(f"  {path}  {size} bytes" for path, size in pr.files.items())]
    lines += [
        f"patch: {pr.patch}",
        f"validated with mteb {mteb.__version__}: {', '.join(validation['result_cache_tasks'])}",
    ]
    if pr.url:
        lines.append(f"opened: {pr.url}")
    if report is not None:
        record = pull_request_report(sub, pr, validation, command=" ".join(["leaf-hub", *sys.argv[1:]]))
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        lines.append(f"report: {report}")
    return lines


@app.command()
def publish(
    run_dir: Annotated[Path, typer.Argument(help="Run folder (runs/<name>) with model/, recipe.yaml and eval/.")],
    repo: Annotated[str, typer.Option("--repo", help="Target model repo, ORG/NAME.")],
    tag: Annotated[str, typer.Option("--tag", help="Release tag, v<recipe version> (e.g. v0.1.0).")],
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Hub URL (default: $HF_ENDPOINT or https://huggingface.co).")
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help="File holding the token (default: $HF_TOKEN or the hf login).")
    ] = None,
    private: Annotated[bool, typer.Option("--private", help="Create new repos as private.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be uploaded; send nothing.")] = False,
    asym: Annotated[
        bool, typer.Option("--asym", help="Also publish ORG/NAME-asym: queries -> student, documents -> teacher.")
    ] = False,
    allow_license_override: Annotated[
        bool, typer.Option("--allow-license-override", help="Publish despite a licence refusal (recorded).")
    ] = False,
    no_exports: NoExportsOption = False,
    compare_with: CompareWithOption = None,
) -> None:
    """Publish a run as one verified commit per repo, tagged only after it reloads to the same model."""
    # The embedded server (and any non-Xet hub) needs classic LFS; huggingface_hub reads this at import.
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    from rich.table import Table

    from leaf_hub.hub import resolve_token
    from leaf_hub.release import publish_run
    from leaf_hub.run_folder import RunFolder

    token = None if dry_run else resolve_token(token_file)
    result = publish_run(
        RunFolder(run_dir),
        repo_id=repo,
        tag=tag,
        endpoint=endpoint,
        token=token,
        private=private,
        dry_run=dry_run,
        asym=asym,
        allow_license_override=allow_license_override,
        exports=not no_exports,
        compare_with=compare_with or (),
    )
    for release in result.repos:
        title = f"{'would upload to' if result.dry_run else 'published'} {release.repo_id} {release.tag}"
        table = Table(title=title)
        table.add_column("file")
        table.add_column("bytes", justify="right")
        table.add_column("sha256")
        for path, (size, sha) in release.files.items():
            table.add_row(path, f"{size:,}", sha[:16])
        console.print(table)
        if not result.dry_run:
            state = "uploaded and verified" if release.uploaded else "already published (identical content)"
            cosine = f", min probe cosine {release.min_cosine:.6f}" if release.min_cosine is not None else ""
            console.print(f"{release.repo_id}@{release.tag} -> commit {release.commit}: {state}{cosine}")
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    console.print(f"{'dry run' if result.dry_run else result.endpoint}: {timing}")


app.command(name="serve")(serve)


@app.command()
def release(
    recipe: Annotated[str, typer.Argument(help="Recipe YAML path or shipped name (e.g. leaf-ir-mini).")],
    endpoint: Annotated[str | None, typer.Option(help="Hub URL (default: $HF_ENDPOINT or huggingface.co).")] = None,
    tag: Annotated[str | None, typer.Option(help="Release tag; must be v<recipe version> (the default).")] = None,
    token_file: Annotated[Path | None, typer.Option(help="File holding the Hub token (else $HF_TOKEN).")] = None,
    embedded_hub: Annotated[
        bool, typer.Option("--embedded-hub", help="Publish to leaf-hub's own Hub server, started on loopback.")
    ] = False,
    asym: Annotated[bool, typer.Option("--asym", help="Also publish ORG/NAME-asym (Router).")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Run folder (default: the recipe's).")] = None,
    repo: Annotated[str | None, typer.Option(help="Override the recipe's hub.repo_id.")] = None,
    summary_json: Annotated[Path | None, typer.Option(help="Also write the release summary JSON here.")] = None,
    no_exports: NoExportsOption = False,
    compare_with: CompareWithOption = None,
) -> None:
    """Distil → evaluate → card → publish → verify in one command; up-to-date stages are skipped."""
    from leaf_hub.release import release as run_release

    summary = run_release(
        recipe,
        endpoint=endpoint,
        tag=tag,
        token_file=token_file,
        embedded_hub=embedded_hub,
        asym=asym,
        output_dir=output,
        repo_id=repo,
        exports=not no_exports,
        compare_with=compare_with or (),
    )
    console.print(summary.summary_table())
    if summary_json is not None:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(summary.to_json())


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``leaf-hub`` console script.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).
    """
    # huggingface_hub reads these once, at import: classic LFS uploads work on every Hub (the
    # embedded server has no Xet), and no telemetry leaves an offline machine.
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    interrupted = "leaf-hub: interrupted; finished work is kept (rerun to resume)"
    try:
        app(args=argv, prog_name="leaf-hub")
    except KeyboardInterrupt:
        err_console.print(interrupted)
        sys.exit(130)
    except SystemExit as done:
        # typer turns Ctrl-C into a silent exit 130 (``Exit(130) from KeyboardInterrupt``)
        if done.code == 130 and isinstance(getattr(done.__context__, "__cause__", None), KeyboardInterrupt):
            err_console.print(interrupted)
        raise
    except Exception as error:  # noqa: BLE001 - mapped below, unknown ones re-raised
        code = exit_code_for(error)
        if code is None:
            raise
        if os.environ.get("LEAF_HUB_DEBUG") == "1":
            err_console.print_exception()
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        err_console.print(f"leaf-hub: error: {message}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(code)


if __name__ == "__main__":
    main()
