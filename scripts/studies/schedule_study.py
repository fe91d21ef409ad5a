"""Schedule study: which training settings move held-out alignment at the step counts a machine affords.

Every row distils the same ridge-initialised student (all-MiniLM-L6-v2 + ``Dense`` 384→768) on the
same leaf-ir-mini texts and cached teacher vectors, through :func:`leaf_hub.distill.distill_models`
(the leaf trainer), for a *budget* of text-passes (steps × batch size). Each row records held-out
alignment (mean cosine to the teacher on 200 texts no row trains on), the dev scores (SciFact
``train`` nDCG@10 on a sub-sampled corpus, STS-B ``dev`` Spearman; NFCorpus ``dev`` with
``--nfcorpus``), their mean, and the training time. The *step-0 student* (init + ridge projection,
no training) is scored the same way: it is what "do not fall below" is measured against.

Stages, in order (each row's settings are the baseline's with the named changes):

1. ``spread``: the baseline at the smallest budget with ``--seeds`` seeds: the seed-to-seed range
   of alignment and of the dev mean.
2. ``screen``: one change at a time at the smallest budget: encoder learning rate, projection
   learning rate, schedule (linear / constant with cool-down / LEAF's cycles), trainable layers
   (all, or top k + projection with embeddings frozen), batch size, ridge fit (samples, λ), score
   distillation on.
3. ``scale``: the baseline and the carried screened changes, combined (:func:`carried`), at the
   larger budgets.

The decision rule is fixed here, before any row runs, and recorded in the report with a sha256 of
the code that applies it (:data:`RULE`, :func:`decide`); rows are cached in ``--workdir`` under a
key that includes that hash, so a changed rule retrains them. Test splits are never looked at.
The rows are cached beside the report (``reports/schedule_study.rows.jsonl``, committed), so a
reader can re-derive every decision without rerunning (``tests/options/test_study_decision.py``).

Usage::

    python scripts/studies/schedule_study.py --quick           # tiny: checks that everything works
    python scripts/studies/schedule_study.py --workdir W       # the study (see --help for budgets and seeds)

Writes ``reports/schedule_study.json`` and ``reports/schedule_study.png`` (``--output``; ``--quick``:
``reports/schedule_study_quick.*``) and prints a table. A study has no target (:data:`TARGETS` is
empty): it has its decision rule. ``--quick`` (not a figure): budgets of 32 and 64 text-passes, 2
seeds, 2 screened changes, 64 training and 16 held-out texts, SciFact on 30 documents and 8 queries,
20 STS-B pairs.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import inspect
import json
import os
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
console = Console(width=160)
#: A study declares no target; :data:`RULE` decides.
TARGETS = ()

#: The baseline: plain LEAF as leaf-ir-mini trained it before this study (score distillation off).
BASELINE: dict[str, Any] = {
    "learning_rate": 1e-4,
    "projection_lr_multiplier": 1.0,
    "schedule": "linear",
    "trainable_layers": None,
    "batch_size": 32,
    "ridge_samples": 8192,
    "ridge_lambda": "auto",
    "score_distill_weight": 0.0,
    "warmup_ratio": 0.05,
}

#: One change at a time, screened at the smallest budget.
SCREEN: dict[str, dict[str, Any]] = {
    "encoder lr 3e-5": {"learning_rate": 3e-5},
    "encoder lr 3e-4": {"learning_rate": 3e-4},
    "projection lr x0.1": {"projection_lr_multiplier": 0.1},
    "projection lr x0.01": {"projection_lr_multiplier": 0.01},
    "constant + cool-down": {"schedule": "constant_cooldown"},
    "3 cycles (LEAF)": {"schedule": "cycles", "cycles": 3},
    "top 3 layers + projection": {"trainable_layers": 3},
    "batch 64": {"batch_size": 64},
    "ridge on 1k texts": {"ridge_samples": 1024},
    "ridge lambda 10": {"ridge_lambda": 10.0},
    "ridge lambda 1000": {"ridge_lambda": 1000.0},
    "score distillation 0.1": {"score_distill_weight": 0.1},
}

RULE = (
    "At each budget, a setting is eligible only if its dev mean is not below the step-0 student's dev mean "
    "by more than the baseline's seed range of the dev mean (at the smallest budget). Among eligible "
    "settings the one with the highest held-out alignment wins; settings whose alignment is within the "
    "baseline's seed range of alignment of the best count as tied, and the tie goes to the higher dev mean. "
    "A screened change is carried to the larger budgets only if it raises alignment over the baseline at the "
    "smallest budget by more than the seed range of alignment and is eligible; the carried changes that "
    "pass are also combined into one setting (later changes override earlier ones on the same key). "
    "The recipes follow the winner at the largest budget that fits each machine's run."
)


def decide(rows: list[dict[str, Any]], step0: dict[str, Any], spread: dict[str, float]) -> dict[str, Any]:
    """Apply :data:`RULE` to the rows of one budget; returns the winner and why.

    Args:
        rows: Finished rows of one budget (``alignment``, ``dev_mean``, ``name``).
        step0: The step-0 student's row.
        spread: ``{"alignment": range, "dev_mean": range}`` of the baseline's seeds.

    Returns:
        ``{"winner": name, "eligible": [...], "ineligible": [...], "tied": [...]}``.
    """
    floor = step0["dev_mean"] - spread["dev_mean"]
    eligible = [r for r in rows if r["dev_mean"] >= floor]
    ineligible = [r["name"] for r in rows if r["dev_mean"] < floor]
    if not eligible:
        return {"winner": None, "eligible": [], "ineligible": ineligible, "tied": [], "dev_floor": floor}
    best = max(r["alignment"] for r in eligible)
    tied = [r for r in eligible if best - r["alignment"] <= spread["alignment"]]
    winner = max(tied, key=lambda r: (r["dev_mean"], r["alignment"]))
    return {
        "winner": winner["name"],
        "eligible": [r["name"] for r in eligible],
        "ineligible": ineligible,
        "tied": [r["name"] for r in tied],
        "dev_floor": floor,
    }


def carried(screen_rows: list[dict[str, Any]], baseline: dict[str, Any], step0: dict[str, Any], spread: dict) -> list:
    """Screened changes carried to the larger budgets (see :data:`RULE`), best alignment first."""
    floor = step0["dev_mean"] - spread["dev_mean"]
    good = [
        r
        for r in screen_rows
        if r["alignment"] - baseline["alignment"] > spread["alignment"] and r["dev_mean"] >= floor
    ]
    return sorted(good, key=lambda r: -r["alignment"])


def rule_hash() -> str:
    """sha256 of the rule text and the source of the functions that apply it."""
    source = RULE + inspect.getsource(decide) + inspect.getsource(carried) + json.dumps(SCREEN, sort_keys=True)
    return hashlib.sha256(source.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[4000, 12000, 24000], help="text-passes")
    parser.add_argument("--seeds", type=int, default=3, help="baseline seeds at the smallest budget")
    parser.add_argument("--carry", type=int, default=2, help="at most this many screened changes scale up")
    parser.add_argument("--screen", nargs="*", default=None, help="screen only these changes (default: all)")
    parser.add_argument("--corpus-limit", type=int, default=300, help="SciFact train corpus sub-sample")
    parser.add_argument("--scifact-queries", type=int, default=200)
    parser.add_argument("--sts-pairs", type=int, default=0, help="STS-B dev pairs (0: all 1,500)")
    parser.add_argument("--nfcorpus", action="store_true", help="add NFCorpus dev (30 queries) to the dev mean")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the script works")
    parser.add_argument("--workdir", type=Path, default=None, help="teacher vectors and models are kept here")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--score-folder", type=Path, default=None,
        help="only score this saved model on the study's dev splits (e.g. the main job's runs/leaf-ir-mini/model)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.budgets, args.seeds, args.carry = [32, 64], 2, 1
        args.screen = args.screen or ["projection lr x0.1", "top 3 layers + projection"]
        args.corpus_limit, args.scifact_queries, args.sts_pairs = 30, 8, 20
    stem = "schedule_study_quick" if args.quick else "schedule_study"
    args.output = args.output or Path("reports") / f"{stem}.json"
    args.rows = args.output.with_suffix(".rows.jsonl")  # the row cache, beside the report
    return args


# ---------------------------------------------------------------------------------------------
# data, students, one row
# ---------------------------------------------------------------------------------------------


class Study:
    """Texts, teacher vectors and ridge-initialised students shared by every row."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        from leaf_hub.distill import load_texts, teacher_vectors
        from leaf_hub.encoders import SentenceTransformerTeacher
        from leaf_hub.recipe import load_recipe

        self.args = args
        self.work = work
        self.recipe = load_recipe("leaf-ir-mini")
        data = load_texts(self.recipe.data, self.recipe.training.seed)
        if args.quick:
            data.train, data.heldout = data.train[:64], data.heldout[:16]
        teacher = SentenceTransformerTeacher.from_spec(self.recipe.teacher)
        self.targets = np.array(teacher_vectors(teacher, data.train, work / "train_targets.npy")[0])
        self.held_targets = np.array(teacher_vectors(teacher, data.heldout, work / "held_targets.npy")[0])
        del teacher
        prompts = {"query": self.recipe.student.query_prompt, "document": self.recipe.student.document_prompt}
        self.texts = [prompts[k] + t for t, k in data.train]
        self.held = [prompts[k] + t for t, k in data.heldout]
        self._students: dict[str, Any] = {}

    def student(self, settings: dict[str, Any]) -> tuple[Any, dict[str, float]]:
        """A fresh copy of the ridge-initialised student for these ridge settings."""
        from leaf_hub.models.student import build_student, init_projection

        key = f"{settings['ridge_samples']}-{settings['ridge_lambda']}"
        if key not in self._students:
            spec = self.recipe.student
            student = build_student(
                spec.resolve(), projection_dim=spec.projection_dim, max_seq_length=spec.max_seq_length
            )
            n = min(settings["ridge_samples"], len(self.texts))
            fit = init_projection(student, self.texts[:n], self.targets[:n], lam=settings["ridge_lambda"])
            self._students[key] = (student, fit)
        student, fit = self._students[key]
        return copy.deepcopy(student), fit

    def score(self, student: Any, name: str) -> dict[str, Any]:
        """Held-out alignment and dev scores of a student."""
        from leaf_hub.distill import mean_alignment
        from leaf_hub.distill.run import _save_model

        alignment = mean_alignment(student, self.held, self.held_targets)
        folder = self.work / "models" / hashlib.sha256(name.encode()).hexdigest()[:12]
        folder.parent.mkdir(parents=True, exist_ok=True)
        _save_model(student, folder)
        dev = dev_scores(folder, self.args)
        return {"alignment": alignment, "dev": dev, "dev_mean": statistics.fmean(dev.values())}


