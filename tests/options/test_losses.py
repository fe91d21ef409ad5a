"""Focal reweighting and score distillation on real student / teacher vectors of real texts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from leaf_hub.losses import FocalDistillLoss, LeafDistillLoss, ScoreDistillLoss, build_loss
from leaf_hub.losses.focal_distill import focal_weights
from leaf_hub.losses.score_distill import in_batch_score_kl
from leaf_hub.recipe import TrainingSpec


@pytest.fixture(scope="module")
def pair(student_vectors, option_targets):
    return student_vectors.clone(), torch.from_numpy(np.array(option_targets))


def _error(student, teacher):
    return 1 - torch.nn.functional.cosine_similarity(student, teacher, dim=-1)


# ---------------------------------------------------------------------------------------------
# focal weights
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 4.0])
def test_focal_weights_average_to_one_and_grow_with_error(pair, gamma):
    student, teacher = pair
    weights = focal_weights(student, teacher, gamma)
    assert weights.shape == (len(student),)
    assert weights.mean().item() == pytest.approx(1.0, abs=1e-5)
    error = _error(student, teacher)
    assert error.std() > 0.01  # the real vectors do give a spread of errors
    order = torch.argsort(error)
    assert torch.all(weights[order][1:] >= weights[order][:-1] - 1e-6)  # monotone in the error
    assert weights[error.argmax()] > 1 > weights[error.argmin()]
    assert not weights.requires_grad


def test_larger_gamma_focuses_harder_and_zero_is_plain(pair):
    student, teacher = pair
    assert torch.equal(focal_weights(student, teacher, 0.0), torch.ones(len(student)))
    spreads = [focal_weights(student, teacher, g).std().item() for g in (0.5, 1.0, 2.0)]
    assert spreads[0] < spreads[1] < spreads[2]


def test_focal_weights_are_detached_from_the_graph(pair):
    student, teacher = pair
    student = student.clone().requires_grad_(True)
    weights = focal_weights(student, teacher, 2.0)
    assert weights.grad_fn is None


def test_focal_loss_with_gamma_zero_is_the_leaf_loss(ridge_student, pair):
    student, teacher = pair
    plain = LeafDistillLoss(ridge_student, teacher.numpy()).compute_loss_from_embeddings(student, teacher)
    focal0 = FocalDistillLoss(ridge_student, teacher.numpy(), gamma=0.0).compute_loss_from_embeddings(student, teacher)
    assert focal0.item() == pytest.approx(plain.item(), rel=1e-6)


@pytest.mark.parametrize("distance", ["mse", "cosine"])
def test_focal_loss_moves_the_step_towards_hard_samples(ridge_student, pair, distance):
    """Each sample's gradient is its plain gradient times its weight: hard ones get more of the step."""
    student, teacher = pair
    grads = {}
    for name, loss in {
        "plain": LeafDistillLoss(ridge_student, teacher.numpy(), distance=distance),
        "focal": FocalDistillLoss(ridge_student, teacher.numpy(), distance=distance, gamma=2.0),
    }.items():
        x = student.clone().requires_grad_(True)
        loss.compute_loss_from_embeddings(x, teacher).backward()
        grads[name] = x.grad.norm(dim=-1)
    error = _error(student, teacher)
    hard, easy = error.argmax(), error.argmin()
    ratio = grads["focal"] / grads["plain"]
    expected = focal_weights(student, teacher, 2.0)
    assert torch.allclose(ratio, expected, rtol=1e-3)
    assert ratio[hard] > 1 > ratio[easy]
    # Chebyshev: weights grow with the distance, so the weighted mean is above the plain mean
    plain_value = LeafDistillLoss(ridge_student, teacher.numpy(), distance=distance).compute_loss_from_embeddings(
        student, teacher
    )
    focal_value = FocalDistillLoss(
        ridge_student, teacher.numpy(), distance=distance, gamma=2.0
    ).compute_loss_from_embeddings(student, teacher)
    assert focal_value > plain_value


def test_focal_rejects_negative_gamma(ridge_student, pair):
    with pytest.raises(ValueError, match="gamma"):
        FocalDistillLoss(ridge_student, pair[1].numpy(), gamma=-1.0)


# ---------------------------------------------------------------------------------------------
# score distillation
# ---------------------------------------------------------------------------------------------


def test_kl_is_zero_when_student_equals_teacher(pair):
    _, teacher = pair
    assert in_batch_score_kl(teacher.clone(), teacher, 0.05).item() == pytest.approx(0.0, abs=1e-6)
    # only directions matter: a rescaled copy has the same similarities
    assert in_batch_score_kl(3.0 * teacher, teacher, 0.05).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("temperature", [0.02, 0.05, 0.2, 1.0])
def test_kl_is_positive_when_student_differs(pair, temperature):
    student, teacher = pair
    kl = in_batch_score_kl(student, teacher, temperature)
    assert kl.item() > 1e-4
    # and larger for a student that ranks the batch worse (a shuffled assignment of vectors)
    shuffled = student[torch.randperm(len(student), generator=torch.Generator().manual_seed(0))]
    assert in_batch_score_kl(shuffled, teacher, temperature) > kl


