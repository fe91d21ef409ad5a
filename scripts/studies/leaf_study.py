"""Study of a leaf that serves queries: data mix, staging, loss, epochs, learning rate and teacher texts, both kinds.

Issue 29's study. Every row is a real ``leaf-hub distill`` of a shipped recipe with one change
(:func:`variants`), scored on the **selection** splits only (the project's rule: settings are chosen
on dev/train data, test splits are reported, never used to choose):

- the **selection score**: the mean of the asymmetric nDCG@10 on SciFact ``train`` and NFCorpus
  ``dev``, the leaf encoding the queries and the teacher the documents, full corpora (the teacher's
  document vectors come from its cache once a full-split evaluation has written them);
- the **held-out query alignment**: mean cosine to the teacher on the held-out training queries
  (``metrics.json``'s ``alignment_by_kind.query``, written by the distillation).

Rows, per kind (``--kinds``):

- ``static`` (base ``leaf-ir-static-mini``): the base with seeds 42, 43, 44 (the seed spread), then,
  at seed 42, one change each: ``mix=queries`` (4,000 queries), ``mix=+passages`` (3,000 queries, 500
  sentences, 500 passages), ``staged`` (documents first, then queries at a fifth of the learning
  rate, pyNIFE's recipe), ``loss=mse``, ``epochs=8``, ``lr=3e-3``; and the teacher-text sizes
  ``texts=2k`` and ``texts=8k`` (the base is 4k) for the growth curve;
- ``transformer`` (base ``leaf-ir-mini``): the base with seeds 42, 43, then ``loss=cosine``,
  ``mix=queries`` and ``staged`` at seed 42.

The decision rule is :data:`DECISION_RULE`, applied by :func:`decide` and nothing else; its text and
the sha256 of :func:`decide`'s and :func:`variants`' sources are written to the report before any
row runs and are part of every cached row's key (``reports/leaf_study.rows.jsonl``: a row whose key
matches is reused, so an interrupted study resumes; a changed rule, grid or setting retrains).

Usage::

    python scripts/studies/leaf_study.py --quick              # tiny, MiniLM as teacher: checks that it runs
    python scripts/studies/leaf_study.py                      # both kinds, the shipped recipes' sizes
    python scripts/studies/leaf_study.py --kinds static       # the static rows only (minutes once cached)

Writes ``reports/leaf_study.json``, ``reports/leaf_study.rows.jsonl`` and ``reports/leaf_study.png``
(``--output``; ``--quick``: ``reports/leaf_study_quick.*``) and prints a table. A study has no target
(:data:`TARGETS` is empty): it has its decision rule. Cost on the 2-core CPU machine: a static row
trains in seconds (the table is built once per machine, minutes); a transformer row trains for about
3 minutes; every row's selection scores encode about 1,100 queries with the leaf; the teacher encodes
only texts it has not cached (the larger text sizes and the passages, a few minutes once).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import logging
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, print_table, start_stamp, write_report  # noqa: E402

PROG = "leaf_study"
TARGETS = ()
#: The selection splits (SciFact has no dev split) and the score: asymmetric nDCG@10 on full corpora.
SELECTION = {"SciFact": "train", "NFCorpus": "dev"}
BASES = {"static": "leaf-ir-static-mini", "transformer": "leaf-ir-mini"}
QUERIES = "distill/queries_en.txt"
SENTENCES = "distill/corpus_en.txt"
PASSAGES = "distill/passages_en.txt"
#: MiniLM stands in for teacher and table in --quick (a fraction of mpnet's cost on a cold machine).
QUICK_TEACHER = "sentence-transformers/all-MiniLM-L6-v2"
QUICK_REVISION = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"

DECISION_RULE = (
    "For each student kind separately. Selection score: the mean of the asymmetric nDCG@10 (leaf queries, "
    "teacher documents, full corpora) on SciFact train and NFCorpus dev; test splits are never used. The base "
    "recipe is trained with several seeds; its spread is the range (max - min) of their selection scores, and "
    "the alignment spread the range of their held-out query alignments. A variant (one change to the base, "
    "seed 42) passes only if its selection score exceeds the seed-42 base's by more than the spread AND its "
    "held-out query alignment is not below the seed-42 base's by more than the alignment spread. Of the "
    "variants that pass, the one with the largest selection gain is the recipe's change (one change per "
    "decision; combinations are not claimed); none passing keeps the base. Teacher-text sizes are not a "
    "setting: they give the growth curve (selection score and query alignment against unique teacher texts)."
)


def _source(path: str, samples: int, kind: str) -> dict[str, Any]:
    return {"path": path, "samples": samples, "kind": kind}


def variants(kind: str, *, quick: bool = False) -> list[dict[str, Any]]:
    """The rows of one kind: ``name``, ``factor`` (``seed``, ``texts`` or the changed setting), ``seed``, ``overrides``.

    Overrides are dotted recipe keys (:func:`leaf_hub.recipe.load_recipe`). ``quick`` keeps the grid's
    shape with two seeds and one variant.
    """
    q, s = (160, 60) if quick else (3000, 1000)
    n = q + s
    rows: list[dict[str, Any]] = []
    seeds = (42, 43) if quick or kind == "transformer" else (42, 43, 44)
    for seed in seeds:
        rows.append({"name": f"base (seed {seed})", "factor": "seed", "seed": seed, "overrides": {}})
    if quick:
        sources = [_source(QUERIES, q, "query"), _source(SENTENCES, s, "document")]
        for row in rows:
            row["overrides"] = {"data.sources": sources}
        rows.append({"name": "loss=mse", "factor": "loss", "seed": 42,
                     "overrides": {"data.sources": sources, "training.loss": "mse"}})  # fmt: skip
        return rows
    mixes = {
        "mix=queries": [_source(QUERIES, n, "query")],
        "mix=+passages": [_source(QUERIES, q, "query"), _source(SENTENCES, s // 2, "document"),
                          _source(PASSAGES, s // 2, "document")],
    }  # fmt: skip
    changes: dict[str, tuple[str, dict[str, Any]]] = {name: ("mix", {"data.sources": v}) for name, v in mixes.items()}
    if kind == "static":
        changes |= {
            "staged": ("staging", {"training.stages": [
                {"kinds": ["document"], "epochs": 4}, {"kinds": ["query"], "epochs": 4, "learning_rate": 2.0e-4}]}),
            "loss=mse": ("loss", {"training.loss": "mse"}),
            "epochs=8": ("epochs", {"training.epochs": 8}),
            "lr=3e-3": ("learning_rate", {"training.learning_rate": 3.0e-3}),
        }  # fmt: skip
    else:
        changes |= {
            "loss=cosine": ("loss", {"training.loss": "cosine"}),
            "staged": ("staging", {"training.stages": [
                {"kinds": ["document"], "epochs": 6}, {"kinds": ["query"], "epochs": 6, "learning_rate": 2.0e-5}]}),
        }  # fmt: skip
        del changes["mix=+passages"]
    for name, (factor, overrides) in changes.items():
        rows.append({"name": name, "factor": factor, "seed": 42, "overrides": overrides})
    if kind == "static":
        for size, (qq, ss) in {"texts=2k": (1500, 500), "texts=8k": (6000, 2000)}.items():
            sources = [_source(QUERIES, qq, "query"), _source(SENTENCES, ss, "document")]
            rows.append({"name": size, "factor": "texts", "seed": 42, "overrides": {"data.sources": sources}})
    return rows


def decide(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply :data:`DECISION_RULE` to one kind's rows (each with ``factor``, ``seed``, ``select``, ``query_alignment``).

    Returns:
        The spreads, one verdict per variant (``gain``, ``alignment_change``, ``passes``) and ``chosen``
        (the passing variant with the largest gain, or ``None``: the base stays).
    """
    base = [r for r in rows if r["factor"] == "seed"]
    ref = next(r for r in base if r["seed"] == 42)
    spread = max(r["select"] for r in base) - min(r["select"] for r in base)
    alignment_spread = max(r["query_alignment"] for r in base) - min(r["query_alignment"] for r in base)
    verdicts = {}
    for row in rows:
        if row["factor"] in ("seed", "texts"):
            continue
        gain = row["select"] - ref["select"]
        alignment_change = row["query_alignment"] - ref["query_alignment"]
        verdicts[row["name"]] = {
            "gain": gain,
            "alignment_change": alignment_change,
            "passes": gain > spread and alignment_change >= -alignment_spread,
        }
    passing = [name for name, v in verdicts.items() if v["passes"]]
    chosen = max(passing, key=lambda name: verdicts[name]["gain"]) if passing else None
    return {"spread": spread, "alignment_spread": alignment_spread, "verdicts": verdicts, "chosen": chosen}


