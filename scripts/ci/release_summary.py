#!/usr/bin/env python3
"""Render a release run folder as Markdown (release.yml appends it to ``$GITHUB_STEP_SUMMARY``).

Reads only what this run's stages left in ``RUN_DIR``, through :class:`leaf_hub.run_folder.RunFolder`
(the release manifest, the evaluation results, the distillation report, the release summary, and
``leaderboard/SUBMISSION.md``); a missing record is reported as such, so the summary of a failed run
says which stage did not finish. It never reads the committed
``reports/``: a failed release must not show another run's figures.

``leaf-hub release`` writes ``release_summary.json`` last, so when it is missing (or, with ``--tag``,
belongs to another tag) the release did not finish: the Markdown says so, and the script prints one
error line on stderr and exits 1. Never prints a token: only the listed fields are read.

Usage: python scripts/ci/release_summary.py runs/leaf-ir [--tag v0.2.0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from leaf_hub.errors import LeafHubError
from leaf_hub.run_folder import RunFolder


def _load(load: Any) -> Any:
    """A record of the run folder, or ``None`` when that stage left none (or a malformed one)."""
    try:
        return load()
    except LeafHubError:
        return None


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def summary_problem(run_dir: Path, tag: str | None = None) -> str | None:
    """Why ``run_dir`` has no finished release summary (``None``: ``release_summary.json`` is there and matches).

    Args:
        run_dir: The release's run folder.
        tag: The tag this release run published; a summary of another tag is a left-over.
    """
    run = RunFolder(run_dir)
    try:
        summary = run.load_summary()
    except LeafHubError as e:
        return str(e)
    if tag is not None and summary.tag != tag:
        return f"{run.summary_file} is for tag {summary.tag!r}, not {tag}: a left-over of another release"
    return None


def render(run_dir: Path, tag: str | None = None) -> str:
    """Return the Markdown summary of one release run folder (its own records only)."""
    run = RunFolder(run_dir)
    lines = [f"## leaf-hub release: `{run_dir.name}`", ""]
    release = _load(run.load_manifest)
    if release:
        endpoint = str(release.endpoint or "https://huggingface.co").rstrip("/")
        lines += [
            "| repository | tag | commit | mteb |",
            "|---|---|---|---|",
            f"| [{_cell(release.repo_id)}]({endpoint}/{release.repo_id}) | {_cell(release.tag or '?')} "
            f"| `{_cell(release.commit or '?')}` | {_cell(release.mteb_version or '?')} |",
            "",
        ]
    else:
        lines += ["**Not published**: no `release.json` (the release stopped before or during publish).", ""]

    results = _load(run.load_results)
    if results and results.scores:
        lines += ["### Scores", "", "| task | mode | metric | score ×100 | corpus |", "|---|---|---|---:|---|"]
        for score in results.scores:
            corpus = f"sub-sampled ({score.n_docs} docs)" if score.subsampled else "full"
            lines.append(
                f"| {_cell(score.task)} | {_cell(score.mode)} | {_cell(score.main_metric)} "
                f"| {100 * score.main_score:.2f} | {corpus} |"
            )
        lines.append("")
    else:
        lines += ["No evaluation results (`eval/results.json`).", ""]

    report = _load(run.load_report)
    if report:
        keys = ["alignment_before", "alignment_after", "steps", "n_train_texts", "train_seconds", "wall_seconds"]
        lines += ["### Distillation", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines.append("| " + " | ".join(_cell(getattr(report, k)) for k in keys) + " |")
        lines.append("")

    problem = summary_problem(run_dir, tag)
    summary = None if problem else _load(run.load_summary)
    if problem:
        lines += [f"**Release did not finish**: {_cell(problem)}.", ""]
    if summary:
        lines += [f"Release wall time: {summary.wall_seconds:.1f} s", ""]
        lines += ["### Stages", "", "| stage | status | seconds |", "|---|---|---:|"]
        for name, stage in summary.stages.items():
            lines.append(f"| {_cell(name)} | {_cell(stage.get('status', ''))} | {_cell(stage.get('seconds', ''))} |")
        lines.append("")

    submission = run.leaderboard_dir / "SUBMISSION.md"
    if submission.is_file():
        lines += ["### Leaderboard submission", "", submission.read_text(encoding="utf-8").strip(), ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the summary of ``RUN_DIR``; exit 1 with one error line if the release did not finish."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--tag", help="the tag this release published (a summary of another tag is refused)")
    args = parser.parse_args(argv)
    print(render(args.run_dir, args.tag))
    problem = summary_problem(args.run_dir, args.tag)
    if problem:
        print(f"release_summary: error: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