def test_kl_is_a_proper_divergence_per_row(pair):
    """Each anchor's term is KL between two distributions over the other texts: never negative."""
    student, teacher = pair
    for size in (3, 8, 32):
        assert in_batch_score_kl(student[:size], teacher[:size], 0.05).item() >= 0


def test_kl_gradient_reaches_the_student_only(pair):
    student, teacher = pair
    x = student.clone().requires_grad_(True)
    t = teacher.clone().requires_grad_(True)
    in_batch_score_kl(x, t, 0.05).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert t.grad is None


def test_kl_of_tiny_batches_is_zero_and_keeps_the_graph(pair):
    student, teacher = pair
    for size in (1, 2):
        x = student[:size].clone().requires_grad_(True)
        kl = in_batch_score_kl(x, teacher[:size], 0.05)
        assert kl.item() == 0.0
        kl.backward()  # does not raise: the last, short batch of an epoch trains normally


def test_score_loss_is_vector_loss_plus_weighted_kl(ridge_student, pair):
    student, teacher = pair
    plain = LeafDistillLoss(ridge_student, teacher.numpy()).compute_loss_from_embeddings(student, teacher)
    kl = in_batch_score_kl(student, teacher, 0.1)
    score = ScoreDistillLoss(ridge_student, teacher.numpy(), weight=0.5, temperature=0.1)
    total = score.compute_loss_from_embeddings(student, teacher)
    assert total.item() == pytest.approx(plain.item() + 0.5 * kl.item(), rel=1e-5)
    assert score.last_terms["score_kl"] == pytest.approx(kl.item(), rel=1e-5)
    exact = score.compute_loss_from_embeddings(teacher.clone(), teacher)
    assert exact.item() == pytest.approx(0.0, abs=1e-6)


def test_score_loss_validates_its_settings(ridge_student, pair):
    with pytest.raises(ValueError, match="weight"):
        ScoreDistillLoss(ridge_student, pair[1].numpy(), weight=0.0)
    with pytest.raises(ValueError, match="temperature"):
        ScoreDistillLoss(ridge_student, pair[1].numpy(), temperature=0.0)


# ---------------------------------------------------------------------------------------------
# the recipe picks the loss; every loss cites its source
# ---------------------------------------------------------------------------------------------


def test_build_loss_follows_the_recipe(ridge_student, pair):
    targets = pair[1].numpy()
    assert type(build_loss(ridge_student, targets, TrainingSpec())) is LeafDistillLoss
    focal = build_loss(ridge_student, targets, TrainingSpec(focal_gamma=2.0, loss="cosine"))
    assert type(focal) is FocalDistillLoss and focal.gamma == 2.0 and focal.distance == "cosine"
    score = build_loss(
        ridge_student, targets, TrainingSpec(score_distill_weight=0.3, score_distill_temperature=0.1, focal_gamma=1)
    )
    assert type(score) is ScoreDistillLoss
    assert score.get_config_dict() == {
        "distance": "mse",
        "focal_gamma": 1.0,
        "score_distill_weight": 0.3,
        "score_distill_temperature": 0.1,
    }


def test_every_loss_has_a_citation(ridge_student, pair):
    targets = pair[1].numpy()
    cites = {
        LeafDistillLoss: ["2509.12539"],
        FocalDistillLoss: ["2509.12539", "2506.20923"],
        ScoreDistillLoss: ["2509.12539", "2506.07438"],
    }
    for cls, ids in cites.items():
        text = cls(ridge_student, targets).citation
        assert text.count("@") == len(ids)
        for arxiv_id in ids:
            assert arxiv_id in text
    assert "2506.20923" in ScoreDistillLoss(ridge_student, targets, gamma=1.0).citation


def test_build_loss_records_the_citations_of_the_loss_it_built(ridge_student, pair):
    from sentence_transformers.losses import MatryoshkaLoss

    from leaf_hub.citations import KALM_V2, LEAF, LEAF_CITATION, LG_ANNA, LG_ANNA_CITATION
    from leaf_hub.losses import loss_citations

    targets = pair[1].numpy()
    score = loss_citations(build_loss(ridge_student, targets, TrainingSpec(score_distill_weight=0.3)))
    assert score == {LEAF: LEAF_CITATION, LG_ANNA: LG_ANNA_CITATION}  # in order; no focal weights, no KaLM
    both = loss_citations(build_loss(ridge_student, targets, TrainingSpec(score_distill_weight=0.3, focal_gamma=1)))
    assert list(both) == [LEAF, LG_ANNA, KALM_V2]
    assert list(loss_citations(build_loss(ridge_student, targets, TrainingSpec()))) == [LEAF]
    assert list(loss_citations(build_loss(ridge_student, targets, TrainingSpec(focal_gamma=2.0)))) == [LEAF, KALM_V2]
    # a wrapped loss lists the wrapped loss's methods, then the wrapper's own (sentence-transformers' Matryoshka)
    wrapped = MatryoshkaLoss(ridge_student, build_loss(ridge_student, targets, TrainingSpec()), [768, 256])
    parts = loss_citations(wrapped)
    assert list(parts) == [LEAF, "MatryoshkaLoss"] and "Matryoshka" in parts["MatryoshkaLoss"]
