"""reports/ablation.json re-derived from its rows alone, and the shipped recipes keep off what the rows turn off.

The rows are committed beside the report (``reports/ablation.rows.jsonl``: ``{"key", "row"}`` per
configuration; a trained row's key is its cache key, a soup's is null). The rows the study trains
follow from its command line (``settings``); each row's means follow from its per-task scores; the
seed spread, each verdict (the rule's own :func:`decide`, imported from the script, on rows found
here) and the reported-only asymmetric deltas are computed here and compared with every field of
the report. The rule's hashes are computed here from the current code, the way ``decision_rule``
computes them, and every trained row's key must be the key the current rule gives it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest

from leaf_hub.recipe import load_recipe
from tests.support.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "reports" / "ablation.json"
ROWS = ROOT / "reports" / "ablation.rows.jsonl"

#: report fields that are the run's inputs or facts of the run (sizes, timings, machine), not derived from rows
RUN_FACTS = {
    "description", "status", "settings", "teacher", "student_init", "n_train_texts", "n_heldout", "n_validation",
    "teacher_seconds", "projection_init", "projection_init_seconds", "left_out", "hardware", "versions", "machine",
    "wall_seconds",
}  # fmt: skip


#: what scripts/bench/common.py's stamp (or a historical report's mark) adds: facts of the run, not of the rows
STAMP_FIELDS = {"stamp", "historical", "historical_reason", "written_by", "committed_in"}


def _ablation():
    return load_script("studies/ablation")


def _entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def rule_record(ablation: Any) -> dict[str, str]:
    """The rule's text and hashes, computed from the current code as ``decision_rule`` computes them."""
    return {
        "text": ablation.DECISION_RULE,
        "text_sha256": hashlib.sha256(ablation.DECISION_RULE.encode()).hexdigest(),
        "code_sha256": hashlib.sha256(inspect.getsource(ablation.decide).encode()).hexdigest(),
    }


def planned(settings: dict[str, Any]) -> list[tuple[str, dict[str, float], int]]:
    """The trained rows the command line asks for, in the script's order (name, options, seed)."""
    seed = settings["seed"]
    plan: list[tuple[str, dict[str, float], int]] = [("plain", {}, seed)]
    plan += [(f"focal γ={g:g}", {"focal_gamma": g}, seed) for g in settings["focal_gamma"]]
    temperature = settings["score_temperature"]
    for w in settings["score_weight"]:
        options = {"score_distill_weight": w, "score_distill_temperature": temperature}
        plan.append((f"score w={w:g} τ={temperature:g}", options, seed))
    plan += [(f"plain seed {seed + i}", {}, seed + i) for i in range(1, settings["soup_seeds"])]
    return plan


def _range(values: list[float]) -> float:
    return max(values) - min(values)


