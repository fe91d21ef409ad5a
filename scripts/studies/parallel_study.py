"""1- vs 2-process distillation: is a ``torchrun`` run as good as a one-process run, and how fast?

Every row distils a down-sized leaf-ir-mini (``--queries`` + ``--documents`` texts, ``--heldout``
held out, token limit ``--max-seq-length``, ``--epochs`` epochs at batch 32) through the CLI, from
an empty cache (its own ``LEAF_HUB_HOME``, models linked in), so every row's teacher encodes all
its texts and the teacher times compare:

* one process (``OMP_NUM_THREADS`` = all cores) for each of ``--seeds`` seeds: the seed spread;
* ``torchrun --nproc_per_node 2`` (gloo, ``OMP_NUM_THREADS`` = cores / 2) for ``--parallel-seeds``;
* ``--threads N`` sets every process's ``OMP_NUM_THREADS`` instead (a timing control row);
* ``--score-distill-weight 0`` turns off the recipe's in-batch score-distillation term (under DDP
  it sees each rank's slice of the batch, not the global batch).

A seed sets the sampled texts and the training order (the recipe's ``training.seed``), so a 2-process
row with a seed trains on exactly the batches of the 1-process row with that seed (each split across
the ranks) and the paired difference is reported too.

The decision rule is fixed here before any row runs and written, with the sha256 of :func:`decide`'s
source, into the report before the first row (:data:`RULE`).

Usage::

    python scripts/studies/parallel_study.py --workdir /tmp/parallel_study
    python scripts/studies/parallel_study.py --quick     # a check that the script works, not a figure

Writes ``reports/parallel_study.json`` (``--output``) and prints a table. A study has no target
(:data:`TARGETS` is empty): it has its decision rule. ``--quick``: one 1-process and one 2-process
row (seed 1) of 24 texts, 10 held out, 64 tokens, one epoch, in a temporary ``--workdir``; it writes
``reports/parallel_study_quick.json`` unless ``--output`` is given.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

SCRIPTS = Path(__file__).resolve().parents[1]
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))  # scripts/: the machine block shared with the benchmarks

from bench.common import load_average, start_stamp, write_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
#: A study declares no target; :data:`RULE` decides.
TARGETS = ()

RULE = (
    "The 2-process run is as good as a 1-process run when each 2-process row's held-out alignment after "
    "training lies within [min, max] of the 1-process rows' alignment after training (the seed spread)."
)


def decide(one_process: list[float], two_process: list[float]) -> dict[str, Any]:
    """Apply :data:`RULE`: each 2-process alignment within the 1-process seed range."""
    low, high = min(one_process), max(one_process)
    return {
        "one_process_range": [low, high],
        "two_process": two_process,
        "within_seed_spread": all(low <= a <= high for a in two_process),
    }


def _recipe(workdir: Path, args: argparse.Namespace, seed: int, name: str) -> Path:
    data = yaml.safe_load((ROOT / "recipes" / "leaf-ir-mini.yaml").read_text())
    data["name"] = name
    data["output_dir"] = str(workdir / name / "run")
    data["data"]["sources"][0]["samples"] = args.queries
    data["data"]["sources"][1]["samples"] = args.documents
    data["data"]["heldout"] = args.heldout
    data["teacher"]["max_seq_length"] = args.max_seq_length
    data["student"]["max_seq_length"] = args.max_seq_length
    data["training"]["epochs"] = args.epochs
    data["training"]["seed"] = seed
    if args.score_distill_weight is not None:
        data["training"]["score_distill_weight"] = args.score_distill_weight
    path = workdir / name / "recipe.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _home(workdir: Path, name: str) -> Path:
    from leaf_hub.assets import leaf_hub_home

    home = workdir / name / "home"
    home.mkdir(parents=True, exist_ok=True)
    link = home / "models"
    if not link.exists():
        link.symlink_to(leaf_hub_home() / "models", target_is_directory=True)
    return home


def run_row(workdir: Path, args: argparse.Namespace, world: int, seed: int) -> dict[str, Any]:
    """One distillation from an empty cache; returns its figures from its ``metrics.json``."""
    name = f"w{world}-s{seed}"
    recipe = _recipe(workdir, args, seed, name)
    cores = os.cpu_count() or 1
    env = {
        **os.environ,
        "LEAF_HUB_HOME": str(_home(workdir, name)),
        "OMP_NUM_THREADS": str(args.threads or max(1, cores // world)),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    if world == 1:
        cmd = [sys.executable, "-m", "leaf_hub.cli", "distill", str(recipe)]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(world)]
        cmd += ["-m", "leaf_hub.cli", "distill", str(recipe)]
    load_start = load_average()
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    (workdir / name / "log.txt").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        last = ([line for line in (proc.stderr or proc.stdout).splitlines() if line.strip()] or ["?"])[-1]
        raise SystemExit(f"{name} failed (exit {proc.returncode}): {last}; see {workdir / name / 'log.txt'}")
    from dataclasses import asdict

    from leaf_hub.run_folder import RunFolder

    m = asdict(RunFolder(workdir / name / "run").load_report())
    n_teacher = m["teacher_texts_encoded"]
    return {
        "world_size": world,
        "seed": seed,
        "omp_threads_per_process": int(env["OMP_NUM_THREADS"]),
        "n_train_texts": m["n_train_texts"],
        "n_heldout": m["n_heldout"],
        "steps": m["steps"],
        "text_passes": m["text_passes"],
        "alignment_before": m["alignment_before"],
        "alignment_after": m["alignment_after"],
        "teacher_texts_encoded": n_teacher,
        "teacher_encoded_per_rank": m.get("teacher_encoded_per_rank", []),
        "teacher_seconds": m["teacher_seconds"],
        "teacher_texts_per_s": n_teacher / max(m["teacher_seconds"], 1e-9),
        "train_seconds": m["train_seconds"],
        "train_texts_per_s": m["train_texts_per_s"],
        "distill_wall_seconds": m["wall_seconds"],
        "process_seconds": seconds,
        "load_average_start": load_start,
        "load_average_end": load_average(),
    }


def main() -> None:
    """Run the rows and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="required unless --quick (a temporary one)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--parallel-seeds", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--threads", type=int, default=None, help="OMP threads per process (default: cores / world)")
    parser.add_argument(
        "--score-distill-weight", type=float, default=None, help="Override the recipe's (0: no in-batch loss term)"
    )
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--heldout", type=int, default=100)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--quick", action="store_true", help="one row per world size, tiny sizes")
    parser.add_argument("--output", type=Path, default=None, help="default reports/parallel_study[_quick].json")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.parallel_seeds = [1], [1]
        args.queries, args.documents, args.heldout, args.max_seq_length, args.epochs = 16, 8, 10, 64, 1.0
        args.workdir = args.workdir or Path(tempfile.mkdtemp(prefix="parallel-study-quick-"))
    if args.workdir is None:
        parser.error("--workdir is required (unless --quick)")
    args.output = args.output or ROOT / "reports" / f"parallel_study{'_quick' if args.quick else ''}.json"
    args.workdir.mkdir(parents=True, exist_ok=True)

    stamp = start_stamp(__file__, TARGETS, quick=args.quick)
    report: dict[str, Any] = {
        "rule": RULE,
        "decide_sha256": hashlib.sha256(inspect.getsource(decide).encode()).hexdigest(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "note": "timings on a shared, busy machine: indicative only, not figures of record for speed",
        "rows": [],
    }

    def write() -> None:
        write_report(args.output, report, stamp)

    write()  # the rule is on disk before any row
    plan = [(2, s) for s in args.parallel_seeds] + [(1, s) for s in args.seeds]
    for world, seed in plan:
        row = run_row(args.workdir, args, world, seed)
        report["rows"].append(row)
        write()
        print(
            f"world {world} seed {seed}: alignment {row['alignment_before']:.4f} -> {row['alignment_after']:.4f}, "
            f"teacher {row['teacher_texts_per_s']:.1f} texts/s, train {row['train_texts_per_s']:.1f} texts/s, "
            f"wall {row['distill_wall_seconds']:.0f} s",
            flush=True,
        )
    one = [r["alignment_after"] for r in report["rows"] if r["world_size"] == 1]
    two = [r["alignment_after"] for r in report["rows"] if r["world_size"] == 2]
    if one and two:
        report["decision"] = decide(one, two)
    by_seed = {r["seed"]: r["alignment_after"] for r in report["rows"] if r["world_size"] == 1}
    report["paired_difference"] = {
        str(r["seed"]): r["alignment_after"] - by_seed[r["seed"]]
        for r in report["rows"]
        if r["world_size"] == 2 and r["seed"] in by_seed
    }
    write()
    print(json.dumps({k: report.get(k) for k in ("decision", "paired_difference")}, indent=2))


if __name__ == "__main__":
    main()
