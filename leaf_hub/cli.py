"""The ``leaf-hub`` command line: a thin typer app over the stage modules.

Every subcommand parses its options, calls one stage function and prints its result. Known
errors (:mod:`leaf_hub.errors`) become one line on stderr and an exit code from
:data:`ERROR_EXIT_CODES`; ``LEAF_HUB_DEBUG=1`` shows the traceback too.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leaf_hub import errors
from leaf_hub.version import __version__

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
err_console = Console(stderr=True)

#: Error class -> exit code, most specific first (like huggingface_hub's ``CLI_ERROR_MAPPINGS``).
ERROR_EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (errors.RecipeError, 2),
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
    for noisy in ("httpx", "httpcore", "urllib3", "huggingface_hub", "sentence_transformers", "transformers", "mteb"):
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
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint in the run folder.")] = False,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Override training.max_steps.")] = None,
) -> None:
    """Distil a student from a recipe: teacher cache, training, alignment report."""
    from leaf_hub.distill import distill as run_distill
    from leaf_hub.recipe import load_recipe

    overrides: dict[str, object] = {}
    if output is not None:
        overrides["output_dir"] = str(output)
    if max_steps is not None:
        overrides["training.max_steps"] = max_steps
    report = run_distill(load_recipe(recipe, overrides), resume=resume)
    console.print(report.summary_table())


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
) -> None:
    """Publish a run as one verified commit per repo, tagged only after it reloads to the same model."""
    # The embedded server (and any non-Xet hub) needs classic LFS; huggingface_hub reads this at import.
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    from rich.table import Table

    from leaf_hub.hub import resolve_token
    from leaf_hub.publish import publish as run_publish

    token = None if dry_run else resolve_token(token_file)
    result = run_publish(
        run_dir,
        repo_id=repo,
        tag=tag,
        endpoint=endpoint,
        token=token,
        private=private,
        dry_run=dry_run,
        asym=asym,
        allow_license_override=allow_license_override,
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


def main() -> None:
    """Entry point of the ``leaf-hub`` console script."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("leaf-hub: interrupted; finished work is kept (rerun to resume)")
        sys.exit(130)
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
