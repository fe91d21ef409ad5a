"""Benchmark: the student as torch, ONNX fp32, ONNX int8 and OpenVINO int8 against the teacher on CPU.

For one distilled student folder this script

1. exports it (:func:`leaf_hub.export.export_student`: ONNX fp32, ONNX int8, and OpenVINO int8
   when ``openvino`` and ``nncf`` are installed) into a fresh folder;
2. times uncached query and document encoding of every variant and of the teacher (torch) on the
   same real SciFact texts with :func:`leaf_hub.evaluation.speed.time_models` (interleaved
   repeats, fastest of >= 5 kept, load average before/after), all at one token limit and thread count;
3. scores every variant and the teacher on SciFact and STS-B (test split) through leaf_hub's own
   evaluation (:func:`leaf_hub.evaluation.run.evaluate_models`, local data, the student folder's
   prompts for every student variant).

The target, fixed here before any run: the fastest CPU variant of the student reaches at least
``TARGET_SPEEDUP`` x the teacher's torch query throughput while losing at most
``MAX_SCORE_LOSS`` points (x100) against the torch student on each task. The report says
whether a variant meets it (``target``, and the stamp's :data:`TARGETS`); nothing is asserted.

Usage:
    python scripts/bench/bench_exports.py --student runs/leaf-ir-mini/model --quick   # small check
    python scripts/bench/bench_exports.py --student runs/leaf-ir-mini/model           # figure of record

``--quick`` (a check that the script works, not a figure): 8 documents and 8 queries timed at 64
tokens in batches of 8, SciFact on a 20-document sub-corpus with 4 queries and 4 STS-B pairs
(sub-sampled scores are labelled as such), OpenVINO left out; it writes ``reports/bench_exports_quick.json`` unless
``--output`` is given. Otherwise writes ``reports/bench_exports.json`` (``--output``) and prints a
table.

Cost on the quiet 2-core CPU machine, from the run of record's rates (teacher 5.6 docs/s and 65
queries/s at 256 tokens, the student variants 29-102 docs/s): the run of record's sizes
(``--docs 100 --queries 300 --corpus-limit 300``: 5 models timed 5 times, then scored on 300
SciFact documents and 300 queries and the 1,379 STS-B test pairs) about 6-8 min; the defaults
(1,000 and 1,000 timed, the full 5,183-document SciFact corpus scored by every variant) roughly
40-50 min, most of it the teacher's documents.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
#: Query throughput of the fastest student variant over the teacher's torch figure that the target asks for.
TARGET_SPEEDUP = 10.0
#: Largest score loss (points, x100) against the torch student on each task that the target allows.
MAX_SCORE_LOSS = 0.5
TASKS = ("SciFact", "STSBenchmark")
#: The target above, as the stamp checks it (``target.met`` combines the speed-up and the score loss).
TARGETS = (
    Target(
        f"fastest student variant >= {TARGET_SPEEDUP}x the teacher's torch queries/s",
        "target.query_speedup_vs_teacher",
        ">=",
        TARGET_SPEEDUP,
    ),
    Target(
        f"... and <= {MAX_SCORE_LOSS} points below the torch student on each of {', '.join(TASKS)}",
        "target.met",
        "==",
        True,
    ),
)


def _scores(student: Path, name: str, model: Any, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """SciFact and STS-B scores of one variant, through leaf_hub's evaluation (the variant in the teacher slot)."""
    from leaf_hub.evaluation.run import evaluate_models
    from leaf_hub.recipe import EvalSpec

    mode = "student" if model is None else "teacher"
    settings = EvalSpec(
        tasks=list(TASKS),
        modes=[mode],
        split="test",
        corpus_limit=args.corpus_limit,
        query_limit=args.query_limit,
        batch_size=args.batch_size,
    )
    results = evaluate_models(
        student,
        output_dir=work / name.replace("/", "_"),
        teacher=model,
        teacher_id=name,
        settings=settings,
        data_root=args.data_root,
        student_max_seq_length=args.max_seq_length,
        sweep=False,
        progress=False,
    )
    out: dict[str, Any] = {}
    for row in results.scores:
        if row.mode == mode:
            out[row.task] = {
                "main_metric": row.main_metric,
                "main_score": row.main_score,
                "subsampled": row.subsampled,
                "n_docs": row.n_docs,
                "n_queries": row.n_queries,
            }
    return out