def dev_scores(folder: Path, args: argparse.Namespace) -> dict[str, float]:
    """The study's dev scores of a saved model folder (selection splits only)."""
    from leaf_hub.evaluation import evaluate_models
    from leaf_hub.recipe import EvalSpec

    tasks = [("SciFact", "train", args.corpus_limit, args.scifact_queries or None)]
    tasks.append(("STSBenchmark", "dev", None, args.sts_pairs or None))
    if args.nfcorpus:
        tasks.append(("NFCorpus", "dev", args.corpus_limit, 30))
    dev: dict[str, float] = {}
    for task, split, corpus_limit, query_limit in tasks:
        settings = EvalSpec(
            tasks=[task], modes=["student"], split=split, corpus_limit=corpus_limit, query_limit=query_limit,
            sweep_precisions=[],
        )
        out = Path(tempfile.mkdtemp(prefix="study-dev-"))
        result = evaluate_models(folder, output_dir=out / task, settings=settings, sweep=False, progress=False)
        dev[f"{task}-{split}"] = float(result.scores[0].main_score)
    return dev


def row_key(name: str, settings: dict[str, Any], budget: int, seed: int, args: argparse.Namespace) -> str:
    shared = {k: getattr(args, k) for k in ("corpus_limit", "scifact_queries", "sts_pairs", "nfcorpus", "quick")}
    blob = json.dumps(
        {"settings": settings, "budget": budget, "seed": seed, "shared": shared, "rule": rule_hash()},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_row(study: Study, name: str, changes: dict[str, Any], budget: int, seed: int, cache: dict) -> dict:
    """Train (or reuse) one row."""
    from leaf_hub.distill import distill_models
    from leaf_hub.recipe import TrainingSpec

    settings = BASELINE | changes
    key = row_key(name, settings, budget, seed, study.args)
    if key in cache:
        return cache[key]
    student, fit = study.student(settings)
    batch = settings["batch_size"]
    training = TrainingSpec(
        batch_size=batch,
        learning_rate=settings["learning_rate"],
        projection_lr_multiplier=settings["projection_lr_multiplier"],
        max_steps=max(1, budget // batch),
        warmup_ratio=settings["warmup_ratio"],
        seed=seed,
        checkpoint_steps=10**6,
        schedule=settings["schedule"],
        cycles=settings.get("cycles", 1),
        trainable_layers=settings["trainable_layers"],
        score_distill_weight=settings["score_distill_weight"],
        device="cpu",
    )
    console.print(f"[bold]{name}[/] budget {budget:,} seed {seed}: {training.max_steps} steps at batch {batch}")
    trained = distill_models(
        student, study.texts, study.targets, training, study.work / "checkpoints", token_cache_root=study.work / "tok"
    )
    scores = study.score(student, f"{name}-{budget}-{seed}")
    row = {
        "name": name,
        "changes": changes,
        "budget": budget,
        "seed": seed,
        "steps": trained["steps"],
        "train_seconds": trained["train_seconds"],
        "texts_per_s": trained["steps"] * batch / trained["train_seconds"],
        "ridge": fit,
        "final_loss": trained["loss_history"][-1][1] if trained["loss_history"] else None,
        **scores,
    }
    cache[key] = row
    with study.args.rows.open("a") as fh:
        fh.write(json.dumps({"key": key, "row": row}) + "\n")
    console.print(
        f"  alignment {row['alignment']:.4f}  dev mean {row['dev_mean'] * 100:.2f}  "
        f"({row['train_seconds']:.0f} s, {row['texts_per_s']:.0f} texts/s)"
    )
    return row


# ---------------------------------------------------------------------------------------------
# the study
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    stamp = start_stamp(__file__, TARGETS, quick=args.quick)
    if args.score_folder is not None:
        dev = dev_scores(args.score_folder, args)
        record = {"folder": str(args.score_folder), "dev": dev, "dev_mean": statistics.fmean(dev.values())}
        out = write_report(args.output.with_name(args.output.stem + "_scored.json"), record, stamp)
        console.print(f"{args.score_folder}: dev {dev}, mean {record['dev_mean'] * 100:.2f} → {out}")
        return

    start = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="schedule-study-"))
    work.mkdir(parents=True, exist_ok=True)
    cache: dict[str, dict] = {}
    if args.rows.exists():
        for line in args.rows.read_text().splitlines():
            entry = json.loads(line)
            cache[entry["key"]] = entry["row"]
    report: dict[str, Any] = {
        "what": "held-out alignment and dev scores of leaf-trainer settings against text-passes (leaf-ir-mini texts)",
        "rule": RULE,
        "rule_sha256": rule_hash(),
        "baseline": BASELINE,
        "screen": SCREEN,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_report(args.output, report, stamp)  # the rule is on disk before any row runs

    study = Study(args, work)
    step0_key = row_key("step0", BASELINE, 0, 0, args)
    if step0_key not in cache:
        step0_student, fit = study.student(BASELINE)
        scores = study.score(step0_student, "step0")
        cache[step0_key] = {"name": "step 0 (init + ridge)", "budget": 0, "ridge": fit, **scores}
        with args.rows.open("a") as fh:
            fh.write(json.dumps({"key": step0_key, "row": cache[step0_key]}) + "\n")
    step0 = cache[step0_key]
    console.print(f"step 0: alignment {step0['alignment']:.4f}, dev mean {step0['dev_mean'] * 100:.2f}")
    smallest, larger = args.budgets[0], args.budgets[1:]

    seeds = [run_row(study, "baseline", {}, smallest, 42 + i, cache) for i in range(args.seeds)]
    spread = {
        "alignment": max(r["alignment"] for r in seeds) - min(r["alignment"] for r in seeds),
        "dev_mean": max(r["dev_mean"] for r in seeds) - min(r["dev_mean"] for r in seeds),
    }
    base_row = {
        "name": "baseline",
        "alignment": statistics.fmean(r["alignment"] for r in seeds),
        "dev_mean": statistics.fmean(r["dev_mean"] for r in seeds),
    }
    names = args.screen if args.screen is not None else list(SCREEN)
    screen_rows = [run_row(study, name, SCREEN[name], smallest, 42, cache) for name in names]
    keep = carried(screen_rows, base_row, step0, spread)[: args.carry]
    combo: dict[str, Any] = {}
    for r in reversed(keep):
        combo |= r["changes"]
    # The larger budgets cost 3-6x the smallest: they run the baseline and the carried changes
    # combined (the one carried change when only one passes), not each carried change alone.
    scale_settings: dict[str, dict[str, Any]] = {"baseline": {}}
    if len(keep) == 1:
        scale_settings[keep[0]["name"]] = keep[0]["changes"]
    elif len(keep) > 1:
        scale_settings["combined: " + " + ".join(r["name"] for r in keep)] = combo
    decisions = {str(smallest): decide([base_row, *screen_rows], step0, spread)}
    if len(keep) > 1:
        screen_rows.append(run_row(study, next(reversed(scale_settings)), combo, smallest, 42, cache))
        decisions[str(smallest)] = decide([base_row, *screen_rows], step0, spread)
    scale_rows: list[dict] = []
    for budget in larger:
        rows = [run_row(study, name, changes, budget, 42, cache) for name, changes in scale_settings.items()]
        scale_rows.extend(rows)
        decisions[str(budget)] = decide(rows, step0, spread)

    prediction = extrapolate(scale_rows, seeds, decisions, args.budgets)
    changes_of = {"baseline": {}} | {r["name"]: r["changes"] for r in screen_rows + scale_rows}
    report |= {
        "chosen": choose(decisions, changes_of),
        "prediction": prediction,
        "step0": step0,
        "spread": spread,
        "seed_rows": seeds,
        "screen_rows": screen_rows,
        "carried": [r["name"] for r in keep],
        "scale_rows": scale_rows,
        "decisions": decisions,
        "wall_seconds": time.perf_counter() - start,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_report(args.output, report, stamp)
    print_table(report)
    plot(report, args.output.with_suffix(".png"))


def choose(decisions: dict[str, dict], changes_of: dict[str, dict]) -> dict[str, Any] | None:
    """What the recipes follow: the winner at the largest budget that has one (see :data:`RULE`)."""
    for budget in sorted(decisions, key=int, reverse=True):
        winner = decisions[budget]["winner"]
        if winner is not None:
            return {"budget": int(budget), "name": winner, "changes": changes_of[winner]}
    return None


#: leaf-ir's full schedule as LEAF trains it: all ~286k distillation texts, 30 epochs.
FULL_RUN_TEXT_PASSES = 286_000 * 30


def extrapolate(scale_rows: list[dict], seeds: list[dict], decisions: dict, budgets: list[int]) -> dict | None:
    """Alignment of the largest budget's winner, extrapolated log-linearly in text-passes to the full run.

    A straight line through (log10 text-passes, alignment) of that setting's rows (the smallest
    budget's seeds averaged for the baseline); it is a forecast from CPU budgets, not a measurement.
    """
    if len(budgets) < 2:
        return None
    winner = decisions.get(str(budgets[-1]), {}).get("winner")
    rows = [r for r in scale_rows if r["name"] == winner]
    points = [(r["budget"], r["alignment"]) for r in rows]
    if winner == "baseline":
        points.append((seeds[0]["budget"], statistics.fmean(r["alignment"] for r in seeds)))
    if len(points) < 2:
        return None
    x = np.log10([p[0] for p in points])
    y = np.array([p[1] for p in points])
    slope, intercept = np.polyfit(x, y, 1)
    return {
        "setting": winner,
        "points": points,
        "alignment_per_decade": float(slope),
        "full_run_text_passes": FULL_RUN_TEXT_PASSES,
        "predicted_alignment": float(min(1.0, intercept + slope * np.log10(FULL_RUN_TEXT_PASSES))),
        "note": "log-linear extrapolation from CPU budgets of leaf-ir-mini texts (no passages); a forecast",
    }


def print_table(report: dict[str, Any]) -> None:
    step0 = report["step0"]
    table = Table(title="schedule study (selection splits only; Δ against the step-0 student)")
    for col in ("setting", "text-passes", "alignment", "Δ align", "dev mean", "Δ dev", "s", "texts/s"):
        table.add_column(col, justify="left" if col == "setting" else "right")
    table.add_row("step 0 (init + ridge)", "0", f"{step0['alignment']:.4f}", "", f"{step0['dev_mean'] * 100:.2f}", "")
    for r in report["seed_rows"] + report["screen_rows"] + report["scale_rows"]:
        label = r["name"] + (f" (seed {r['seed']})" if r["name"] == "baseline" and r["budget"] else "")
        table.add_row(
            label,
            f"{r['budget']:,}",
            f"{r['alignment']:.4f}",
            f"{r['alignment'] - step0['alignment']:+.4f}",
            f"{r['dev_mean'] * 100:.2f}",
            f"{(r['dev_mean'] - step0['dev_mean']) * 100:+.2f}",
            f"{r['train_seconds']:.0f}",
            f"{r['texts_per_s']:.0f}",
        )
    console.print(table)
    console.print(f"seed range: alignment {report['spread']['alignment']:.4f}, dev mean "
                  f"{report['spread']['dev_mean'] * 100:.2f}; carried: {report['carried']}")
    for budget, decision in report["decisions"].items():
        console.print(f"budget {int(budget):,}: winner [bold]{decision['winner']}[/] (tied: {decision['tied']})")
    if report.get("chosen"):
        console.print(f"recipes follow: [bold]{report['chosen']['name']}[/] (winner at {report['chosen']['budget']:,})")
    if report.get("prediction"):
        p = report["prediction"]
        console.print(
            f"forecast for the full run ({p['full_run_text_passes']:,} text-passes, {p['setting']}): "
            f"alignment {p['predicted_alignment']:.3f} ({p['alignment_per_decade']:+.4f} per decade of text-passes)"
        )


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    step0 = report["step0"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    series: dict[str, list[dict]] = {}
    for r in report["scale_rows"] + report["screen_rows"]:
        series.setdefault(r["name"], []).append(r)
    base_seeds = report["seed_rows"]
    for ax, metric, label in ((axes[0], "alignment", "held-out alignment"), (axes[1], "dev_mean", "dev mean")):
        scale = 1 if metric == "alignment" else 100
        ax.axhline(step0[metric] * scale, color="grey", ls=":", label="step 0 (init + ridge)")
        values = [r[metric] * scale for r in base_seeds]
        budget = base_seeds[0]["budget"]
        ax.errorbar([budget], [statistics.fmean(values)], yerr=[[statistics.fmean(values) - min(values)],
                    [max(values) - statistics.fmean(values)]], fmt="ko", capsize=4, label="baseline seed range")
        for name, rows in series.items():
            rows = sorted(rows, key=lambda r: r["budget"])
            if name == "baseline":
                rows = [{"budget": budget, metric: statistics.fmean(r[metric] for r in base_seeds)}, *rows]
            ax.plot([r["budget"] for r in rows], [r[metric] * scale for r in rows], marker="o",
                    lw=1.5 if len(rows) > 1 else 0, label=name)
        ax.set_xscale("log")
        ax.set_xlabel("text-passes (steps x batch)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="best")
    decisions = "; ".join(f"{int(b):,}: {d['winner']}" for b, d in report["decisions"].items())
    fig.suptitle(f"schedule study (selection splits). Winners: {decisions}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
