"""The speed record of an evaluation: an uncached timing of student and teacher on the task's own texts."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_evaluation_records_a_speed_timing_on_sts_first_sentences(
    student_path: Path, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.evaluation import eval_settings, evaluate_models
    from leaf_hub.evaluation.data import read_sts, subsample_sts

    monkeypatch.setenv("LEAF_HUB_HOME", str(tmp_path / "home"))
    settings = eval_settings(None, tasks=["STSBenchmark"], modes=["student"], query_limit=10)
    teacher = SentenceTransformerTeacher(student_path, max_seq_length=16)
    results = evaluate_models(
        student_path,
        output_dir=tmp_path / "eval",
        teacher=teacher,
        settings=settings,
        data_root=shared_data,
        sweep=False,
        progress=False,
        speed_texts=6,
    )
    speed = results.speed
    assert speed is not None and speed.texts == 6 and speed.repeats == 5 and speed.kind == "query"
    assert speed.source == "STSBenchmark test first sentences"
    assert set(speed.seconds) == {"student", "teacher"} and all(len(v) == 5 for v in speed.all_seconds.values())
    assert len(set(subsample_sts(read_sts("test", shared_data), pair_limit=10).sentence1)) >= 6
    # no timing asked for: no record (and so no speed claim on the card)
    again = evaluate_models(
        student_path,
        output_dir=tmp_path / "eval2",
        settings=settings,
        data_root=shared_data,
        sweep=False,
        progress=False,
    )
    assert again.speed is None
