"""Benchmark fp32 against bf16 on this machine, side by side in one run: matmul, teacher vectors, training.

Measured in one process on ``--threads`` threads (default 2), each pair alternating:

* **matmul**: ``torch.mm`` of ``n × n`` matrices in fp32 and in bf16 (2048², 1024², 512²): GFLOP/s.
  The bf16 rate is the machine's real limit where it has AMX / AVX512-BF16.
* **teacher**: the recipe's teacher (all-mpnet-base-v2) encoding ``--teacher-texts`` distillation
  texts in fp32, with its weights cast to bf16 (what :class:`leaf_hub.encoders.SentenceTransformerTeacher`
  does with ``precision="bf16"``), and with fp32 weights and only ``encode`` under
  ``torch.autocast("cpu", dtype=torch.bfloat16)``: texts/s of each and the cosine distribution (mean,
  min, 1st percentile) of each bf16 way's renormalised vectors to the fp32 vectors, on the timed
  texts and on the recipe's held-out texts, with the fallback rule's verdict
  (:func:`leaf_hub.encoders.bf16_passes`: mean ≥ 0.999).
* **trainer**: the leaf trainer (:func:`leaf_hub.distill.distill_models`) from the same ridge-initialised
  student on the same texts, teacher vectors, steps and seed, in fp32 and in bf16 (the trainer's
  bf16 autocast, ``dtype="bf16"``): texts/s, real tokens/s, useful GFLOP/s and their share of the
  fp32 and bf16 matmul rates (2048²), and held-out alignment at equal steps.

Where the CPU reports neither AMX nor AVX512-BF16 (``native_bf16: false`` in the report) torch
emulates bf16 and every bf16 figure is that emulation's, far below fp32: the teacher target is
then reported missed, as measured, and the trainer's share of the bf16 rate is not measured (an
emulated rate is no limit). The targets are declared in :data:`TARGETS` before any run.

Usage: ``python scripts/bench/bench_precision.py [--quick] [--out PATH] [--threads 2]``; writes
``reports/bench_precision.json`` (``--quick``: tiny sizes, ``reports/bench_precision_quick.json``,
not figures of record) and prints a table.
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_train import useful_flops_per_token
from common import Target, machine_facts, print_table, start_stamp, write_report

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

#: Teacher bf16 (weights cast) texts/s at least 3× fp32's; the leaf trainer in bf16 at least 30 % of
#: the bf16 matmul rate (2048²); bf16 training's held-out alignment within the seed range of fp32's
#: (0.0010: the spread of three seeds in reports/schedule_study.json, ``spread.alignment``).
ALIGNMENT_SEED_RANGE = 0.0010
TARGETS = (
    Target("teacher bf16 (weights cast) texts/s >= 3x fp32", "teacher.speedup_weights_cast", ">=", 3.0),
    Target(
        "leaf trainer in bf16 >= 30% of the native bf16 matmul rate",
        "trainer.bf16_share_of_native_bf16_matmul",
        ">=",
        0.30,
    ),
    Target(
        "bf16 training's held-out alignment within the seed range of fp32's",
        "trainer.alignment_delta_abs",
        "<=",
        ALIGNMENT_SEED_RANGE,
    ),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="leaf-ir-mini", help="recipe whose teacher, student and texts are used")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--teacher-texts", type=int, default=256, help="distillation texts the teacher encodes")
    parser.add_argument("--steps", type=int, default=60, help="training steps of each precision")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2, help="alternating repeats of each pair (fastest kept)")
    parser.add_argument("--matmul-seconds", type=float, default=4.0, help="seconds per matmul size and dtype")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the script works")
    parser.add_argument("--out", type=Path, default=None, help="report path")
    args = parser.parse_args(argv)
    args.sizes = [2048, 1024, 512]
    if args.quick:
        args.teacher_texts, args.steps, args.batch_size, args.repeats = 8, 2, 4, 1
        args.matmul_seconds, args.sizes = 0.3, [512, 256]
    args.heldout = 8 if args.quick else None
    args.out = args.out or Path("reports") / ("bench_precision_quick.json" if args.quick else "bench_precision.json")
    return args


# ---------------------------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------------------------


def matmul_rate(n: int, dtype: Any, seconds: float) -> float:
    """Sustained ``torch.mm`` GFLOP/s of ``n × n`` matrices of ``dtype`` on this process's threads."""
    import torch

    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    torch.mm(a, b)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < 2:
        torch.mm(a, b)
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


