"""Figures in prose come from files: every figure README.md and recipes/*.yaml quote is checked against its report.

The convention (README, Development): a quoted figure is followed by its source, ``fig: FILE#EXPR``,
written ``<!-- fig: FILE#EXPR -->`` in Markdown (invisible when rendered) and ``[fig: FILE#EXPR]``
in a YAML comment. FILE is a JSON file of the repository (``reports/…``); EXPR is a dotted path
into it (``summary.teacher_texts_per_s``, list items by index, ``*`` for every item) or one of
:data:`FUNCTIONS` of expressions (``diff(scores.SciFact/student, scores.SciFact/init)``). The figure
matches when the value, as is or ×100 (scores quoted as points), rounds to the figure at the
figure's own decimals. The two study tables are generated from the reports' rows
(:func:`schedule_table`, :func:`ablation_table`) and must equal the README's text between
``<!-- table: NAME -->`` and ``<!-- /table -->``. Best effort against figures with no source:
in the README's figure sections, a number with two or more decimals, or with a unit of time,
speed, size or ratio, must carry a source (:func:`unsourced`).
"""

from __future__ import annotations

import json
import math
import re
import statistics
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))

NUMBER = r"(?P<num>[−+\-]?\d[\d,]*(?:\.\d+)?)"
SOURCE = r"(?:<!--\s*fig:\s*(?P<md>[^>]*?)\s*-->|\[fig:\s*(?P<yaml>[^\]]*?)\])"
#: a figure, up to 24 characters of unit or words (no digit, no new source), then its source (in a YAML
#: comment, possibly at the start of the next comment line)
MARKED = re.compile(NUMBER + r"(?P<unit>[^\d<\[\n]{0,24}?)\s*(?:\n\s*#\s*)?" + SOURCE)
TABLE = re.compile(r"<!-- table: (?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- /table -->", re.S)

FUNCTIONS = {
    "mean": lambda *xs: statistics.fmean(_flat(xs)),
    "min": lambda *xs: min(_flat(xs)),
    "max": lambda *xs: max(_flat(xs)),
    "range": lambda *xs: max(_flat(xs)) - min(_flat(xs)),
    "diff": lambda a, b: a - b,
    "ratio": lambda a, b: a / b,
    "neg": lambda a: -a,
}


def _flat(values: tuple) -> list[float]:
    return [v for x in values for v in (x if isinstance(x, list) else [x])]


@cache
def _json(name: str) -> Any:
    path = ROOT / name
    assert path.is_file(), f"cited file {name} does not exist"
    return json.loads(path.read_text())


def _path(data: Any, path: str) -> Any:
    parts = path.split(".")
    for i, part in enumerate(parts):
        if part == "*":
            return [_path(item, ".".join(parts[i + 1 :])) if parts[i + 1 :] else item for item in data]
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def _split_args(text: str) -> list[str]:
    args, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if c == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
    return [*args, text[start:].strip()]


def evaluate(source: str) -> Any:
    """The value of ``FILE#EXPR``."""
    name, _, expr = source.partition("#")
    assert expr, f"{source}: no #expression"
    data = _json(name.strip())

    def value(e: str) -> Any:
        call = re.fullmatch(r"(\w+)\((.*)\)", e, re.S)
        if call and call.group(1) in FUNCTIONS:
            return FUNCTIONS[call.group(1)](*(value(a) for a in _split_args(call.group(2))))
        return _path(data, e)

    return value(expr.strip())


def agrees(figure: str, value: float) -> bool:
    """Whether the quoted ``figure`` is ``value`` (or ×100) at the figure's decimals."""
    text = figure.replace(",", "").replace("−", "-")
    decimals = len(text.partition(".")[2])
    quoted = float(text)
    half = 0.5 * 10**-decimals + 1e-9
    return any(math.isclose(v, quoted, abs_tol=half) or abs(v - quoted) <= half for v in (value, 100 * value))


def figures(text: str) -> list[tuple[str, str, int]]:
    """Every marked figure of a text: (figure, source, line number)."""
    return [
        (m.group("num"), m.group("md") or m.group("yaml"), text.count("\n", 0, m.start()) + 1)
        for m in MARKED.finditer(text)
    ]