def decision_rule() -> dict[str, str]:
    """The rule as the report records it: its text, and the sha256 of the text, of :func:`decide` and of the grid."""
    return {
        "text": DECISION_RULE,
        "function": f"scripts/studies/leaf_study.py:{decide.__name__}",
        "text_sha256": hashlib.sha256(DECISION_RULE.encode()).hexdigest(),
        "code_sha256": hashlib.sha256(inspect.getsource(decide).encode()).hexdigest(),
        "grid_sha256": hashlib.sha256(inspect.getsource(variants).encode()).hexdigest(),
    }


def row_key(kind: str, spec: dict[str, Any], settings: dict[str, Any], rule: dict[str, str]) -> str:
    """What a row depends on: its kind, change and seed, the study's settings and the rule."""
    data = {"kind": kind, "spec": spec, "settings": settings, "rule": [rule[k] for k in sorted(rule) if "sha" in k]}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------


def _recipe(kind: str, spec: dict[str, Any], args: argparse.Namespace, run_dir: Path):
    from leaf_hub.recipe import load_recipe

    overrides: dict[str, Any] = {"output_dir": str(run_dir), "training.seed": spec["seed"], **spec["overrides"]}
    if args.quick:
        minilm = {"id": QUICK_TEACHER, "revision": QUICK_REVISION}
        overrides |= {f"teacher.{k}": v for k, v in minilm.items()}
        if kind == "static":
            overrides |= {f"student.{k}": v for k, v in minilm.items()}
        overrides["student.projection_dim"] = 384
        overrides |= {"data.heldout": 20, "training.epochs": 1}
    return load_recipe(BASES[kind], overrides)