def main() -> None:
    """Parse arguments, export, time, score, write the report and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", help="Student folder (default: runs/leaf-ir-mini/model; must exist).")
    parser.add_argument("--teacher", help="Teacher folder or id (default: all-mpnet-base-v2).")
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="8 docs / 8 queries timed; tiny score subsets.")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=256, help="Token limit of every model (leaf-ir: 256).")
    parser.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    parser.add_argument("--repeats", type=int, default=5, help="Interleaved timed passes per model (>= 5; min kept).")
    parser.add_argument("--corpus-limit", type=int, default=None, help="SciFact sub-corpus size (default: full).")
    parser.add_argument("--query-limit", type=int, default=None, help="Queries / STS pairs scored (default: all).")
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--no-openvino", action="store_true", help="Leave OpenVINO out even if installed.")
    parser.add_argument("--output", type=Path, default=None, help="default reports/bench_exports[_quick].json")
    args = parser.parse_args()

    from leaf_hub.evaluation.speed import MIN_REPEATS

    if args.repeats < MIN_REPEATS:
        sys.exit(f"bench_exports: --repeats must be at least {MIN_REPEATS} (the minimum of the repeats is reported)")
    if args.quick:
        args.docs, args.queries, args.max_seq_length, args.batch_size, args.no_openvino = 8, 8, 64, 8, True
        args.corpus_limit = args.corpus_limit or 20
        args.query_limit = args.query_limit or 4
    args.output = args.output or ROOT / "reports" / f"bench_exports{'_quick' if args.quick else ''}.json"
    student = student_folder(args.student, "bench_exports")
    teacher_path = resolve_teacher(args.teacher, "bench_exports")
    stamp = start_stamp(__file__, TARGETS, quick=args.quick)

    import torch

    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.evaluation.run import saved_prompts
    from leaf_hub.evaluation.speed import time_models
    from leaf_hub.export import export_student, openvino_available
    from leaf_hub.models.exported import ExportedStudent

    torch.set_num_threads(args.threads)
    docs, queries = scifact_texts(args.docs, args.queries)
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as tmp:
        work = Path(tmp)
        tick = time.perf_counter()
        exports = export_student(student, work / "exports", openvino=openvino_available() and not args.no_openvino)
        export_seconds = round(time.perf_counter() - tick, 1)

        query_prompt, document_prompt = saved_prompts(student)
        models: dict[str, Any] = {
            "student-torch": SentenceTransformerTeacher(
                student,
                query_prompt=query_prompt,
                document_prompt=document_prompt,
                batch_size=args.batch_size,
                max_seq_length=args.max_seq_length,
                device="cpu",
            )
        }
        facts: dict[str, dict[str, Any]] = {
            "student-torch": {"runtime": "torch", "precision": "fp32", "file": "model.safetensors"}
        }
        for export in exports:
            name = f"student-{export.runtime}-{export.precision}"
            variant = ExportedStudent(
                student, export.path_in(work / "exports"), batch_size=args.batch_size, threads=args.threads
            )
            variant.model.max_seq_length = args.max_seq_length
            models[name] = variant
            size = sum((work / "exports" / rel).stat().st_size for rel in export.files)
            facts[name] = {
                "runtime": export.runtime,
                "precision": export.precision,
                "file": export.path,
                "size_mb": round(size / 1e6, 1),
            }
        teacher_prompts = saved_prompts(Path(teacher_path))
        models["teacher-torch"] = SentenceTransformerTeacher(
            teacher_path,
            query_prompt=teacher_prompts[0],
            document_prompt=teacher_prompts[1],
            batch_size=args.batch_size,
            max_seq_length=args.max_seq_length,
            device="cpu",
        )
        facts["teacher-torch"] = {"runtime": "torch", "precision": "fp32", "file": teacher_path}

        timings = {
            kind: time_models(
                models,
                texts,
                kind=kind,
                repeats=args.repeats,
                source="SciFact " + ("documents" if kind == "document" else "queries"),
                batch_size=args.batch_size,
            )
            for kind, texts in (("query", queries), ("document", docs))
        }
        scores = {}
        for name, model in models.items():
            if name == "student-torch":
                scores[name] = _scores(student, name, None, args, work)
            else:
                scores[name] = _scores(student, name, model, args, work)

    teacher_qps = len(queries) / timings["query"].seconds["teacher-torch"]
    results: dict[str, dict[str, Any]] = {}
    for name in models:
        qps = len(queries) / timings["query"].seconds[name]
        dps = len(docs) / timings["document"].seconds[name]
        change = {
            task: round(100 * (scores[name][task]["main_score"] - scores["student-torch"][task]["main_score"]), 2)
            for task in TASKS
            if task in scores[name] and task in scores["student-torch"]
        }
        results[name] = {
            **facts[name],
            "queries_per_s": round(qps, 2),
            "docs_per_s": round(dps, 2),
            "query_speedup_vs_teacher": round(qps / teacher_qps, 2),
            "scores": scores[name],
            "score_change_vs_student_torch": change if name.startswith("student-") else None,
        }
    candidates = [n for n in results if n.startswith("student-")]
    fastest = max(candidates, key=lambda n: results[n]["queries_per_s"])
    best = results[fastest]
    meets = best["query_speedup_vs_teacher"] >= TARGET_SPEEDUP and all(
        loss >= -MAX_SCORE_LOSS for loss in (best["score_change_vs_student_torch"] or {}).values()
    )
    report = {
        "benchmark": "bench_exports",
        "quick": args.quick,
        "student": str(student),
        "teacher": teacher_path,
        "texts": {"docs": len(docs), "queries": len(queries), "source": "SciFact corpus (title + text) and claims"},
        "settings": {
            "batch_size": args.batch_size,
            "max_seq_length": args.max_seq_length,
            "threads": args.threads,
            "repeats": args.repeats,
            "score_split": "test",
            "corpus_limit": args.corpus_limit,
            "query_limit": args.query_limit,
            "timing": "interleaved repeats in one process, fastest kept (leaf_hub.evaluation.speed.time_models)",
            "export_seconds": export_seconds,
        },
        "models": results,
        "timings": {kind: record.model_dump(mode="json") for kind, record in timings.items()},
        "target": {
            "rule": f"fastest student variant >= {TARGET_SPEEDUP}x the teacher's torch query throughput and "
            f"<= {MAX_SCORE_LOSS} points below the torch student on each of {', '.join(TASKS)}",
            "fastest": fastest,
            "query_speedup_vs_teacher": best["query_speedup_vs_teacher"],
            "score_change_vs_student_torch": best["score_change_vs_student_torch"],
            "met": meets,
        },
    }
    out = write_report(args.output, report, stamp)
    print_table(
        f"student exports vs the teacher ({len(queries)} queries, {len(docs)} docs, {args.threads} threads)",
        ("model", "queries/s", "docs/s", "x teacher", *TASKS),
        [
            (
                name,
                f"{row['queries_per_s']:.1f}",
                f"{row['docs_per_s']:.1f}",
                f"{row['query_speedup_vs_teacher']:.2f}",
                *(f"{100 * row['scores'][t]['main_score']:.2f}" if t in row["scores"] else "-" for t in TASKS),
            )
            for name, row in results.items()
        ],
        caption=f"target ({report['target']['rule']}): {'met' if meets else 'not met'} by {fastest}",
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
