"""Ablation of the training options beyond plain LEAF: focal reweighting, score distillation, model soups.

Every configuration distils the same student initialisation (all-MiniLM-L6-v2 + a ridge-fitted
``Dense`` 384→768, fitted once and copied) on the same texts and teacher vectors, for the same
number of steps, with the same seed:

* ``plain``: LEAF (MSE to the teacher's vectors), seed ``S``;
* ``+focal``: KaLM-Embedding-V2's focal-style reweighting, ``training.focal_gamma``;
* ``+score``: LG-ANNA's soft-label score distillation, ``training.score_distill_weight`` /
  ``score_distill_temperature`` (in-batch KL between teacher and student similarity distributions);
* ``plain`` again with seeds ``S+1 … S+N-1`` (only the data order and dropout change): these give
  the seed-to-seed spread of plain LEAF and are the ingredients of
* ``soup (uniform)`` and ``soup (greedy)`` of the N plain runs (:mod:`leaf_hub.distill.soup`); the greedy
  soup is selected on a separate validation set, never on the held-out texts reported here.

Each model is scored through :mod:`leaf_hub.evaluation` on the *selection* splits (the project's
rule: settings are chosen on dev/train data): SciFact ``train`` (it has no dev split), NFCorpus
``dev`` (queries sub-sampled; every judged document kept, plus random ones up to
``--corpus-limit``) and STS-B ``dev``; plus the held-out alignment (mean cosine to the teacher on
texts no configuration trained on) and the training time. ``--final`` adds the ``test`` splits
for the final table.

The decision rule is :data:`DECISION_RULE`, applied by :func:`decide` and nothing else: an option
is proposed as a default only if it raises the mean of the three selection scores by more than the
seed-to-seed range of plain LEAF, *and* does not lower the held-out alignment (the property LEAF
sells: student vectors that stand in for the teacher's) by more than the plain seeds' alignment
range. Asymmetric scores (``--asymmetric``) and test-split scores are reported, never used. The rule
(its text and the sha256 of :func:`decide`'s source) is written to the report before any row
runs, and is part of every cached row's key: a changed rule or changed code retrains every row.

Usage::

    python scripts/studies/ablation.py --quick          # tiny: checks that everything works, not a figure
    python scripts/studies/ablation.py                  # leaf-ir-mini sizes (see --help for each knob)
    python scripts/studies/ablation.py --final          # adds test-split scores for the final table

Writes ``reports/ablation.json``, its rows ``reports/ablation.rows.jsonl`` and ``reports/ablation.png``
(``--output``; ``--quick``: ``reports/ablation_quick.*``) and prints a table. A study has no target
(:data:`TARGETS` is empty): it has its decision rule. ``--workdir DIR`` keeps the models and reuses
finished rows when the same command is run again (e.g. after an interruption).

Cost on the 2-core CPU machine (measured under load, so an upper bound): ``--quick`` (32 texts, 10 held out,
one step of 8, 4 SciFact / 2 NFCorpus queries on 30-document corpora, 20 STS-B pairs) about 2 min
wall; the default sizes train 5 students for 119 steps each (about 2-5 s per step) and evaluate 7
models (about 3-4 min each, NFCorpus's ~2,200 judged documents dominate): roughly 50-70 min wall,
plus 15-25 min with ``--final``. The teacher's vectors of the leaf-ir-mini texts come from the
teacher cache when leaf-ir-mini was distilled before.
"""

from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

SCRIPTS = Path(__file__).resolve().parents[1]
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))  # scripts/: the machine block shared with the benchmarks

from bench.common import start_stamp, write_report  # noqa: E402

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TEACHER_ID = "sentence-transformers/all-mpnet-base-v2"
STUDENT_ID = "sentence-transformers/all-MiniLM-L6-v2"
#: task -> (selection split, final split); the metric and its label come from mteb's metadata (task_facts)
TASKS = {
    "SciFact": ("train", "test"),
    "NFCorpus": ("dev", "test"),
    "STSBenchmark": ("dev", "test"),
}
console = Console(width=150)
#: A study declares no target; :data:`DECISION_RULE` decides.
TARGETS = ()

