"""Benchmark: how much faster the student encodes than the teacher on CPU (the point of a leaf model).

Encodes real SciFact documents (``title + " " + text``, the evaluation's document text) and real
SciFact claims (queries) with the student and with the teacher, with the evaluation's settings
(batch size, max sequence length, each model's saved prompts) and no cache: raw forward passes.

Both models are loaded in this process and timed by :func:`leaf_hub.evaluation.speed.time_models`:
the same texts, interleaved repeats (student, teacher, teacher, student, ...), each model's
fastest of at least 5 repeats kept, so a change of machine load hits both models. The 1-minute
load average is recorded before and after each timing. Peak resident memory is measured
separately, each model in its own fresh process (one batch of documents and queries), so that it
is the model's own.

The student must be a leaf student folder: a missing folder is refused (one line, exit 1), never
replaced by the student initialisation.

More leaves can be timed in the same interleaved runs (``--leaf NAME=FOLDER``, repeatable), e.g. the
static leaf beside the transformer leaf; each model's kind (``static`` for a ``StaticEmbedding``
folder, else ``transformer``) and its ratios to the teacher are recorded.

The targets, declared here (:data:`TARGETS`) and checked in the report's stamp: the student encodes
documents and queries at least 7x as fast as the teacher; the first static leaf timed (the student or
a ``--leaf``) encodes queries at least 500x as fast as the teacher (issue 29; no static leaf: not
measured).

Usage:
    python scripts/bench/bench_eval.py --student runs/leaf-ir-mini/model --quick    # 8 docs, 8 queries, 64 tokens
    python scripts/bench/bench_eval.py --student runs/leaf-ir-mini/model --docs 1000 --queries 1000
    python scripts/bench/bench_eval.py --student runs/leaf-ir-mini/model \
        --leaf static=runs/leaf-ir-static-mini/model --docs 100 --queries 300

Writes ``reports/bench_eval.json`` (``--output``; ``--quick``: ``reports/bench_eval_quick.json``)
and prints a table. Every model encodes every text 5 times, so the cost is set by the teacher's
documents: the run of record's sizes (``--docs 100 --queries 300``) take minutes on a 2-core CPU
machine, the defaults (1,000 and 1,000) several times that; the report records the rates and the
stamp the wall time. On a shared machine the absolute
rates move with the load; the ratio, measured interleaved in one run, is the figure to
quote, together with the load it was measured at.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from common import (
    Target,
    print_table,
    resolve_teacher,
    scifact_texts,
    start_stamp,
    student_folder,
    write_report,
)

ROOT = Path(__file__).resolve().parents[2]
#: Declared before any run: the student encodes at least 7x as many texts per second as the teacher.
TARGETS = (
    Target("student >= 7x the teacher's documents/s", "student_over_teacher.docs_per_s", ">=", 7.0),
    Target("student >= 7x the teacher's queries/s", "student_over_teacher.queries_per_s", ">=", 7.0),
    Target("static leaf >= 500x the teacher's queries/s", "static_over_teacher.queries_per_s", ">=", 500.0),
)


def _kind(folder: Path) -> str:
    """``static`` for a sentence-transformers folder whose first module is a ``StaticEmbedding``."""
    modules = folder / "modules.json"
    if modules.is_file():
        entries = json.loads(modules.read_text(encoding="utf-8"))
        if entries and str(entries[0].get("type", "")).endswith("StaticEmbedding"):
            return "static"
    return "transformer"


def _leaves(specs: list[str] | None) -> dict[str, Path]:
    """``NAME=FOLDER`` options -> name -> folder (one line and exit 1 on a bad one)."""
    leaves: dict[str, Path] = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep or not name or name in ("student", "teacher") or name in leaves:
            sys.exit(f"bench_eval: --leaf wants NAME=FOLDER with a new name other than student/teacher, got {spec!r}")
        leaves[name] = student_folder(path, "bench_eval")
    return leaves


def _load(path: str, args: argparse.Namespace, prompts: tuple[str, str]):
    from leaf_hub.encoders import SentenceTransformerTeacher

    return SentenceTransformerTeacher(
        path,
        batch_size=args.batch_size,
        # a static model (a token-embedding table) has no token limit to set
        max_seq_length=None if _kind(Path(path)) == "static" else args.max_seq_length,
        query_prompt=prompts[0],
        document_prompt=prompts[1],
        device="cpu",
    )


def _worker(args: argparse.Namespace) -> None:
    """Peak memory of one model in this (fresh) process: load, one batch of each kind; one JSON line."""
    import torch

    torch.set_num_threads(args.threads)
    docs, queries = scifact_texts(args.batch_size, args.batch_size)
    model = _load(args.model, args, (args.query_prompt, args.document_prompt))
    model.encode(docs, kind="document")
    model.encode(queries, kind="query")
    print(json.dumps({"peak_rss_mb": round(_peak_kb() / 1024, 1)}))


def _peak_kb() -> int:
    """This process's peak resident memory in kB.

    ``VmHWM`` of ``/proc/self/status`` where there is one: unlike ``ru_maxrss``, it starts afresh at
    ``exec``, so the parent's loaded models (inherited by the forked child) do not count.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_rss(role: str, model: str, args: argparse.Namespace, prompts: tuple[str, str]) -> float:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        "--model",
        model,
        "--batch-size",
        str(args.batch_size),
        "--threads",
        str(args.threads),
        "--query-prompt",
        prompts[0],
        "--document-prompt",
        prompts[1],
    ]
    if args.max_seq_length:
        cmd += ["--max-seq-length", str(args.max_seq_length)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"bench_eval: {role} memory worker failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["peak_rss_mb"])


def main() -> None:
    """Parse arguments, time both models interleaved, write the report and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", help="Student folder (default: runs/leaf-ir-mini/model; must exist).")
    parser.add_argument("--teacher", help="Teacher folder or id (default: all-mpnet-base-v2).")
    parser.add_argument("--leaf", action="append", help="Another leaf to time, NAME=FOLDER (repeatable).")
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument(
        "--quick", action="store_true", help="8 documents and 8 queries at 64 tokens, batch 8 (still >= 5 repeats)."
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=256, help="Token limit for both (leaf-ir recipes: 256).")
    parser.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    parser.add_argument("--repeats", type=int, default=5, help="Interleaved timed passes per model (>= 5; min kept).")
    parser.add_argument("--no-memory", action="store_true", help="Skip the peak-memory processes.")
    parser.add_argument("--output", type=Path, default=None, help="default reports/bench_eval[_quick].json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--query-prompt", default="", help=argparse.SUPPRESS)
    parser.add_argument("--document-prompt", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    from leaf_hub.evaluation.speed import MIN_REPEATS

    if args.repeats < MIN_REPEATS:
        sys.exit(f"bench_eval: --repeats must be at least {MIN_REPEATS} (the minimum of the repeats is reported)")
    if args.quick:
        args.docs, args.queries, args.max_seq_length, args.batch_size = 8, 8, 64, 8
    args.output = args.output or ROOT / "reports" / f"bench_eval{'_quick' if args.quick else ''}.json"

    student_path = student_folder(args.student, "bench_eval")
    leaves = {"student": student_path, **_leaves(args.leaf)}
    teacher_path = resolve_teacher(args.teacher, "bench_eval")
    stamp = start_stamp(__file__, TARGETS, quick=args.quick)

    import torch

    from leaf_hub.evaluation.run import saved_prompts
    from leaf_hub.evaluation.speed import time_models

    torch.set_num_threads(args.threads)
    docs, queries = scifact_texts(args.docs, args.queries)
    prompts = {name: saved_prompts(path) for name, path in leaves.items()}
    prompts["teacher"] = saved_prompts(Path(teacher_path))
    models = {}
    load_seconds = {}
    for role, path in [*((name, str(path)) for name, path in leaves.items()), ("teacher", teacher_path)]:
        tick = time.perf_counter()
        models[role] = _load(path, args, prompts[role])
        load_seconds[role] = round(time.perf_counter() - tick, 2)
    timings = {
        kind: time_models(
            models,
            texts,
            kind=kind,
            repeats=args.repeats,
            source="SciFact " + ("documents" if kind == "document" else "queries"),
            batch_size=args.batch_size,
        )
        for kind, texts in (("document", docs), ("query", queries))
    }
    rates = {
        role: {
            kind: len(texts) / timings[kind].seconds[role] for kind, texts in (("document", docs), ("query", queries))
        }
        for role in models
    }
    rss = (
        {}
        if args.no_memory
        else {role: _peak_rss(role, str(models[role].source), args, prompts[role]) for role in models}
    )
    results = {
        role: {
            "path": models[role].source,
            "kind": _kind(Path(str(models[role].source))),
            "dim": models[role].dim,
            "max_seq_length": None
            if _kind(Path(str(models[role].source))) == "static"
            else models[role].model.max_seq_length,
            "load_seconds": load_seconds[role],
            "docs_per_s": round(rates[role]["document"], 2),
            "queries_per_s": round(rates[role]["query"], 2),
            "docs_seconds": timings["document"].seconds[role],
            "queries_seconds": timings["query"].seconds[role],
            "peak_rss_mb": rss.get(role),
        }
        for role in models
    }
    t = results["teacher"]

    def over_teacher(role: str) -> dict[str, float | None]:
        row = results[role]
        return {
            "docs_per_s": round(float(row["docs_per_s"]) / float(t["docs_per_s"]), 2),
            "queries_per_s": round(float(row["queries_per_s"]) / float(t["queries_per_s"]), 2),
            "peak_rss": round(rss[role] / rss["teacher"], 2) if rss else None,
        }

    ratios = {role: over_teacher(role) for role in leaves}
    static = next((role for role in leaves if results[role]["kind"] == "static"), None)
    report = {
        "benchmark": "bench_eval",
        "quick": args.quick,
        "texts": {"docs": len(docs), "queries": len(queries), "source": "SciFact corpus (title + text) and claims"},
        "settings": {
            "batch_size": args.batch_size,
            "max_seq_length": args.max_seq_length,
            "threads": args.threads,
            "repeats": args.repeats,
            "timing": "interleaved repeats in one process, fastest kept (leaf_hub.evaluation.speed.time_models)",
        },
        "models": results,
        "timings": {kind: record.model_dump(mode="json") for kind, record in timings.items()},
        "student_over_teacher": ratios["student"],
        "over_teacher": ratios,
        "static_leaf": static,
        "static_over_teacher": ratios[static] if static else None,
    }
    out = write_report(args.output, report, stamp)
    machine = json.loads(out.read_text(encoding="utf-8"))["stamp"]["machine"]

    table = [
        (
            f"{role} ({Path(str(row['path'])).name})",
            str(row["dim"]),
            f"{row['docs_per_s']:.1f}",
            f"{row['queries_per_s']:.1f}",
            f"{row['peak_rss_mb']:.0f}" if row["peak_rss_mb"] is not None else "–",
            f"{row['load_seconds']:.1f}",
        )
        for role, row in results.items()
    ]
    for role, ratio in ratios.items():
        table.append(
            (
                f"{role} / teacher",
                "",
                f"{ratio['docs_per_s']:.2f}×",
                f"{ratio['queries_per_s']:.2f}×",
                f"{ratio['peak_rss']:.2f}×" if ratio["peak_rss"] is not None else "–",
                "",
            )
        )
    print_table(
        f"CPU encoding throughput ({len(docs)} SciFact docs, {len(queries)} queries, {args.threads} threads, "
        f"min of {args.repeats} interleaved repeats)",
        ("model", "dim", "docs/s", "queries/s", "peak RSS MB", "load s"),
        table,
        caption=f"load average (1 min) {machine['load_average_before'][0]} at the start, "
        f"{machine['load_average_after'][0]} at the end; written to {out}",
    )


if __name__ == "__main__":
    main()