def disagreements(text: str) -> list[str]:
    """Marked figures that are not their source's value."""
    found = []
    for figure, source, line in figures(text):
        value = evaluate(source)
        if not isinstance(value, int | float) or isinstance(value, bool):
            found.append(f"line {line}: {figure} cites {source}, which is {value!r}, not a number")
        elif not agrees(figure, value):
            found.append(f"line {line}: {figure} but {source} is {value:.6g}")
    return found


#: README sections that quote measurements; any number there that looks like one must carry a source
FIGURE_SECTIONS = (
    "Quick start",
    "Training: the leaf trainer",
    "Other training options",
    "CPU exports",
    "Multi-GPU training (data-parallel)",
    "Development",
)
#: a measurement-like number: two or more decimals, or a unit of time, speed, size or ratio
LOOKS_MEASURED = re.compile(
    r"(?<![\w.=≥≤<>/×-])(?<![=≥≤<>] )"  # not a part of a word or a version, not a threshold (≥ 0.99)
    r"(?:(?=[−+\-]?\d[\d,]*\.\d{2,})"
    + NUMBER
    + r"|"
    + NUMBER.replace("num", "n2")
    + r"(?P<unit>\s?(?:s\b|texts/s|queries/s|GiB|MiB|MB|×|%)))"
)


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^(#{2,3} .*)$", text, flags=re.M)
    return {parts[i].lstrip("# ").strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def unsourced(text: str) -> list[str]:
    """Measurement-like numbers in the figure sections that carry no source (code blocks and tables excluded)."""
    found = []
    for title, body in _sections(text).items():
        if title not in FIGURE_SECTIONS:
            continue
        body = re.sub(r"```.*?```", "", body, flags=re.S)
        body = TABLE.sub("", body)
        body = MARKED.sub("", body)
        for m in LOOKS_MEASURED.finditer(body):
            if re.fullmatch(r"\d+\.\d+\.\d+", body[m.start() : m.end() + 6].split()[0].rstrip(",;:)")):
                continue  # a version (torch 2.13.0)
            found.append(f"{title}: {m.group(0).strip()!r} in {body[max(0, m.start() - 40) : m.end() + 20]!r}")
    return found


# ---------------------------------------------------------------------------------------------
# the generated tables
# ---------------------------------------------------------------------------------------------

#: the schedule study's row names as the README's table names them
SCHEDULE_LABELS = {
    "projection lr x0.1": "projection lr ×0.1",
    "projection lr x0.01": "projection lr ×0.01",
    "top 3 layers + projection": "top 3 layers + projection",
    "encoder lr 3e-4": "encoder lr 3e-4",
    "3 cycles (LEAF)": "3 cycles (LEAF's schedule)",
    "batch 64": "batch 64",
    "score distillation 0.1": "score distillation w=0.1",
}


def schedule_table() -> str:
    """The README's schedule-study table, from reports/schedule_study.json's rows and decisions."""
    r = _json("reports/schedule_study.json")
    decisions = r["decisions"]

    def verdict(name: str, budget: int) -> str:
        d = decisions[str(budget)]
        if d["winner"] == name:
            return "**winner**"
        return "ineligible" if name in d["ineligible"] else "eligible"

    seeds = r["seed_rows"]
    alignments = " / ".join(f"{s['alignment']:.4f}" for s in seeds)
    dev_means = " / ".join(f"{100 * s['dev_mean']:.2f}" for s in seeds)
    seed_mean = 100 * statistics.fmean(s["dev_mean"] for s in seeds)
    budget = seeds[0]["budget"]
    lines = [
        "| setting (leaf-ir-mini texts, selection splits only) | text-passes | held-out alignment | dev mean ×100 "
        "| the rule |",
        "|---|---:|---:|---:|---|",
        f"| step 0: all-MiniLM-L6-v2 + ridge projection | 0 | {r['step0']['alignment']:.4f} | "
        f"{100 * r['step0']['dev_mean']:.2f} | floor {100 * decisions[str(budget)]['dev_floor']:.2f} |",
        f"| plain LEAF, lr 1e-4, linear (seeds {' / '.join(str(s['seed']) for s in seeds)}) | {budget:,} | "
        f"{alignments} | {dev_means} (mean {seed_mean:.2f}) | {verdict('baseline', budget)} |",
    ]
    for row in r["screen_rows"]:
        lines.append(
            f"| {SCHEDULE_LABELS.get(row['name'], row['name'])} | {row['budget']:,} | {row['alignment']:.4f} | "
            f"{100 * row['dev_mean']:.2f} | {verdict(row['name'], row['budget'])} |"
        )
    for row in r["scale_rows"]:
        name = "plain LEAF" if row["name"] == "baseline" else row["name"]
        lines.append(
            f"| {name} (only setting run) | {row['budget']:,} | {row['alignment']:.4f} | {100 * row['dev_mean']:.2f} "
            f"| {verdict(row['name'], row['budget'])} |"
        )
    return "\n".join(lines) + "\n"


#: the ablation's row names as the README's table names them
ABLATION_LABELS = {
    "focal γ=1": "focal γ=1",
    "score w=1 τ=0.05": "score distillation w=1, τ=0.05",
    "score w=0.3 τ=0.05": "score distillation w=0.3",
    "score w=0.1 τ=0.05": "score distillation w=0.1",
    "soup uniform ×3": "uniform soup of the 3 seeds",
    "soup greedy ×3": "greedy soup of the 3 seeds",
}


def ablation_table() -> str:
    """The README's ablation table, from reports/ablation.json's verdicts."""
    r = _json("reports/ablation.json")
    lines = ["| option | Δ selection mean ×100 | Δ alignment | default |", "|---|---:|---:|---|"]
    for v in r["verdicts"]:
        lines.append(
            f"| {ABLATION_LABELS.get(v['option'], v['option'])} | {_signed(100 * v['delta_select_mean'], 2)} | "
            f"{_signed(v['delta_alignment'], 4)} | {v['default']} |"
        )
    return "\n".join(lines) + "\n"


def _signed(value: float, decimals: int) -> str:
    return f"{value:+.{decimals}f}".replace("-", "−")


TABLES = {"schedule_study": schedule_table, "ablation": ablation_table}


# ---------------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------------


def test_every_marked_figure_in_the_readme_is_its_sources_value() -> None:
    text = README.read_text()
    assert len(figures(text)) >= 20  # the convention is in use: a README without sources would pass vacuously
    assert disagreements(text) == []


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_every_figure_a_recipe_comment_quotes_is_its_sources_value(recipe: Path) -> None:
    text = recipe.read_text()
    assert disagreements(text) == []
    quoted = [m for m in re.finditer(r"#.*?(\d+\.\d+)\s*(texts/s|s\b|×|x\b)", text)]
    marked = {line for _, _, line in figures(text)}
    bare = [m.group(0) for m in quoted if text.count("\n", 0, m.start()) + 1 not in marked]
    assert bare == [], f"figures with a unit and no [fig: …] source: {bare}"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_generated_tables_are_the_readmes(name: str) -> None:
    tables = {m.group("name"): m.group("body") for m in TABLE.finditer(README.read_text())}
    assert name in tables, f"README has no <!-- table: {name} --> block"
    assert tables[name] == TABLES[name](), f"regenerate the README table:\n{TABLES[name]()}"


def test_no_unsourced_figure_in_the_readmes_figure_sections() -> None:
    assert unsourced(README.read_text()) == []


def test_the_checker_fails_on_a_figure_that_disagrees_with_its_json() -> None:
    stale = "the teacher encoded 13.5 texts/s [fig: reports/bench_distill.json#summary.teacher_texts_per_s]"
    assert disagreements(stale) and "67.9" in disagreements(stale)[0]
    assert disagreements(stale.replace("13.5", "67.9")) == []
    points = "dev mean 84.22 <!-- fig: reports/schedule_study.json#scale_rows.0.dev_mean --> below"
    assert disagreements(points) == [] and disagreements(points.replace("84.22", "84.24"))
    derived = "−5.48 <!-- fig: reports/release_leaf-ir-mini.json#diff(scores.SciFact/student, scores.SciFact/init) -->"
    assert disagreements(derived) == [] and disagreements(derived.replace("−5.48", "−5.38"))


def test_the_checker_flags_a_figure_with_no_source() -> None:
    text = "## Development\n\nthe suite took 1,624 s and peaked at 3.16 GiB.\n"
    assert len(unsourced(text)) == 2
    marked = text.replace("1,624 s", "1,624 s <!-- fig: reports/test_disk.json#wall_s -->").replace(
        "3.16 GiB", "3.16 GiB <!-- fig: reports/test_disk.json#peak_tmp_gib -->"
    )
    assert unsourced(marked) == [] and disagreements(marked) == []