def _selection(recipe: Any, model_dir: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Asymmetric nDCG@10 of the leaf on each selection split (leaf queries, teacher documents)."""
    from leaf_hub.encoders import evaluation_teacher
    from leaf_hub.evaluation import evaluate_models
    from leaf_hub.recipe import EvalSpec

    teacher, why_not = evaluation_teacher(recipe.teacher)
    if teacher is None:
        sys.exit(f"{PROG}: {why_not}")
    scores = {}
    for task, split in SELECTION.items():
        settings = EvalSpec(
            tasks=[task],
            modes=["asymmetric"],
            split=split,
            corpus_limit=args.corpus_limit or None,
            query_limit=args.query_limit or None,
            sweep_precisions=[],
        )
        result = evaluate_models(
            model_dir,
            output_dir=out / f"{task}-{split}",
            teacher=teacher,
            teacher_id=recipe.teacher.id,
            settings=settings,
            student_prompts=(recipe.student.query_prompt, recipe.student.document_prompt),
            student_max_seq_length=recipe.student.max_seq_length,
            sweep=False,
            progress=False,
        )
        record = result.scores[0]
        scores[task] = {
            "split": split,
            "score": record.main_score,
            "n_queries": record.n_queries,
            "n_docs": record.n_docs,
        }
    return scores


def run_row(kind: str, spec: dict[str, Any], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from leaf_hub.distill import distill
    from leaf_hub.run_folder import RunFolder

    run_dir = work / kind / "".join(c if c.isalnum() or c in "-_." else "_" for c in spec["name"])
    recipe = _recipe(kind, spec, args, run_dir)
    tick = time.perf_counter()
    report = distill(recipe, RunFolder(run_dir))
    distill_seconds = time.perf_counter() - tick
    tick = time.perf_counter()
    scores = _selection(recipe, run_dir / "model", run_dir / "selection", args)
    by_kind = report.alignment_by_kind or {}
    return {
        "kind": kind,
        **spec,
        "unique_texts": report.n_train_texts + report.n_heldout,
        "n_train_texts": report.n_train_texts,
        "text_passes": report.text_passes,
        "heldout_alignment": report.alignment_after,
        "query_alignment": by_kind["query"]["after"],
        "query_alignment_n": by_kind["query"]["n"],
        "scores": scores,
        "select": statistics.fmean(v["score"] for v in scores.values()),
        "teacher_texts_encoded": report.teacher_texts_encoded,
        "train_seconds": report.train_seconds,
        "distill_seconds": round(distill_seconds, 1),
        "select_seconds": round(time.perf_counter() - tick, 1),
    }


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    on_curve = [r for r in rows if r["kind"] == "static" and (r["factor"] == "texts" or r["name"] == "base (seed 42)")]
    curve = sorted(on_curve, key=lambda r: r["unique_texts"])
    if curve:
        x = [r["unique_texts"] for r in curve]
        axes[0].plot(x, [100 * r["select"] for r in curve], "o-", label="selection score (asym nDCG@10)")
        twin = axes[0].twinx()
        twin.plot(x, [r["query_alignment"] for r in curve], "s--", color="tab:orange", label="held-out query alignment")
        axes[0].set_xscale("log", base=2)
        axes[0].set_xlabel("unique teacher texts")
        axes[0].set_ylabel("asym nDCG@10 (SciFact train, NFCorpus dev)")
        twin.set_ylabel("query alignment")
        axes[0].set_title("static leaf: growth with teacher texts")
    names = [f"{r['kind'][:6]} {r['name']}" for r in rows]
    axes[1].barh(
        names,
        [100 * r["select"] for r in rows],
        color=["tab:blue" if r["kind"] == "static" else "tab:green" for r in rows],
    )
    axes[1].set_xlabel("selection score (asym nDCG@10 x 100)")
    axes[1].invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="static,transformer", help="comma-separated: static, transformer")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, MiniLM as teacher: checks that it runs")
    parser.add_argument("--corpus-limit", type=int, default=0, help="sub-sample selection corpora (0: full)")
    parser.add_argument("--query-limit", type=int, default=0, help="selection queries per task (0: all)")
    parser.add_argument("--workdir", type=Path, default=None, help="run folders (default a folder beside the output)")
    parser.add_argument("--output", type=Path, default=None, help="default reports/leaf_study[_quick].json")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or any(k not in BASES for k in kinds):
        parser.exit(2, f"{PROG}: --kinds takes static and/or transformer, got {args.kinds!r}\n")
    if args.quick:
        kinds, args.corpus_limit, args.query_limit = ["static"], 30, 5
    out = args.output or ROOT / "reports" / f"leaf_study{'_quick' if args.quick else ''}.json"
    rows_path = out.with_suffix(".rows.jsonl")
    work = args.workdir or (out.parent / f".{out.stem}-runs" if args.output else ROOT / "runs" / out.stem)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    warnings.simplefilter("ignore")

    stamp = start_stamp(__file__, TARGETS, quick=args.quick)
    rule = decision_rule()
    settings = {"quick": args.quick, "corpus_limit": args.corpus_limit, "query_limit": args.query_limit}
    cached = {}
    if rows_path.is_file():
        for line in rows_path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            cached[row["key"]] = row
    report: dict[str, Any] = {"rule": rule, "settings": settings, "selection": SELECTION, "bases": BASES}
    write_report(out, report | {"status": "running"}, stamp)  # the rule is on disk before any row runs
    rows: list[dict[str, Any]] = []
    plan = [(kind, spec) for kind in kinds for spec in variants(kind, quick=args.quick)]
    for i, (kind, spec) in enumerate(plan, 1):
        key = row_key(kind, spec, settings, rule)
        if key in cached:
            rows.append(cached[key])
            print(
                f"[{i}/{len(plan)}] {kind} {spec['name']}: cached row ({100 * cached[key]['select']:.2f})", flush=True
            )
            continue
        tick = time.perf_counter()
        row = {"key": key, **run_row(kind, spec, args, work)}
        rows.append(row)
        with rows_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")
        print(f"[{i}/{len(plan)}] {kind} {spec['name']}: select {100 * row['select']:.2f}, query alignment "
              f"{row['query_alignment']:.4f} ({time.perf_counter() - tick:.0f} s)", flush=True)  # fmt: skip
    decisions = {kind: decide([r for r in rows if r["kind"] == kind]) for kind in kinds}
    print_table(
        "Leaf study: selection scores (asymmetric nDCG@10 x 100; SciFact train, NFCorpus dev) and query alignment",
        ("kind", "row", "texts", "SciFact train", "NFCorpus dev", "select", "query align.", "gain", "passes"),
        [
            (
                r["kind"],
                r["name"],
                r["unique_texts"],
                f"{100 * r['scores']['SciFact']['score']:.2f}",
                f"{100 * r['scores']['NFCorpus']['score']:.2f}",
                f"{100 * r['select']:.2f}",
                f"{r['query_alignment']:.4f}",
                ""
                if r["name"] not in decisions[r["kind"]]["verdicts"]
                else f"{100 * decisions[r['kind']]['verdicts'][r['name']]['gain']:+.2f}",
                ""
                if r["name"] not in decisions[r["kind"]]["verdicts"]
                else ("yes" if decisions[r["kind"]]["verdicts"][r["name"]]["passes"] else "no"),
            )
            for r in rows
        ],  # fmt: skip
        caption="; ".join(
            f"{kind}: spread {100 * d['spread']:.2f}, alignment spread {d['alignment_spread']:.4f}, "
            f"chosen {d['chosen'] or 'none (the base stays)'}"
            for kind, d in decisions.items()
        ),
    )
    plot = out.with_suffix(".png")
    _plot(rows, plot)
    report |= {"status": "done", "rows": rows, "decisions": decisions, "plot": plot.name}
    print(f"-> {write_report(out, report, stamp)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
