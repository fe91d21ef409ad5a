#!/usr/bin/env python3
"""Render a release run folder as Markdown (release.yml appends it to ``$GITHUB_STEP_SUMMARY``).

Reads only what this run's stages left in ``RUN_DIR`` (``release.json``, ``eval/results.json``,
``metrics.json``, ``release_summary.json``, ``leaderboard/SUBMISSION.md``); a missing file is reported as
such, so the summary of a failed run says which stage did not finish. It never reads the committed
``reports/``: a failed release must not show another run's figures.

``leaf-hub release`` writes ``release_summary.json`` last, so when it is missing (or, with ``--tag``,
belongs to another tag) the release did not finish: the Markdown says so, and the script prints one
error line on stderr and exits 1. Never prints a token: only the listed fields are read.

Usage: python scripts/release_summary.py runs/leaf-ir [--tag v0.2.0]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def summary_problem(run_dir: Path, tag: str | None = None) -> str | None:
    """Why ``run_dir`` has no finished release summary (``None``: ``release_summary.json`` is there and matches).

    Args:
        run_dir: The release's run folder.
        tag: The tag this release run published; a summary of another tag is a left-over.
    """
    path = run_dir / "release_summary.json"
    if not path.is_file():
        return f"{path} is missing: the release did not finish"
    summary = _read(path)
    if summary is None:
        return f"{path} is not a JSON object"
    if tag is not None and summary.get("tag") != tag:
        return f"{path} is for tag {summary.get('tag')!r}, not {tag}: a left-over of another release"
    return None


def render(run_dir: Path, tag: str | None = None) -> str:
    """Return the Markdown summary of one release run folder (its own files only)."""
    lines = [f"## leaf-hub release: `{run_dir.name}`", ""]
    release = _read(run_dir / "release.json")
    if release:
        repo = release.get("repo_id", "?")
        endpoint = str(release.get("endpoint") or "https://huggingface.co").rstrip("/")
        lines += [
            "| repository | tag | commit | mteb |",
            "|---|---|---|---|",
            f"| [{_cell(repo)}]({endpoint}/{repo}) | {_cell(release.get('tag', '?'))} "
            f"| `{_cell(release.get('commit', '?'))}` | {_cell(release.get('mteb_version', '?'))} |",
            "",
        ]
    else:
        lines += ["**Not published**: no `release.json` (the release stopped before or during publish).", ""]

    results = _read(run_dir / "eval" / "results.json")
    if results and results.get("scores"):
        lines += ["### Scores", "", "| task | mode | metric | score ×100 | corpus |", "|---|---|---|---:|---|"]
        for score in results["scores"]:
            main = score.get("main_score")
            shown = f"{100 * main:.2f}" if isinstance(main, (int, float)) else "?"
            corpus = f"sub-sampled ({score.get('n_docs', '?')} docs)" if score.get("subsampled") else "full"
            lines.append(
                f"| {_cell(score.get('task'))} | {_cell(score.get('mode'))} | {_cell(score.get('main_metric'))} "
                f"| {shown} | {corpus} |"
            )
        lines.append("")
    else:
        lines += ["No evaluation results (`eval/results.json`).", ""]

    metrics = _read(run_dir / "metrics.json")
    if metrics:
        keys = ["alignment_before", "alignment_after", "steps", "n_train_texts", "train_seconds", "wall_seconds"]
        lines += ["### Distillation", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines.append("| " + " | ".join(_cell(metrics.get(k, "")) for k in keys) + " |")
        lines.append("")

    problem = summary_problem(run_dir, tag)
    summary = None if problem else _read(run_dir / "release_summary.json")
    if problem:
        lines += [f"**Release did not finish**: {_cell(problem)}.", ""]
    stages = (summary or {}).get("stages")
    if summary and summary.get("wall_seconds") is not None:
        lines += [f"Release wall time: {float(summary['wall_seconds']):.1f} s", ""]
    if isinstance(stages, (list, dict)):
        items = stages.items() if isinstance(stages, dict) else ((s.get("name", "?"), s) for s in stages)
        lines += ["### Stages", "", "| stage | status | seconds |", "|---|---|---:|"]
        for name, stage in items:
            stage = stage if isinstance(stage, dict) else {"seconds": stage}
            lines.append(f"| {_cell(name)} | {_cell(stage.get('status', ''))} | {_cell(stage.get('seconds', ''))} |")
        lines.append("")

    submission = run_dir / "leaderboard" / "SUBMISSION.md"
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