#: The rule that turns the rows into defaults, fixed before any row runs (applied by :func:`decide`).
DECISION_RULE = (
    "An option becomes a default only if (1) it raises the mean of the three selection-split scores "
    "(SciFact train, NFCorpus dev, STS-B dev) by more than the seed-to-seed range of that mean over the plain "
    "LEAF seeds, and (2) it does not lower the held-out alignment (mean cosine to the teacher on texts no "
    "configuration trained on) by more than the seed-to-seed range of the plain seeds' alignment. A trained "
    "option is compared with plain LEAF of the same seed, a soup with the mean of the plain seeds. Asymmetric "
    "and test-split scores are reported only; they decide nothing."
)


# ---------------------------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the script works")
    parser.add_argument("--queries", type=int, default=3000, help="distillation queries sampled (leaf-ir-mini: 3000)")
    parser.add_argument("--documents", type=int, default=1000, help="distillation sentences sampled (1000)")
    parser.add_argument("--heldout", type=int, default=200, help="held-out texts for the alignment figure")
    parser.add_argument("--validation", type=int, default=200, help="texts the greedy soup is selected on")
    parser.add_argument("--max-seq-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=None, help="fixed number of steps (overrides --epochs)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--soup-seeds", type=int, default=3, help="plain runs (seeds S..S+N-1) for spread and soups")
    parser.add_argument("--focal-gamma", type=float, nargs="+", default=[1.0], help="one +focal row per value")
    parser.add_argument("--score-weight", type=float, nargs="+", default=[1.0], help="one +score row per value")
    parser.add_argument("--score-temperature", type=float, default=0.05)
    parser.add_argument("--corpus-limit", type=int, default=600, help="retrieval corpus sub-sample (judged docs kept)")
    parser.add_argument("--scifact-queries", type=int, default=0, help="SciFact queries (0: all)")
    parser.add_argument("--nfcorpus-queries", type=int, default=100, help="NFCorpus queries (0: all)")
    parser.add_argument("--sts-pairs", type=int, default=0, help="STS-B pairs (0: all)")
    parser.add_argument("--final", action="store_true", help="also score the test splits (final table only)")
    parser.add_argument(
        "--asymmetric",
        action="store_true",
        help="also score asymmetric retrieval/STS (student queries, teacher documents) on SciFact and STS-B, "
        "selection and test splits: what the alignment is for (teacher vectors come from its cache)",
    )
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--workdir", type=Path, default=None, help="keep models here; rows found there are reused")
    parser.add_argument("--output", type=Path, default=None, help="JSON path (default reports/ablation[_quick].json)")
    args = parser.parse_args(argv)
    if args.quick:
        args.queries, args.documents, args.heldout, args.validation = 24, 8, 10, 8
        args.max_seq_length, args.batch_size, args.steps, args.soup_seeds = 64, 8, 1, 2
        args.corpus_limit, args.scifact_queries, args.nfcorpus_queries, args.sts_pairs = 30, 4, 2, 20
    if args.soup_seeds < 2:
        parser.error("--soup-seeds must be at least 2 (a spread and a soup need two runs)")
    stem = "ablation_quick" if args.quick else "ablation"
    args.output = args.output or Path("reports") / f"{stem}.json"
    return args


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    keep = (
        "queries documents heldout validation max_seq_length batch_size learning_rate epochs steps seed soup_seeds "
        "focal_gamma score_weight score_temperature corpus_limit scifact_queries nfcorpus_queries sts_pairs final "
        "asymmetric"
    ).split()
    return {k: getattr(args, k) for k in keep} | {"quick": args.quick}


#: settings that only decide which rows exist; a finished row is reused whatever they are
_ROW_LIST_SETTINGS = ("focal_gamma", "score_weight", "soup_seeds", "asymmetric")


def row_key(settings: dict[str, Any], options: dict[str, float], seed: int, rule: dict[str, str]) -> str:
    """What one trained row depends on: the shared settings, its own options and seed, and the decision rule.

    The rule (:func:`decision_rule`: its text and the hash of the code that applies it) is part of
    the key, so changing either invalidates every cached row.
    """
    shared = {k: v for k, v in settings.items() if k not in _ROW_LIST_SETTINGS}
    return _fingerprint(
        {"settings": shared, "options": options, "seed": seed, "rule": [rule["text_sha256"], rule["code_sha256"]]}
    )


def decide(row: dict[str, Any], plain: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply :data:`DECISION_RULE` to one option row, against the plain LEAF rows (``plain[0]``: same seed).

    Args:
        row: An option row (``kind`` ``train`` or ``soup``) with ``select_mean`` and ``heldout_alignment``.
        plain: The plain LEAF rows, the first one trained with the options' seed.

    Returns:
        The deltas, the two seed ranges, ``helps``, ``keeps_alignment`` and ``default`` (``on``/``off``).
    """
    means = [r["select_mean"] for r in plain]
    alignments = [r["heldout_alignment"] for r in plain]
    seed_range = max(means) - min(means)
    alignment_range = max(alignments) - min(alignments)
    same_seed = row["kind"] == "train"
    delta = row["select_mean"] - (plain[0]["select_mean"] if same_seed else statistics.fmean(means))
    versus = plain[0]["heldout_alignment"] if same_seed else statistics.fmean(alignments)
    delta_alignment = row["heldout_alignment"] - versus
    helps = delta > seed_range
    keeps_alignment = delta_alignment >= -alignment_range
    return {
        "compared_with": "plain, same seed" if same_seed else "mean of the plain seeds",
        "delta_select_mean": delta,
        "seed_range": seed_range,
        "delta_alignment": delta_alignment,
        "alignment_range": alignment_range,
        "helps": helps,
        "keeps_alignment": keeps_alignment,
        "default": "on" if helps and keeps_alignment else "off",
    }


def decision_rule() -> dict[str, str]:
    """The rule as the report records it: its text, and sha256 of the text and of :func:`decide`'s source."""
    import inspect

    code = inspect.getsource(decide)
    return {
        "text": DECISION_RULE,
        "function": f"scripts/studies/ablation.py:{decide.__name__}",
        "text_sha256": hashlib.sha256(DECISION_RULE.encode()).hexdigest(),
        "code_sha256": hashlib.sha256(code.encode()).hexdigest(),
    }


def _fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# data, teacher, student
# ---------------------------------------------------------------------------------------------


def load_data(args: argparse.Namespace) -> dict[str, list[tuple[str, str]]]:
    """Training + held-out texts as leaf-ir-mini samples them, and a disjoint validation set."""
    from leaf_hub.distill import load_texts
    from leaf_hub.recipe import DataSource, DataSpec

    def spec(queries: int, documents: int, heldout: int) -> DataSpec:
        return DataSpec(
            sources=[
                DataSource(path="distill/queries_en.txt", samples=queries, kind="query"),
                DataSource(path="distill/corpus_en.txt", samples=documents, kind="document"),
            ],
            heldout=heldout,
            max_chars=2000,
        )

    main = load_texts(spec(args.queries, args.documents, args.heldout), args.seed)
    used = set(main.train) | set(main.heldout)
    n_val = args.validation
    extra = load_texts(spec(args.queries + 4 * n_val, args.documents + 4 * n_val, 4 * n_val), args.seed + 7919)
    validation = [p for p in extra.heldout if p not in used][:n_val]
    return {"train": main.train, "heldout": main.heldout, "validation": validation}


def teacher_targets(data: dict[str, list[tuple[str, str]]], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from leaf_hub.distill import teacher_vectors
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.recipe import TeacherSpec

    start = time.perf_counter()
    device = None if args.device == "auto" else args.device
    teacher = SentenceTransformerTeacher.from_spec(
        TeacherSpec(id=TEACHER_ID, max_seq_length=args.max_seq_length), device=device
    )
    out: dict[str, Any] = {}
    encoded = 0
    for name, pairs in data.items():
        vectors, stats = teacher_vectors(teacher, pairs, work / f"{name}_targets.npy")
        out[name] = np.array(vectors)
        encoded += stats["encoded"]
    out["seconds"] = time.perf_counter() - start
    out["encoded"] = encoded
    return out


def base_student(texts: list[str], targets: np.ndarray, args: argparse.Namespace):
    from leaf_hub.assets import resolve_model
    from leaf_hub.models.student import build_student, init_projection

    device = None if args.device == "auto" else args.device
    student = build_student(
        resolve_model(STUDENT_ID),
        projection_dim=targets.shape[1],
        max_seq_length=args.max_seq_length,
        device=device,
    )
    fit = init_projection(student, texts[:8192], targets[:8192], method="ridge", lam="auto")
    return student, fit


# ---------------------------------------------------------------------------------------------
# one configuration
# ---------------------------------------------------------------------------------------------


def evaluate_folder(folder: Path, out: Path, args: argparse.Namespace, *, final: bool) -> dict[str, dict[str, Any]]:
    """Student-only scores per task on the selection splits (and the test splits when ``final``)."""
    from leaf_hub.evaluation import evaluate_models
    from leaf_hub.recipe import EvalSpec

    limits = {
        "SciFact": args.scifact_queries or None,
        "NFCorpus": args.nfcorpus_queries or None,
        "STSBenchmark": args.sts_pairs or None,
    }
    scores: dict[str, dict[str, Any]] = {}
    for task, (select_split, final_split) in TASKS.items():
        for which, split in (("select", select_split), ("final", final_split)):
            if which == "final" and not final:
                continue
            settings = EvalSpec(
                tasks=[task],
                modes=["student"],
                split=split,
                corpus_limit=args.corpus_limit if task != "STSBenchmark" else None,
                query_limit=limits[task],
                sweep_precisions=[],
            )
            result = evaluate_models(
                folder, output_dir=out / f"{task}-{split}", settings=settings, sweep=False, progress=False
            )
            record = result.scores[0]
            scores.setdefault(which, {})[task] = {
                "split": split,
                "score": record.main_score,
                "n_queries": record.n_queries,
                "n_docs": record.n_docs,
                "seconds": record.seconds,
            }
    return scores


#: asymmetric mode: the tasks the leaf-ir-mini evaluation scores (its teacher cache is reused)
ASYM_TASKS = ("SciFact", "STSBenchmark")


@functools.cache
def _asymmetric_teacher(max_seq_length: int, device: str | None):
    """The teacher of the asymmetric evaluations, loaded once for every row and split."""
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.recipe import TeacherSpec

    return SentenceTransformerTeacher.from_spec(
        TeacherSpec(id=TEACHER_ID, max_seq_length=max_seq_length), device=device
    )


def add_asymmetric(row: dict, folder: Path, args: argparse.Namespace) -> bool:
    """Fill ``row["asymmetric_select"]`` and ``row["asymmetric"]`` (test) where missing; True if any was."""
    added = False
    for which, field in (("select", "asymmetric_select"), ("final", "asymmetric")):
        if field not in row:
            row[field] = evaluate_asymmetric(folder, folder.parent / f"{folder.name}-eval", args, which=which)
            added = True
    return added


def evaluate_asymmetric(folder: Path, out: Path, args: argparse.Namespace, *, which: str = "final") -> dict[str, float]:
    """Student queries against teacher documents (STS: first sentence student, second teacher).

    ``which``: ``select`` (SciFact train, STS-B dev: what defaults are chosen on) or ``final`` (test).
    """
    from leaf_hub.evaluation import evaluate_models
    from leaf_hub.recipe import EvalSpec

    teacher = _asymmetric_teacher(args.max_seq_length, None if args.device == "auto" else args.device)
    scores: dict[str, float] = {}
    for task in ASYM_TASKS:
        settings = EvalSpec(
            tasks=[task],
            modes=["asymmetric"],
            split=TASKS[task][0 if which == "select" else 1],
            corpus_limit=args.corpus_limit if task != "STSBenchmark" else None,
            query_limit={"SciFact": args.scifact_queries, "STSBenchmark": args.sts_pairs}[task] or None,
            sweep_precisions=[],
        )
        result = evaluate_models(
            folder,
            output_dir=out / f"asym-{task}-{which}",
            teacher=teacher,
            settings=settings,
            sweep=False,
            progress=False,
        )
        scores[task] = result.scores[0].main_score
    return scores


def _row(name: str, kind: str, folder: Path, alignment: float, args: argparse.Namespace, **extra: Any) -> dict:
    start = time.perf_counter()
    scores = evaluate_folder(folder, folder.parent / f"{folder.name}-eval", args, final=args.final)
    row = {"name": name, "kind": kind, "heldout_alignment": alignment, **extra, "scores": scores}
    for which, per_task in scores.items():
        row[f"{which}_mean"] = statistics.fmean(v["score"] for v in per_task.values())
    if args.asymmetric:
        add_asymmetric(row, folder, args)
    row["eval_seconds"] = time.perf_counter() - start
    return row


def train_row(
    name: str, options: dict[str, float], seed: int, student0, data, targets, args, work: Path
) -> tuple[dict, Any]:
    from leaf_hub.distill import distill_models, mean_alignment
    from leaf_hub.models.portable import save_portable
    from leaf_hub.recipe import TrainingSpec

    training = TrainingSpec(
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        epochs=args.epochs,
        max_steps=args.steps,
        seed=seed,
        checkpoint_steps=10**6,
        device=args.device,
        **options,
    )
    student = copy.deepcopy(student0)
    texts = [t for t, _ in data["train"]]
    trained = distill_models(student, texts, targets["train"], training, work / f"{_slug(name)}-checkpoints")
    shutil.rmtree(work / f"{_slug(name)}-checkpoints", ignore_errors=True)
    alignment = mean_alignment(student, [t for t, _ in data["heldout"]], targets["heldout"])
    folder = save_portable(student, work / _slug(name))
    console.print(f"  {name}: {trained['steps']} steps in {trained['train_seconds']:.0f} s, alignment {alignment:.4f}")
    row = _row(
        name,
        "train",
        folder,
        alignment,
        args,
        seed=seed,
        options=options,
        steps=trained["steps"],
        train_seconds=trained["train_seconds"],
        final_loss=trained["loss_history"][-1][1] if trained["loss_history"] else None,
    )
    return row, student


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


# ---------------------------------------------------------------------------------------------
# summary, table, plot
# ---------------------------------------------------------------------------------------------


def summarise(rows: list[dict], args: argparse.Namespace) -> dict[str, Any]:
    plain = [r for r in rows if r["name"].startswith("plain")]
    ref = plain[0]
    means = [r["select_mean"] for r in plain]
    spread = {
        "seeds": [r["seed"] for r in plain],
        "select_mean": means,
        "range": max(means) - min(means),
        "std": statistics.stdev(means) if len(means) > 1 else 0.0,
        "per_task_range": {
            task: max(r["scores"]["select"][task]["score"] for r in plain)
            - min(r["scores"]["select"][task]["score"] for r in plain)
            for task in TASKS
        },
        "alignment_range": max(r["heldout_alignment"] for r in plain) - min(r["heldout_alignment"] for r in plain),
    }
    asym_means = [statistics.fmean(r["asymmetric"].values()) for r in plain if r.get("asymmetric")]
    if len(asym_means) == len(plain):
        spread["asymmetric_test_mean"] = asym_means
        spread["asymmetric_test_range"] = max(asym_means) - min(asym_means)
    asym_select = [statistics.fmean(r["asymmetric_select"].values()) for r in plain if r.get("asymmetric_select")]
    if len(asym_select) == len(plain):
        spread["asymmetric_select_mean"] = asym_select
        spread["asymmetric_select_range"] = max(asym_select) - min(asym_select)
    verdicts = []
    for row in rows:
        if row["name"].startswith("plain"):
            continue
        same_seed = row["kind"] == "train"
        verdict = {"option": row["name"], **decide(row, plain)}
        # reported only (DECISION_RULE): asymmetric scores on the selection and test splits
        if "asymmetric_select_range" in spread and row.get("asymmetric_select"):
            versus = statistics.fmean(ref["asymmetric_select"].values()) if same_seed else statistics.fmean(asym_select)
            verdict["delta_asymmetric_select_mean"] = statistics.fmean(row["asymmetric_select"].values()) - versus
        if row.get("asymmetric") and ref.get("asymmetric"):
            versus = statistics.fmean(ref["asymmetric"].values()) if same_seed else statistics.fmean(asym_means)
            verdict["delta_asymmetric_test_mean"] = statistics.fmean(row["asymmetric"].values()) - versus
        verdicts.append(verdict)
        row["delta_select_mean"] = verdict["delta_select_mean"]
    return {"seed_spread": spread, "verdicts": verdicts}


def print_table(rows: list[dict], summary: dict[str, Any]) -> None:
    final = any("final_mean" in r for r in rows)
    table = Table(title="ablation: selection splits (SciFact train, NFCorpus dev, STS-B dev), scores ×100")
    for col in ("configuration", "SciFact", "NFCorpus", "STS-B", "mean", "Δ mean", "alignment", "train s"):
        table.add_column(col, justify="left" if col == "configuration" else "right")
    asym = any("asymmetric" in r for r in rows)
    if final:
        table.add_column("test mean", justify="right")
    if asym:
        table.add_column("asym mean", justify="right")
        for task in ASYM_TASKS:
            table.add_column(f"asym {task} (test)", justify="right")
    for r in rows:
        sel = r["scores"]["select"]
        cells = [
            r["name"],
            *(f"{100 * sel[t]['score']:.2f}" for t in TASKS),
            f"{100 * r['select_mean']:.2f}",
            f"{100 * r['delta_select_mean']:+.2f}" if "delta_select_mean" in r else "",
            f"{r['heldout_alignment']:.4f}",
            f"{r['train_seconds']:.0f}",
        ]
        if final:
            cells.append(f"{100 * r['final_mean']:.2f}" if "final_mean" in r else "")
        if asym:
            sel = r.get("asymmetric_select")
            cells.append(f"{100 * statistics.fmean(sel.values()):.2f}" if sel else "")
            cells += [f"{100 * r['asymmetric'][t]:.2f}" if "asymmetric" in r else "" for t in ASYM_TASKS]
        table.add_row(*cells)
    console.print(table)
    spread = summary["seed_spread"]
    console.print(
        f"plain LEAF seed-to-seed range of the mean: {100 * spread['range']:.2f} (std {100 * spread['std']:.2f}) "
        f"over seeds {spread['seeds']}; alignment range {spread['alignment_range']:.4f}"
    )
    for v in summary["verdicts"]:
        asym = ""
        if v.get("delta_asymmetric_select_mean") is not None:  # reported, not decided on
            asym += f", asymmetric Δ {100 * v['delta_asymmetric_select_mean']:+.2f}"
        if "delta_asymmetric_test_mean" in v:
            asym += f" (test {100 * v['delta_asymmetric_test_mean']:+.2f})"
        console.print(
            f"  {v['option']}: Δ mean {100 * v['delta_select_mean']:+.2f}, Δ alignment {v['delta_alignment']:+.4f}"
            f"{asym} vs {v['compared_with']} → default {v['default']}"
        )


def plot(rows: list[dict], summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leaf_hub.task_meta import task_facts

    panels = [
        (f"{t} {task_facts(t).metric} ({TASKS[t][0]})", lambda r, t=t: r["scores"]["select"][t]["score"]) for t in TASKS
    ]
    panels += [
        ("mean of the three", lambda r: r["select_mean"]),
        ("held-out alignment", lambda r: r["heldout_alignment"]),
    ]
    if all("asymmetric_select" in r for r in rows):
        panels.append(
            ("asymmetric mean (SciFact train, STS-B dev)", lambda r: statistics.fmean(r["asymmetric_select"].values()))
        )
    plain = [r for r in rows if r["name"].startswith("plain")]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.2))
    names = [r["name"] for r in rows]
    colors = ["#4c72b0" if n.startswith("plain") else "#dd8452" if "soup" in n else "#55a868" for n in names]
    for ax, (title, value) in zip(axes, panels, strict=True):
        values = [value(r) for r in rows]
        ax.bar(range(len(rows)), values, color=colors)
        low, high = min(value(r) for r in plain), max(value(r) for r in plain)
        ax.axhspan(low, high, color="#4c72b0", alpha=0.15, label="plain seed range", zorder=0)
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(len(rows)), names, rotation=60, ha="right", fontsize=7)
        pad = (max(values) - min(values)) or 0.01
        ax.set_ylim(min(values) - pad, max(values) + pad)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("leaf-hub ablation (selection splits): plain LEAF vs options; band = plain LEAF seed-to-seed range")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


def _quiet() -> None:
    """No per-load / per-dataset progress bars in the output (the table is what matters)."""
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def main(argv: list[str] | None = None) -> None:
    from leaf_hub.distill.soup import Validation, greedy_soup, uniform_soup
    from leaf_hub.models.portable import save_portable

    args = parse_args(argv)
    _quiet()
    wall = time.perf_counter()
    stamp = start_stamp(__file__, TARGETS, quick=args.quick)
    settings = _settings(args)
    rule = decision_rule()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="leaf-ablation-"))
    work.mkdir(parents=True, exist_ok=True)
    console.print(f"[bold]ablation[/] {'(quick) ' if args.quick else ''}in {work}")
    # the rule is on record before any row runs (the final report repeats it, unchanged)
    pending = {
        "status": "running: no rows yet",
        "decision_rule": rule,
        "settings": settings,
    }
    write_report(args.output, pending, stamp)
    console.print(f"decision rule {rule['code_sha256'][:12]} recorded in {args.output}")

    data = load_data(args)
    console.print(
        f"texts: {len(data['train'])} train, {len(data['heldout'])} held-out, {len(data['validation'])} validation"
    )
    targets = teacher_targets(data, args, work)
    console.print(f"teacher vectors: {targets['encoded']} encoded, {targets['seconds']:.0f} s")
    start = time.perf_counter()
    student0, fit = base_student([t for t, _ in data["train"]], targets["train"], args)
    init_seconds = time.perf_counter() - start

    configs: list[tuple[str, dict[str, float], int]] = [("plain", {}, args.seed)]
    configs += [(f"focal γ={g:g}", {"focal_gamma": g}, args.seed) for g in args.focal_gamma]
    configs += [
        (
            f"score w={w:g} τ={args.score_temperature:g}",
            {"score_distill_weight": w, "score_distill_temperature": args.score_temperature},
            args.seed,
        )
        for w in args.score_weight
    ]
    configs += [(f"plain seed {args.seed + i}", {}, args.seed + i) for i in range(1, args.soup_seeds)]

    rows: list[dict] = []
    plain_models = []
    for name, options, seed in configs:
        cache_key = row_key(settings, options, seed, rule)
        cached = work / f"{_slug(name)}.row.json"
        done = cached.is_file() and (work / _slug(name) / "modules.json").is_file()
        if done and json.loads(cached.read_text()).get("cache_key") == cache_key:
            from sentence_transformers import SentenceTransformer

            row = json.loads(cached.read_text())["row"]
            if args.asymmetric and add_asymmetric(row, work / _slug(name), args):
                cached.write_text(json.dumps({"cache_key": cache_key, "row": row}))
            rows.append(row)
            console.print(f"  {name}: reused from {cached}")
            model = SentenceTransformer(str(work / _slug(name)), device=None if args.device == "auto" else args.device)
        else:
            row, model = train_row(name, options, seed, student0, data, targets, args, work)
            rows.append(row)
            cached.write_text(json.dumps({"cache_key": cache_key, "row": row}))
        if not options:
            plain_models.append(model)
        del model

    # soups of the plain seeds: greedy selection on the validation texts, never on the held-out ones
    from leaf_hub.distill import mean_alignment

    held_texts = [t for t, _ in data["heldout"]]
    validation = Validation([t for t, _ in data["validation"]], targets["validation"])
    names = [n for n, o, _ in configs if not o]
    for method in ("uniform", "greedy"):
        tick = time.perf_counter()
        if method == "uniform":
            souped, kept = uniform_soup(plain_models, names=names), list(range(len(plain_models)))
        else:
            souped, kept, _, _ = greedy_soup(plain_models, validation.score, names=names)
        soup_seconds = time.perf_counter() - tick
        name = f"soup {method} ×{len(plain_models)}"
        folder = save_portable(souped, work / _slug(name))
        alignment = mean_alignment(souped, held_texts, targets["heldout"])
        train_seconds = sum(r["train_seconds"] for r in rows if r["name"].startswith("plain")) + soup_seconds
        console.print(f"  {name}: members {[names[i] for i in kept]}, alignment {alignment:.4f}")
        rows.append(
            _row(
                name,
                "soup",
                folder,
                alignment,
                args,
                members=[names[i] for i in kept],
                soup_seconds=soup_seconds,
                train_seconds=train_seconds,
            )
        )

    summary = summarise(rows, args)
    if decision_rule() != rule:
        raise SystemExit("ablation: the decision rule changed while the rows ran; rerun")
    report = {
        "description": "Training options beyond plain LEAF on identical data, steps and seed "
        "(scripts/studies/ablation.py)",
        "status": "complete",
        "decision_rule": rule,
        "mode": "quick" if args.quick else "full",
        "settings": settings,
        "selection_splits": {t: s[0] for t, s in TASKS.items()},
        "final_splits": {t: s[1] for t, s in TASKS.items()} if args.final else None,
        "teacher": TEACHER_ID,
        "student_init": STUDENT_ID,
        "n_train_texts": len(data["train"]),
        "n_heldout": len(data["heldout"]),
        "n_validation": len(data["validation"]),
        "teacher_seconds": targets["seconds"],
        "projection_init": fit,
        "projection_init_seconds": init_seconds,
        "rows": rows,
        **summary,
        "left_out": [
            "adaptive-margin filtering of in-batch false negatives (LG-ANNA): needs labelled positives, which "
            "the distillation text does not have",
            "task-specific instruction prompts (LG-ANNA) are not ablated: the distillation text carries no task "
            "labels, so training sees only the query/document prompts; student.task_prompts / teacher.task_prompts "
            "are stored in the saved model and used by evaluation exactly as stock mteb resolves them",
        ],
        "wall_seconds": time.perf_counter() - wall,
    }
    write_report(args.output, report, stamp)
    # the rows beside the report (reports/ablation.rows.jsonl): what tests/options/test_ablation_decision.py
    # re-derives the spread and verdicts from; a trained row with its cache key, a soup (not cached) without
    keys = {name: row_key(settings, options, seed, rule) for name, options, seed in configs}
    args.output.with_suffix(".rows.jsonl").write_text(
        "".join(json.dumps({"key": keys.get(r["name"]), "row": r}) + "\n" for r in rows)
    )
    png = args.output.with_suffix(".png")
    plot(rows, summary, png)
    print_table(rows, summary)
    console.print(f"wrote {args.output} and {png} ({report['wall_seconds']:.0f} s)")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
