"""Per-task instruction prompts: stored in the model's ``prompts``, resolved as stock mteb resolves them.

The check that matters for users: the score leaf-hub reports for a model with per-task prompts
is the score stock mteb (``SentenceTransformerEncoderWrapper`` on the saved folder, no leaf_hub
code) gives the same folder on the same task data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

PROMPTS = {
    "query": "query: ",
    "document": "",
    "SciFact-query": "Given a scientific claim, retrieve documents that support or refute it: ",
    "STS": "Retrieve semantically similar text: ",
}


def _with_prompts(student_path: Path, folder: Path, prompts: dict[str, str]) -> Path:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(student_path), device="cpu")
    model.prompts = dict(prompts)
    model.save(str(folder))
    return folder


@pytest.fixture(scope="module")
def prompted(student_path: Path, module_tmp) -> Path:
    return _with_prompts(student_path, module_tmp("prompted") / "model", PROMPTS)


def _tasks(shared_data: Path, names: list[str]):
    from leaf_hub.evaluation.tasks import get_tasks

    tasks = get_tasks(names, data_root=shared_data, split="test", corpus_limit=60, query_limit=24)
    for task in tasks:
        task.load_data()
    return tasks


def _ours(folder: Path, out: Path, shared_data: Path, task: str) -> float:
    from leaf_hub.evaluation import evaluate_models
    from leaf_hub.recipe import EvalSpec

    settings = EvalSpec(
        tasks=[task], modes=["student"], split="test", corpus_limit=60, query_limit=24, sweep_precisions=[]
    )
    result = evaluate_models(folder, output_dir=out, settings=settings, data_root=shared_data, progress=False)
    return result.scores[0].main_score


def _stock(folder: Path, shared_data: Path, task: str) -> float:
    import mteb
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

    (loaded,) = _tasks(shared_data, [task])
    result = mteb.evaluate(
        SentenceTransformerEncoderWrapper(str(folder), device="cpu"),
        loaded,
        cache=None,
        overwrite_strategy="always",
        show_progress_bar=False,
        co2_tracker=False,
        raise_error=True,
    )
    return float(result.task_results[0].get_score(splits=["test"]))


@pytest.mark.parametrize("task", ["SciFact", "STSBenchmark"])
def test_scores_match_stock_mteb_on_the_saved_prompts(prompted, shared_data, tmp_path, task) -> None:
    ours = _ours(prompted, tmp_path / "eval", shared_data, task)
    assert ours == pytest.approx(_stock(prompted, shared_data, task), abs=1e-5)


def test_task_prompts_change_the_scores(prompted, student_path, shared_data, tmp_path) -> None:
    """Without its per-task prompts the same weights score differently, so the prompts were applied."""
    plain = _with_prompts(student_path, tmp_path / "plain", {"query": "query: ", "document": ""})
    for task in ("SciFact", "STSBenchmark"):
        with_prompt = _ours(prompted, tmp_path / f"p-{task}", shared_data, task)
        without = _ours(plain, tmp_path / f"n-{task}", shared_data, task)
        assert abs(with_prompt - without) > 1e-4, task


def test_prompt_resolution_follows_mteb_priority(prompted, shared_data, tmp_path) -> None:
    from mteb.types import PromptType

    from leaf_hub.encoders import EmbeddingCache, SentenceTransformerTeacher
    from leaf_hub.evaluation.encoders import EmbeddingSource
    from leaf_hub.evaluation.run import saved_prompt_table

    scifact, nfcorpus, sts = (t.metadata for t in _tasks(shared_data, ["SciFact", "NFCorpus", "STSBenchmark"]))
    table = saved_prompt_table(prompted)
    assert table == PROMPTS
    task_prompts = {k: v for k, v in table.items() if k not in ("query", "document")}
    teacher = SentenceTransformerTeacher(prompted, query_prompt="query: ", task_prompts=task_prompts)
    source = EmbeddingSource("s", EmbeddingCache(teacher, tmp_path / "cache"), progress=False)
    assert source.prompt_for(scifact, PromptType.query) == PROMPTS["SciFact-query"]  # task name + type
    assert source.prompt_for(scifact, PromptType.document) == ""  # "document"
    assert source.prompt_for(nfcorpus, PromptType.query) == "query: "  # no NFCorpus key: the query prompt
    assert source.prompt_for(sts, None) == PROMPTS["STS"]  # task type; STS has no prompt type


def test_sts_without_a_key_gets_no_query_prompt(student_path, shared_data, tmp_path) -> None:
    """Stock mteb gives STS sentences no prompt unless a task key asks for one; so does leaf-hub."""
    query_only = _with_prompts(student_path, tmp_path / "q", {"query": "query: ", "document": ""})
    unprompted = _with_prompts(student_path, tmp_path / "none", {})
    a = _ours(query_only, tmp_path / "a", shared_data, "STSBenchmark")
    b = _ours(unprompted, tmp_path / "b", shared_data, "STSBenchmark")
    assert a == pytest.approx(b, abs=1e-6)


def test_variant_vectors_equal_sentence_transformers_with_that_prompt(prompted, tmp_path) -> None:
    from sentence_transformers import SentenceTransformer

    from leaf_hub.encoders import EmbeddingCache, SentenceTransformerTeacher
    from leaf_hub.evaluation.encoders import EmbeddingSource

    texts = ["Vitamin D deficiency is linked to bone loss.", "Statins lower LDL cholesterol."]
    teacher = SentenceTransformerTeacher(prompted, query_prompt="query: ")
    source = EmbeddingSource("s", EmbeddingCache(teacher, tmp_path / "base"), progress=False)
    got = source.embed(texts, "query", prompt=PROMPTS["SciFact-query"])
    model = SentenceTransformer(str(prompted), device="cpu")
    want = model.encode(texts, prompt=PROMPTS["SciFact-query"], normalize_embeddings=True)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert source.texts_encoded == 2 and source.cache.stats.encoded == 0  # the variant cache did the work
    again = EmbeddingSource("s", EmbeddingCache(teacher, tmp_path / "base"), progress=False)
    np.testing.assert_array_equal(again.embed(texts, "query", prompt=PROMPTS["SciFact-query"]), got)
    assert again.texts_encoded == 0  # read back from the variant's cache on disk
