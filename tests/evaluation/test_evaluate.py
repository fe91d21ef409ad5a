"""The whole evaluation on tiny real sub-samples: files, modes, sweep, and the warm (cached) rerun.

The teacher here is all-MiniLM-L6-v2 itself with a 128-token limit: a real model with the
student's dimension (so the asymmetric mode runs) whose document vectors differ from the
student's on long abstracts, while short queries get identical vectors from both. That makes
the routing visible in the scores: asymmetric (student queries, teacher documents) must equal
the teacher's symmetric score.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from leaf_hub.errors import EvalError

TASKS = ["SciFact", "STSBenchmark"]


@pytest.fixture(scope="module")
def runs(student_path: Path, shared_data: Path, module_tmp):
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.evaluation import eval_settings, evaluate_models

    base = module_tmp("evaluate")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEAF_HUB_HOME", str(base / "home"))
        settings = eval_settings(None, tasks=TASKS, corpus_limit=50, query_limit=40, sweep_dims=[256, 64])
        out = {}
        for name in ("cold", "warm"):
            teacher = SentenceTransformerTeacher(student_path, max_seq_length=128)
            tick = time.perf_counter()
            results = evaluate_models(
                student_path,
                output_dir=base / name,
                teacher=teacher,
                teacher_id="sentence-transformers/all-MiniLM-L6-v2",
                settings=settings,
                data_root=shared_data,
                progress=False,
            )
            out[name] = (results, base / name, time.perf_counter() - tick)
    return out


def test_results_json_round_trips_and_lists_every_task_and_mode(runs) -> None:
    from leaf_hub.records import load_results

    results, folder, _ = runs["cold"]
    assert load_results(folder / "results.json") == results
    assert results.schema_version == 1
    assert {(s.task, s.mode) for s in results.scores} == {
        (t, m) for t in TASKS for m in ("student", "teacher", "asymmetric")
    }
    assert results.corpus_limit == 50 and results.query_limit == 40 and results.split == "test"
    sci = [s for s in results.scores if s.task == "SciFact"]
    assert all(s.subsampled and s.n_docs == 50 and s.n_queries == 40 and s.main_metric == "ndcg_at_10" for s in sci)
    sts = [s for s in results.scores if s.task == "STSBenchmark"]
    assert all(s.subsampled and s.n_queries == 40 and s.main_metric == "cosine_spearman" for s in sts)
    assert all(0.0 < s.main_score <= 1.0 for s in results.scores)


def test_mteb_task_results_are_kept_and_agree(runs) -> None:
    from mteb.results import TaskResult

    results, folder, _ = runs["cold"]
    for row in results.scores:
        path = folder / "mteb" / row.mode / f"{row.task}.json"
        task_result = TaskResult.from_disk(path)
        assert task_result.task_name == row.task
        assert task_result.get_score() == pytest.approx(row.main_score, abs=1e-6)


def test_asymmetric_mode_uses_student_queries_and_teacher_documents(runs) -> None:
    results, _, _ = runs["cold"]
    for task in TASKS:
        assert results.score(task, "asymmetric") == pytest.approx(results.score(task, "teacher"), abs=1e-9)


def test_sweep_is_anchored_on_the_main_scores(runs) -> None:
    results, folder, _ = runs["cold"]
    points = {(p.task, p.model, p.dim, p.precision): p for p in results.sweep}
    assert {d for (_, _, d, _) in points} == {384, 256, 64}
    assert {q for (_, _, _, q) in points} == {"float32", "int8", "binary"}
    assert len(points) == len(TASKS) * 2 * 3 * 3
    for task in TASKS:
        for model in ("student", "teacher"):
            full = points[(task, model, 384, "float32")]
            assert full.retention == 1.0
            assert full.score == pytest.approx(results.score(task, model), abs=1e-9)
            for dim in (256, 64):
                for precision in ("float32", "int8", "binary"):
                    p = points[(task, model, dim, precision)]
                    assert p.retention == pytest.approx(p.score / full.score)
    png = folder / results.plot
    assert results.plot == "sweep.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_warm_run_encodes_nothing_and_gives_identical_scores(runs, shared_data: Path) -> None:
    from leaf_hub.evaluation.data import read_sts, subsample_sts

    cold, _, cold_seconds = runs["cold"]
    warm, _, warm_seconds = runs["warm"]
    assert cold.teacher_corpus_cache_hits == 0 and cold.texts_encoded["teacher"] > 0
    assert warm.texts_encoded == {"student": 0, "teacher": 0}
    # teacher document vectors read from disk: the SciFact sub-corpus, and the second sentences of
    # the STS pairs (documents in asymmetric mode)
    pairs = subsample_sts(read_sts("test", shared_data), pair_limit=40)
    assert warm.teacher_corpus_cache_hits == 50 + len(set(pairs.sentence2))
    assert [s.main_score for s in warm.scores] == [s.main_score for s in cold.scores]
    assert [p.score for p in warm.sweep] == [p.score for p in cold.sweep]
    assert warm_seconds < cold_seconds


def test_teacher_modes_without_teacher_and_unmatched_dimensions(
    student_path: Path, teacher_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.evaluation import eval_settings, evaluate_models

    monkeypatch.setenv("LEAF_HUB_HOME", str(tmp_path / "home"))
    settings = eval_settings(None, tasks=["STSBenchmark"], query_limit=20)
    with pytest.raises(EvalError, match="modes teacher, asymmetric need a teacher model; none was given"):
        evaluate_models(student_path, output_dir=tmp_path / "out", settings=settings)
    mpnet = SentenceTransformerTeacher(teacher_path)
    with pytest.raises(EvalError, match="asymmetric mode needs equal dimensions: the student gives 384-d"):
        evaluate_models(student_path, output_dir=tmp_path / "out", settings=settings, teacher=mpnet)
    assert not (tmp_path / "out").exists()


def test_eval_settings_reject_unknown_names() -> None:
    from leaf_hub.evaluation import eval_settings

    with pytest.raises(EvalError, match="unknown task 'SciFakt'"):
        eval_settings(None, tasks=["SciFakt"])
    with pytest.raises(EvalError, match="unknown mode 'asym'"):
        eval_settings(None, modes=["asym"])
    with pytest.raises(EvalError, match="evaluation.corpus_limit"):
        eval_settings(None, corpus_limit=-3)


def test_files_of_an_earlier_evaluation_are_replaced(
    student_path: Path, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaf_hub.evaluation import eval_settings, evaluate_models

    monkeypatch.setenv("LEAF_HUB_HOME", str(tmp_path / "home"))
    out = tmp_path / "eval"
    (out / "mteb" / "teacher").mkdir(parents=True)
    (out / "mteb" / "teacher" / "NFCorpus.json").write_text("{}")
    (out / "sweep.png").write_bytes(b"old")
    settings = eval_settings(None, tasks=["STSBenchmark"], modes=["student"], query_limit=20)
    results = evaluate_models(student_path, output_dir=out, settings=settings, data_root=shared_data, sweep=False)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "mteb/student/STSBenchmark.json",
        "mteb/student/run_settings.jsonl",
        "results.json",
    ]
    assert results.plot is None


def test_init_mode_is_scored_on_its_own_vectors_and_cached(
    student_path: Path, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.evaluation import eval_settings, evaluate_models

    monkeypatch.setenv("LEAF_HUB_HOME", str(tmp_path / "home"))
    settings = eval_settings(None, tasks=["STSBenchmark"], modes=["student", "init"], query_limit=20)
    with pytest.raises(EvalError, match="mode init needs the student's initialisation model"):
        evaluate_models(student_path, output_dir=tmp_path / "x", settings=settings, data_root=shared_data)
    # the init at a shorter token limit than the "student": same weights, other vectors on long texts
    scores = {}
    for name in ("cold", "warm"):
        init = SentenceTransformerTeacher(student_path, max_seq_length=8)
        results = evaluate_models(
            student_path,
            output_dir=tmp_path / name,
            settings=settings,
            data_root=shared_data,
            sweep=False,
            progress=False,
            init=init,
        )
        scores[name] = results
        assert [s.mode for s in results.scores] == ["student", "init"]
        assert (tmp_path / name / "mteb" / "init" / "STSBenchmark.json").is_file()
    cold, warm = scores["cold"], scores["warm"]
    assert cold.score("STSBenchmark", "init") != cold.score("STSBenchmark", "student")
    assert cold.texts_encoded["init"] > 0 and warm.texts_encoded["init"] == 0
    assert warm.score("STSBenchmark", "init") == cold.score("STSBenchmark", "init")
    assert cold.speed is None and not cold.sweep


def test_speed_timing_is_interleaved_uncached_and_needs_five_repeats(student_path: Path, real_queries) -> None:
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.evaluation.speed import MIN_REPEATS, time_models

    calls: list[str] = []

    class Counting(SentenceTransformerTeacher):
        def encode(self, texts, kind="document"):
            calls.append(f"{self.name}:{len(texts)}")
            return super().encode(texts, kind)

    a = Counting(student_path, max_seq_length=32)
    b = Counting(student_path, max_seq_length=64)
    a.name, b.name = "a", "b"
    texts = real_queries[:16]
    with pytest.raises(EvalError, match="at least 5 repeats"):
        time_models({"a": a, "b": b}, texts, repeats=MIN_REPEATS - 1)
    record = time_models({"a": a, "b": b}, texts, repeats=MIN_REPEATS, source="distillation queries")
    # warm-up on 8 texts each, then a b | b a | a b ...: every timed call encodes all texts (no cache)
    assert calls[:2] == ["a:8", "b:8"]
    assert calls[2:] == ["a:16", "b:16", "b:16", "a:16", "a:16", "b:16", "b:16", "a:16", "a:16", "b:16"]
    assert record.texts == 16 and record.repeats == 5 and record.kind == "query"
    for name in ("a", "b"):
        assert len(record.all_seconds[name]) == 5 and record.seconds[name] == min(record.all_seconds[name])
    assert record.load_average_before is not None and record.load_average_after is not None
