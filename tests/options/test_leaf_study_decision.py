"""The leaf study's rule (scripts/studies/leaf_study.py), and its report re-derived from its committed rows.

:func:`decide` is checked on rows built here (a variant passes only beyond the base seeds' spread and
within their alignment spread; size rows are never a setting; the largest passing gain is chosen).
When ``reports/leaf_study.json`` exists, its decisions are recomputed from ``reports/leaf_study.rows.jsonl``
with the current code, its rule hashes must be the current code's, and every row's key must be the key
the current rule and grid give it, so a hand-edited decision or a rule changed after the rows fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "reports" / "leaf_study.json"
ROWS = ROOT / "reports" / "leaf_study.rows.jsonl"

study = load_script("studies/leaf_study")


def _row(name: str, factor: str, select: float, alignment: float, seed: int = 42) -> dict[str, Any]:
    return {"name": name, "factor": factor, "seed": seed, "select": select, "query_alignment": alignment}


BASE = [_row("base (seed 42)", "seed", 0.50, 0.70), _row("base (seed 43)", "seed", 0.51, 0.71, 43)]


def test_a_variant_passes_only_beyond_the_seed_spread() -> None:
    rows = [*BASE, _row("a", "mix", 0.515, 0.70), _row("b", "loss", 0.509, 0.70), _row("c", "staging", 0.49, 0.70)]
    decision = study.decide(rows)
    assert decision["spread"] == pytest.approx(0.01)
    assert {name: v["passes"] for name, v in decision["verdicts"].items()} == {"a": True, "b": False, "c": False}
    assert decision["chosen"] == "a"


def test_a_variant_that_loses_alignment_beyond_its_spread_fails_however_it_scores() -> None:
    rows = [*BASE, _row("a", "mix", 0.60, 0.68), _row("b", "loss", 0.53, 0.695)]
    decision = study.decide(rows)
    assert decision["verdicts"]["a"]["passes"] is False  # alignment -0.02 < -0.01
    assert decision["chosen"] == "b"


def test_sizes_give_the_curve_never_a_setting_and_nothing_passing_keeps_the_base() -> None:
    rows = [*BASE, _row("texts=8k", "texts", 0.70, 0.80), _row("lr", "learning_rate", 0.505, 0.70)]
    decision = study.decide(rows)
    assert "texts=8k" not in decision["verdicts"] and decision["chosen"] is None


def test_the_grid_changes_one_thing_per_variant_and_names_real_data() -> None:
    data = ROOT.parent / "shared" / "data"
    for kind in study.BASES:
        rows = study.variants(kind)
        assert len({r["name"] for r in rows}) == len(rows)
        assert sum(r["factor"] == "seed" for r in rows) >= 2
        for row in rows:
            assert row["factor"] == "seed" or row["seed"] == 42
            assert len(row["overrides"]) <= 1
            for source in row["overrides"].get("data.sources", []):
                assert (data / source["path"]).is_file() or not data.is_dir()


@pytest.mark.skipif(not REPORT.is_file(), reason="the study has not been run (no reports/leaf_study.json)")
def test_the_committed_report_follows_from_its_rows_and_the_current_rule() -> None:
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in ROWS.read_text(encoding="utf-8").splitlines()]
    rule = study.decision_rule()
    assert report["rule"] == rule
    by_key = {r["key"]: r for r in rows}
    settings = report["settings"]
    for row in report["rows"]:
        assert by_key[row["key"]] == row
        spec = {k: row[k] for k in ("name", "factor", "seed", "overrides")}
        assert study.row_key(row["kind"], spec, settings, rule) == row["key"]
    kinds = sorted({r["kind"] for r in report["rows"]})
    assert set(report["decisions"]) == set(kinds)
    for kind in kinds:
        mine = [r for r in report["rows"] if r["kind"] == kind]
        assert [{k: r[k] for k in ("name", "factor", "seed", "overrides")} for r in mine] == study.variants(kind)
        assert report["decisions"][kind] == json.loads(json.dumps(study.decide(mine)))