def rederive(ablation: Any, settings: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Every derived field of the report, from the rows and the command line (``settings``)."""
    rule = rule_record(ablation)
    plan = planned(settings)
    n_soups = len([n for n, o, _ in plan if not o])
    names = [n for n, _, _ in plan] + [f"soup {m} ×{n_soups}" for m in ("uniform", "greedy")]
    assert [e["row"]["name"] for e in entries] == names, "the rows are not the ones the command line asks for"
    rows = []
    for entry, name in zip(entries, names, strict=True):
        row = dict(entry["row"])
        if row["kind"] == "train":
            (options, seed) = next((o, s) for n, o, s in plan if n == name)
            assert (row["options"], row["seed"]) == (options, seed), name
            assert entry["key"] == ablation.row_key(settings, options, seed, rule), f"{name}: not keyed by this rule"
        else:
            assert entry["key"] is None
        for which, per_task in row["scores"].items():
            row[f"{which}_mean"] = statistics.fmean(v["score"] for v in per_task.values())
        rows.append(row)
    plain = [r for r in rows if r["name"].startswith("plain")]
    for soup in (r for r in rows if r["kind"] == "soup"):
        soup["train_seconds"] = sum(r["train_seconds"] for r in plain) + soup["soup_seconds"]
    means = [r["select_mean"] for r in plain]
    spread: dict[str, Any] = {
        "seeds": [r["seed"] for r in plain],
        "select_mean": means,
        "range": _range(means),
        "std": statistics.stdev(means),
        "per_task_range": {t: _range([r["scores"]["select"][t]["score"] for r in plain]) for t in ablation.TASKS},
        "alignment_range": _range([r["heldout_alignment"] for r in plain]),
    }
    for field, key in (("asymmetric", "asymmetric_test"), ("asymmetric_select", "asymmetric_select")):
        if all(r.get(field) for r in plain):
            spread[f"{key}_mean"] = [statistics.fmean(r[field].values()) for r in plain]
            spread[f"{key}_range"] = _range(spread[f"{key}_mean"])
    verdicts = []
    for row in rows:
        if row["name"].startswith("plain"):
            continue
        verdict = {"option": row["name"], **ablation.decide(row, plain)}
        same_seed = row["kind"] == "train"
        for field, key in (("asymmetric_select", "asymmetric_select"), ("asymmetric", "asymmetric_test")):
            if row.get(field) and f"{key}_mean" in spread:
                versus = statistics.fmean(plain[0][field].values() if same_seed else spread[f"{key}_mean"])
                verdict[f"delta_{key}_mean"] = statistics.fmean(row[field].values()) - versus
        verdicts.append(verdict)
        row["delta_select_mean"] = verdict["delta_select_mean"]
    return {
        "decision_rule": rule,
        "mode": "quick" if settings["quick"] else "full",
        "selection_splits": {t: s[0] for t, s in ablation.TASKS.items()},
        "final_splits": {t: s[1] for t, s in ablation.TASKS.items()} if settings["final"] else None,
        "rows": rows,
        "seed_spread": spread,
        "verdicts": verdicts,
    }


def mismatches(report: dict[str, Any], derived: dict[str, Any]) -> list[str]:
    """Where the report differs from the re-derivation (empty: every field follows from the rows)."""
    found = []
    unexplained = set(report) - set(derived) - RUN_FACTS - STAMP_FIELDS
    if unexplained:
        found.append(f"fields neither derived nor run facts: {sorted(unexplained)}")
    for field, value in derived.items():
        recorded = report.get(field)
        if field == "decision_rule" and isinstance(recorded, dict):
            # the file path in "function" moved with the script (scripts/ -> scripts/studies/); the name may not
            if recorded.get("function", "").rpartition(":")[2] != "decide":
                found.append(f"decision_rule.function: {recorded.get('function')}")
            recorded = {k: v for k, v in recorded.items() if k != "function"}
        if json.loads(json.dumps(recorded)) != json.loads(json.dumps(value)):
            found.append(f"{field}: report {json.dumps(recorded)[:200]} != rows {json.dumps(value)[:200]}")
    return found


@pytest.fixture(scope="module")
def derived() -> dict[str, Any]:
    report = json.loads(REPORT.read_text())
    return rederive(_ablation(), report["settings"], _entries(ROWS))


def test_every_field_of_the_report_follows_from_its_rows(derived) -> None:
    assert mismatches(json.loads(REPORT.read_text()), derived) == []


def test_the_recorded_rule_hashes_are_those_of_the_current_rule_code() -> None:
    ablation, report = _ablation(), json.loads(REPORT.read_text())
    current = ablation.decision_rule()
    assert {k: report["decision_rule"][k] for k in ("text", "text_sha256", "code_sha256")} == rule_record(ablation)
    assert rule_record(ablation) == {k: current[k] for k in ("text", "text_sha256", "code_sha256")}


def test_every_option_is_off(derived) -> None:
    """What the README's ablation table states, re-derived: no option passes both halves of the rule."""
    assert {v["option"]: v["default"] for v in derived["verdicts"]} == {
        "focal γ=1": "off",
        "score w=1 τ=0.05": "off",
        "score w=0.3 τ=0.05": "off",
        "score w=0.1 τ=0.05": "off",
        "soup uniform ×3": "off",
        "soup greedy ×3": "off",
    }
    score = next(v for v in derived["verdicts"] if v["option"] == "score w=0.1 τ=0.05")
    assert score["helps"] and not score["keeps_alignment"]  # +0.98 mean, but -0.0107 alignment vs range 0.0007


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda r: r["verdicts"][4].update(default="on"), id="default"),
        pytest.param(lambda r: r["verdicts"][0].update(keeps_alignment=True), id="keeps alignment"),
        pytest.param(lambda r: r["seed_spread"].update(range=0.0001), id="seed range"),
        pytest.param(lambda r: r["rows"][4].update(select_mean=0.7), id="row mean"),
        pytest.param(lambda r: r["decision_rule"].update(code_sha256="0" * 64), id="code hash"),
    ],
)
def test_a_hand_edited_report_fails_the_check(tmp_path: Path, derived, edit) -> None:
    copy = tmp_path / "ablation.json"
    shutil.copy(REPORT, copy)
    report = json.loads(copy.read_text())
    edit(report)
    copy.write_text(json.dumps(report))
    assert mismatches(json.loads(copy.read_text()), derived)


def test_a_hand_edited_row_changes_the_verdict(tmp_path: Path) -> None:
    """Rows decide: give score w=0.1 the plain row's alignment and its verdict turns on."""
    ablation, report = _ablation(), json.loads(REPORT.read_text())
    entries = _entries(ROWS)
    entries[4]["row"]["heldout_alignment"] = entries[0]["row"]["heldout_alignment"]
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(e) + "\n" for e in entries))
    edited = rederive(ablation, report["settings"], _entries(rows))
    assert next(v for v in edited["verdicts"] if v["option"] == "score w=0.1 τ=0.05")["default"] == "on"
    assert mismatches(report, edited)


@pytest.mark.parametrize("name", ["leaf-ir-mini", "leaf-ir", "leaf-mt-mini", "leaf-mt", "leaf-ir-beir"])
def test_shipped_recipes_keep_off_what_the_rows_turn_off(name, derived) -> None:
    off = {v["option"].split()[0] for v in derived["verdicts"] if v["default"] == "off"}
    training = load_recipe(name).training
    if "focal" in off:
        assert training.focal_gamma == 0
    if "score" in off:
        assert training.score_distill_weight == 0
