#!/usr/bin/env python3
"""Build the MTEB leaderboard submission of a published run and its pull request to the results repository.

Offline (the default) it writes, beside the submission tree of ``leaf-hub leaderboard``:
``pull_request/`` (the files as laid out in embeddings-benchmark/results) and ``pull_request.patch``
(one commit adding them: ``git am`` it on a clone of the results repository). ``--open-pr`` then
forks the results repository, pushes the commit and opens the pull request with the GitHub CLI.
The ``ModelMeta`` entry for mteb's model registry is ``model_meta.py`` in the submission folder.
``--report`` writes the file list, sizes and the result of loading the pull request back with mteb's
own loaders (``reports/leaderboard_submission.json``).

Usage:
    python scripts/submit_leaderboard.py runs/leaf-ir [--output DIR] [--training-dataset NAME ...]
        [--open-pr] [--report reports/leaderboard_submission.json]
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False)


@app.command()
def submit(
    run_dir: Annotated[Path, typer.Argument(help="Published run folder (runs/<name>) with release.json and eval/.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Submission folder (default: RUN_DIR/leaderboard).")
    ] = None,
    training_dataset: Annotated[
        list[str] | None,
        typer.Option("--training-dataset", help="mteb dataset name the distillation text came from (repeatable)."),
    ] = None,
    open_pr: Annotated[bool, typer.Option("--open-pr", help="Open the pull request with gh (needs network).")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write file list, sizes and validation here.")] = None,
) -> None:
    """Build the submission, write its pull request (folder + patch), validate it with mteb, optionally open it."""
    import mteb

    from leaf_hub.leaderboard import build_submission, validate_pull_request, write_pull_request

    sub = build_submission(run_dir, output, training_datasets=set(training_dataset or ()))
    pr = write_pull_request(sub, open_pr=False)
    validation = validate_pull_request(pr)
    if open_pr:
        pr = write_pull_request(sub, open_pr=True)
    print(sub.instructions)
    print(f"pull request files: {pr.folder}")
    for path, size in pr.files.items():
        print(f"  {path}  {size} bytes")
    print(f"patch: {pr.patch}")
    print(f"validated with mteb {mteb.__version__}: {', '.join(validation['result_cache_tasks'])}")
    if pr.url:
        print(f"opened: {pr.url}")
    if report is not None:
        record = {
            "model": sub.model_name,
            "revision": sub.revision,
            "mteb_version": mteb.__version__,
            "tasks": sub.tasks,
            "skipped": sub.skipped,
            "files": pr.files,
            "total_bytes": sum(pr.files.values()),
            "patch": {
                "file": pr.patch.name,
                "bytes": pr.patch.stat().st_size,
                "sha256": hashlib.sha256(pr.patch.read_bytes()).hexdigest(),
            },
            "validation": validation,
            "pull_request_url": pr.url,
            "command": " ".join(["python", "scripts/submit_leaderboard.py", *sys.argv[1:]]),
        }
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"report: {report}")


def main() -> None:
    """Run the command; known errors print one line and exit with leaf-hub's exit codes."""
    from leaf_hub.cli import exit_code_for

    try:
        app()
    except Exception as error:  # noqa: BLE001 - mapped below, unknown ones re-raised
        code = exit_code_for(error)
        if code is None:
            raise
        print(f"submit_leaderboard: error: {str(error).splitlines()[0]}", file=sys.stderr)
        sys.exit(code)


if __name__ == "__main__":
    main()
