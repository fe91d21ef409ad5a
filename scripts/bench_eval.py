"""Benchmark: how much faster the student encodes than the teacher on CPU (the point of a leaf model).

Encodes real SciFact documents (``title + " " + text``, the evaluation's document text) and real
SciFact claims (queries) with the student and with the teacher, each model in its own fresh
process so that its peak resident memory is its own, and reports documents/s, queries/s, the
student/teacher ratios and the peak RSS of each process. No cache is involved: these are raw
forward passes with the evaluation's settings (batch size, max sequence length, prompts).

Usage:
    python scripts/bench_eval.py --quick                 # 200 docs, 200 queries
    python scripts/bench_eval.py --student runs/leaf-ir-mini/model --docs 1000 --queries 1000

Writes ``reports/bench_eval.json`` and prints a table. On a shared machine the absolute rates
move with the load; the ratio, measured in one run, is the figure to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STUDENT_RUN = ROOT / "runs" / "leaf-ir-mini" / "model"


def _texts(n_docs: int, n_queries: int) -> tuple[list[str], list[str]]:
    from leaf_hub.assets import resolve_data_file
    from leaf_hub.evaluation.data import document_text

    docs: list[str] = []
    with resolve_data_file("scifact/corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if len(docs) >= n_docs:
                break
            row = json.loads(line)
            docs.append(document_text(row.get("title") or "", row.get("text") or ""))
    queries: list[str] = []
    with resolve_data_file("scifact/queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if len(queries) >= n_queries:
                break
            queries.append(json.loads(line)["text"])
    return docs, queries


def _worker(args: argparse.Namespace) -> None:
    """Measure one model in this (fresh) process and print one JSON line."""
    import torch

    from leaf_hub.teacher import SentenceTransformerTeacher

    torch.set_num_threads(args.threads)
    docs, queries = _texts(args.docs, args.queries)
    tick = time.perf_counter()
    model = SentenceTransformerTeacher(
        args.model,
        batch_size=args.batch_size,
        max_seq_length=args.max_seq_length,
        query_prompt=args.query_prompt,
        document_prompt=args.document_prompt,
        device="cpu",
    )
    load_seconds = time.perf_counter() - tick
    model.encode(docs[:8], kind="document")  # warm-up: first-call allocations, thread pools
    rates: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for kind, texts in (("document", docs), ("query", queries)):
        best = 0.0
        for _ in range(args.repeats):
            tick = time.perf_counter()
            model.encode(texts, kind=kind)
            elapsed = time.perf_counter() - tick
            best = max(best, len(texts) / elapsed)
        rates[kind] = best
        seconds[kind] = len(texts) / best
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "path": str(args.model),
                "dim": model.dim,
                "max_seq_length": model.model.max_seq_length,
                "load_seconds": round(load_seconds, 2),
                "docs_per_s": round(rates["document"], 2),
                "queries_per_s": round(rates["query"], 2),
                "docs_seconds": round(seconds["document"], 2),
                "queries_seconds": round(seconds["query"], 2),
                "peak_rss_mb": round(peak_kb / 1024, 1),
            }
        )
    )


def _measure(role: str, model: str, args: argparse.Namespace, prompts: tuple[str, str]) -> dict[str, object]:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        "--model",
        model,
        "--docs",
        str(args.docs),
        "--queries",
        str(args.queries),
        "--batch-size",
        str(args.batch_size),
        "--threads",
        str(args.threads),
        "--repeats",
        str(args.repeats),
        "--query-prompt",
        prompts[0],
        "--document-prompt",
        prompts[1],
    ]
    if args.max_seq_length:
        cmd += ["--max-seq-length", str(args.max_seq_length)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"bench_eval: {role} worker failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _resolve(spec: str | None, fallback_id: str) -> str:
    from leaf_hub.assets import resolve_model
    from leaf_hub.recipe import ModelSpec

    if spec and Path(spec).is_dir():
        return spec
    return resolve_model(ModelSpec(id=spec or fallback_id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", help="Student folder (default: runs/leaf-ir-mini/model, else all-MiniLM-L6-v2).")
    parser.add_argument("--teacher", help="Teacher folder or id (default: all-mpnet-base-v2).")
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="200 documents and 200 queries, one repeat.")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=256, help="Token limit for both (leaf-ir recipes: 256).")
    parser.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    parser.add_argument("--repeats", type=int, default=2, help="Timed passes per measurement (best kept).")
    parser.add_argument("--output", type=Path, default=ROOT / "reports" / "bench_eval.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--query-prompt", default="", help=argparse.SUPPRESS)
    parser.add_argument("--document-prompt", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    if args.quick:
        args.docs, args.queries, args.repeats = 200, 200, 1

    student = args.student or (str(DEFAULT_STUDENT_RUN) if DEFAULT_STUDENT_RUN.is_dir() else None)
    student_path = _resolve(student, "sentence-transformers/all-MiniLM-L6-v2")
    teacher_path = _resolve(args.teacher, "sentence-transformers/all-mpnet-base-v2")
    from leaf_hub.evaluation.run import saved_prompts

    results = {
        "student": _measure("student", student_path, args, saved_prompts(Path(student_path))),
        "teacher": _measure("teacher", teacher_path, args, ("", "")),
    }
    s, t = results["student"], results["teacher"]
    report = {
        "benchmark": "bench_eval",
        "quick": args.quick,
        "texts": {"docs": args.docs, "queries": args.queries, "source": "SciFact corpus (title + text) and claims"},
        "settings": {
            "batch_size": args.batch_size,
            "max_seq_length": args.max_seq_length,
            "threads": args.threads,
            "repeats": args.repeats,
        },
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "models": results,
        "student_over_teacher": {
            "docs_per_s": round(float(s["docs_per_s"]) / float(t["docs_per_s"]), 2),
            "queries_per_s": round(float(s["queries_per_s"]) / float(t["queries_per_s"]), 2),
            "peak_rss": round(float(s["peak_rss_mb"]) / float(t["peak_rss_mb"]), 2),
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")

    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"CPU encoding throughput ({args.docs} SciFact docs, {args.queries} queries, {args.threads} threads)"
    )
    for col in ("model", "dim", "docs/s", "queries/s", "peak RSS MB", "load s"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for role, row in results.items():
        table.add_row(
            f"{role} ({Path(str(row['path'])).name})",
            str(row["dim"]),
            f"{row['docs_per_s']:.1f}",
            f"{row['queries_per_s']:.1f}",
            f"{row['peak_rss_mb']:.0f}",
            f"{row['load_seconds']:.1f}",
        )
    ratio = report["student_over_teacher"]
    table.add_row(
        "student / teacher",
        "",
        f"{ratio['docs_per_s']:.2f}×",
        f"{ratio['queries_per_s']:.2f}×",
        f"{ratio['peak_rss']:.2f}×",
        "",
    )
    table.caption = f"load average {report['machine']['load_average_1m']} at the end; written to {args.output}"
    Console().print(table)


if __name__ == "__main__":
    main()