def bench_matmul(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """``{"2048": {"fp32": GFLOP/s, "bf16": GFLOP/s, "ratio": bf16/fp32}, ...}``, fastest of the repeats."""
    import torch

    out: dict[str, dict[str, float]] = {}
    for n in args.sizes:
        rates: dict[str, list[float]] = {"fp32": [], "bf16": []}
        for _ in range(args.repeats):
            for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
                rates[name].append(matmul_rate(n, dtype, args.matmul_seconds))
        best = {name: max(values) for name, values in rates.items()}
        out[str(n)] = best | {"ratio": best["bf16"] / best["fp32"]}
    return out


# ---------------------------------------------------------------------------------------------
# teacher
# ---------------------------------------------------------------------------------------------


def _encode(teacher: Any, texts: list[str], autocast: bool = False) -> tuple[np.ndarray, float]:
    import torch

    start = time.perf_counter()
    if autocast:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            vectors = teacher.encode(texts)
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    else:
        vectors = teacher.encode(texts)
    return np.asarray(vectors, dtype=np.float32), time.perf_counter() - start


def bench_teacher(recipe: Any, texts: list[str], held: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """The teacher in fp32, weights cast to bf16, and fp32 weights with ``encode`` under autocast."""
    from leaf_hub.encoders import SentenceTransformerTeacher, bf16_passes, cosine_distribution

    fp32 = SentenceTransformerTeacher.from_spec(recipe.teacher, device="cpu")
    cast = SentenceTransformerTeacher.from_spec(recipe.teacher, device="cpu", precision="bf16")
    ways = {"fp32": (fp32, False), "bf16_weights_cast": (cast, False), "bf16_autocast_encode": (fp32, True)}
    _encode(fp32, texts[:4])  # warm-up of each way (first-call allocations)
    _encode(cast, texts[:4])
    _encode(fp32, texts[:4], autocast=True)
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, (teacher, autocast) in ways.items():
            vectors[name], spent = _encode(teacher, texts, autocast)
            seconds[name].append(spent)
    held_vectors = {name: _encode(teacher, held, autocast)[0] for name, (teacher, autocast) in ways.items()}
    out: dict[str, Any] = {
        "model": recipe.teacher.id,
        "texts": len(texts),
        "heldout_texts": len(held),
        "batch_size": recipe.teacher.batch_size,
        "max_seq_length": recipe.teacher.max_seq_length,
    }
    for name in ways:
        best = min(seconds[name])
        row: dict[str, Any] = {"seconds": best, "all_seconds": seconds[name], "texts_per_s": len(texts) / best}
        if name != "fp32":
            row["cosine_to_fp32"] = cosine_distribution(vectors["fp32"], vectors[name])
            row["cosine_to_fp32_heldout"] = cosine_distribution(held_vectors["fp32"], held_vectors[name])
            row["keeps_bf16"] = bf16_passes(row["cosine_to_fp32_heldout"])
        out[name] = row
    out["speedup_weights_cast"] = out["bf16_weights_cast"]["texts_per_s"] / out["fp32"]["texts_per_s"]
    out["speedup_autocast_encode"] = out["bf16_autocast_encode"]["texts_per_s"] / out["fp32"]["texts_per_s"]
    return out


# ---------------------------------------------------------------------------------------------
# trainer
# ---------------------------------------------------------------------------------------------


def bench_trainer(
    base: Any,
    texts: list[str],
    targets: np.ndarray,
    held: list[str],
    held_targets: np.ndarray,
    args: argparse.Namespace,
    work: Path,
) -> dict[str, Any]:
    """The leaf trainer in fp32 and bf16 from the same student, texts, steps and seed."""
    from leaf_hub.distill import distill_models, mean_alignment
    from leaf_hub.recipe import TrainingSpec
    from leaf_hub.training import TokenCache

    n = args.steps * args.batch_size
    training = TrainingSpec(
        batch_size=args.batch_size,
        learning_rate=1e-4,
        max_steps=args.steps,
        checkpoint_steps=10**6,
        seed=42,
        device="cpu",
    )
    tokens = TokenCache(base, work / "tokens").tokenize(texts[:n])
    real = int(tokens.lengths.sum())  # steps × batch = n: one pass over every text
    flops_token = useful_flops_per_token(base, float(tokens.lengths.mean()))
    runs: dict[str, list[dict[str, Any]]] = {"fp32": [], "bf16": []}
    for repeat in range(args.repeats):
        for dtype in ("fp32", "bf16"):
            student = copy.deepcopy(base)
            print(f"trainer {dtype} repeat {repeat + 1}/{args.repeats}: {args.steps} steps", flush=True)
            trained = distill_models(
                student,
                texts[:n],
                targets[:n],
                training,
                work / f"checkpoints-{dtype}-{repeat}",
                token_cache_root=work / "tokens",
                dtype=dtype,
            )
            seconds = trained["train_seconds"]
            runs[dtype].append(
                {
                    "seconds": seconds,
                    "texts_per_s": n / seconds,
                    "real_tokens": real,
                    "real_tokens_per_s": real / seconds,
                    "gflops": real / seconds * flops_token / 1e9,
                    "alignment": mean_alignment(student, held, held_targets),
                    "precision": trained["precision"],
                    "final_loss": trained["loss_history"][-1][1] if trained["loss_history"] else None,
                }
            )
    best = {dtype: max(rows, key=lambda r: r["real_tokens_per_s"]) for dtype, rows in runs.items()}
    return {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "texts": n,
        "mean_tokens": float(tokens.lengths.mean()),
        "useful_flops_per_token": flops_token,
        "fp32": best["fp32"],
        "bf16": best["bf16"],
        "all_repeats": runs,
        "speedup": best["bf16"]["real_tokens_per_s"] / best["fp32"]["real_tokens_per_s"],
        "alignment_delta_abs": abs(best["bf16"]["alignment"] - best["fp32"]["alignment"]),
    }


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    stamp = start_stamp(__file__, TARGETS, quick=args.quick)
    import torch

    from leaf_hub.distill import load_texts, mean_alignment, teacher_vectors
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.models.student import build_student, init_projection
    from leaf_hub.precision import cpu_bf16_features, resolve_precision
    from leaf_hub.recipe import load_recipe

    torch.set_num_threads(args.threads)
    recipe = load_recipe(args.recipe)
    data = load_texts(recipe.data, recipe.training.seed)
    n_train = args.steps * args.batch_size
    if max(n_train, args.teacher_texts) > len(data.train):
        raise SystemExit(f"bench_precision: needs {max(n_train, args.teacher_texts)} texts, have {len(data.train)}")
    heldout = data.heldout[: args.heldout] if args.heldout else data.heldout
    policy = resolve_precision("auto", "cpu")
    print(f"precision policy on this CPU: {policy.dtype} ({policy.reason})", flush=True)

    print(f"matmul fp32 vs bf16: {args.sizes}", flush=True)
    matmul = bench_matmul(args)

    # longest first, as the teacher cache orders what it encodes (the teacher adds its own prompts)
    teacher_texts = sorted((t for t, _ in data.train[: args.teacher_texts]), key=len, reverse=True)
    held_teacher = [t for t, _ in heldout]
    print(f"teacher fp32 vs bf16: {len(teacher_texts)} texts", flush=True)
    teacher = bench_teacher(recipe, teacher_texts, held_teacher, args)

    work = Path(tempfile.mkdtemp(prefix="bench-precision-"))
    fp32_teacher = SentenceTransformerTeacher.from_spec(recipe.teacher, device="cpu")
    train_targets, _ = teacher_vectors(fp32_teacher, data.train[:n_train], work / "train.npy")
    held_targets, _ = teacher_vectors(fp32_teacher, heldout, work / "held.npy")
    del fp32_teacher
    student_prompts = {"query": recipe.student.query_prompt, "document": recipe.student.document_prompt}
    texts = [student_prompts[k] + t for t, k in data.train[:n_train]]
    held = [student_prompts[k] + t for t, k in heldout]
    base = build_student(
        recipe.student.resolve(),
        projection_dim=recipe.student.projection_dim,
        max_seq_length=recipe.student.max_seq_length,
        device="cpu",
    )
    sample = min(len(texts), 2048)
    init_projection(base, texts[:sample], np.asarray(train_targets[:sample]), lam=recipe.student.ridge_lambda)
    trainer = bench_trainer(base, texts, np.asarray(train_targets), held, np.asarray(held_targets), args, work)
    trainer["alignment_init"] = mean_alignment(base, held, np.asarray(held_targets))
    top = matmul[str(max(args.sizes))]
    for dtype in ("fp32", "bf16"):
        trainer[dtype]["share_of_fp32_matmul"] = trainer[dtype]["gflops"] / top["fp32"]
        trainer[dtype]["share_of_bf16_matmul"] = trainer[dtype]["gflops"] / top["bf16"]
    # the target is a share of the real limit: an emulated bf16 rate (no AMX / AVX512-BF16) is none
    trainer["bf16_share_of_native_bf16_matmul"] = (
        trainer["bf16"]["share_of_bf16_matmul"] if policy.native_bf16 else None
    )

    report = {
        "what": "fp32 vs bf16 side by side in one run: matmul GFLOP/s, teacher texts/s (weights cast vs autocast on "
        "encode) with the cosine of bf16 to fp32 vectors, leaf trainer texts/s and real tokens/s at equal steps "
        "with held-out alignment",
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "threads": torch.get_num_threads(),
        "cpu_bf16_features": cpu_bf16_features(),
        "native_bf16": policy.native_bf16,
        "policy": policy.to_dict(),
        "matmul": matmul,
        "teacher": teacher,
        "trainer": trainer,
        "machine": machine_facts(stamp.load_before),  # as every report's (the stamp has it too)
        "note": None
        if policy.native_bf16
        else "this CPU reports neither AMX nor AVX512-BF16: torch emulates bf16, so every bf16 figure here is the "
        "emulation's and compute.dtype auto picks fp32 on it",
    }
    out = write_report(args.out, report, stamp)

    rows = [
        (f"matmul {n}² (GFLOP/s)", f"{r['fp32']:.1f}", f"{r['bf16']:.1f}", f"{r['ratio']:.2f}x")
        for n, r in matmul.items()
    ]
    rows.append(
        (
            "teacher weights cast (texts/s)",
            f"{teacher['fp32']['texts_per_s']:.1f}",
            f"{teacher['bf16_weights_cast']['texts_per_s']:.1f}",
            f"{teacher['speedup_weights_cast']:.2f}x",
        )
    )
    rows.append(
        (
            "teacher autocast on encode (texts/s)",
            f"{teacher['fp32']['texts_per_s']:.1f}",
            f"{teacher['bf16_autocast_encode']['texts_per_s']:.1f}",
            f"{teacher['speedup_autocast_encode']:.2f}x",
        )
    )
    for label, key in (("texts/s", "texts_per_s"), ("real tokens/s", "real_tokens_per_s")):
        rows.append(
            (
                f"leaf trainer ({label})",
                f"{trainer['fp32'][key]:.1f}",
                f"{trainer['bf16'][key]:.1f}",
                f"{trainer['bf16'][key] / trainer['fp32'][key]:.2f}x",
            )
        )
    rows.append(
        (
            "trainer share of the bf16 matmul rate",
            f"{trainer['fp32']['share_of_bf16_matmul']:.1%}",
            f"{trainer['bf16']['share_of_bf16_matmul']:.1%}",
            "",
        )
    )
    rows.append(
        ("held-out alignment", f"{trainer['fp32']['alignment']:.4f}", f"{trainer['bf16']['alignment']:.4f}", "")
    )
    cos = teacher["bf16_weights_cast"]["cosine_to_fp32_heldout"]
    print_table(
        f"fp32 vs bf16, {torch.get_num_threads()} threads ({'native' if policy.native_bf16 else 'emulated'} bf16)",
        ("measure", "fp32", "bf16", "bf16/fp32"),
        rows,
        caption=f"teacher bf16 (weights cast) vs fp32 on {cos['n']} held-out texts: cosine mean {cos['mean']:.5f}, "
        f"min {cos['min']:.5f}, p1 {cos['p1']:.5f}; → {out}",
    )
    import json

    for target in json.loads(out.read_text())["stamp"]["targets"]:
        verdict = {True: "met", False: "missed", None: "not measured"}[target["met"]]
        print(f"target: {target['name']}: {target['value']} ({verdict})")


if __name__ == "__main__":
    main()
