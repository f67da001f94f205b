import math

import numpy as np
import pytest

from sweeps.eval import ranking as retrieval

# item 0 is the pad row; items 1..6
SCORES = np.array([[9.0, 0.9, 0.5, 0.7, 0.1, 0.3, 0.2]])
NO_HISTORY = np.zeros((1, 1), np.int32)


def _rank(target, history=NO_HISTORY, scores=SCORES):
    return int(np.asarray(retrieval.target_ranks(scores, np.array([target]), np.asarray(history)))[0])


def test_target_ranked_first_scores_one_everywhere():
    assert _rank(1) == 1
    m = retrieval.metrics_from_ranks([1], ks=(1, 10))
    assert m == {"hr@1": 1.0, "ndcg@1": 1.0, "hr@10": 1.0, "ndcg@10": 1.0, "mrr": 1.0}


def test_target_ranked_third():
    assert _rank(2) == 3  # below items 1 (0.9) and 3 (0.7); the pad row's 9.0 never counts
    m = retrieval.metrics_from_ranks([3], ks=(2, 3, 10))
    assert m["hr@2"] == 0.0 and m["ndcg@2"] == 0.0
    assert m["hr@3"] == 1.0
    assert m["ndcg@10"] == pytest.approx(1 / math.log2(4))
    assert m["mrr"] == pytest.approx(1 / 3)


def test_history_items_leave_the_ranking_but_the_target_stays():
    assert _rank(2, history=[[1, 0]]) == 2
    assert _rank(2, history=[[1, 3]]) == 1
    assert _rank(4, history=[[1, 3]]) == 4  # items 2, 5, 6 remain above item 4 (0.1)
    assert _rank(2, history=[[2, 1]]) == 2  # a target in its own history is still ranked


def test_ties_rank_the_target_last_and_non_finite_scores_rank_last():
    flat = np.zeros((1, 7))
    assert _rank(3, scores=flat) == 6
    assert _rank(3, history=[[1, 2]], scores=flat) == 4
    nan = SCORES.copy()
    nan[0, 2] = np.nan
    assert _rank(2, scores=nan) == 6


def test_target_log_probability_is_a_softmax_over_the_items_left():
    logits = np.array([[5.0, 1.0, 2.0, 3.0]])
    got = float(np.asarray(retrieval.target_logp(logits, np.array([2]), np.array([[3, 0]])))[0])
    assert got == pytest.approx(2.0 - np.log(np.exp(1.0) + np.exp(2.0)), rel=1e-6)
    everything = float(np.asarray(retrieval.target_logp(logits, np.array([2]), NO_HISTORY))[0])
    assert everything == pytest.approx(2.0 - np.log(np.exp([1.0, 2.0, 3.0]).sum()), rel=1e-6)
    assert retrieval.metrics_from_ranks([1, 2], ks=(1,), logp_B=[-1.0, -2.0])["nll"] == 1.5


def test_metrics_average_over_queries():
    m = retrieval.metrics_from_ranks(np.array([1, 3, 60, 500]))
    assert m["hr@10"] == 0.5 and m["hr@50"] == 0.5 and m["hr@200"] == 0.75
    assert m["ndcg@10"] == pytest.approx((1 + 0.5) / 4)
    assert m["ndcg@200"] == pytest.approx((1 + 0.5 + 1 / math.log2(61)) / 4)
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 60 + 1 / 500) / 4)


def test_batched_dot_product_ranks_match_explicit_scores():
    rng = np.random.default_rng(0)
    U, N, D, H = 37, 50, 8, 5
    user, items = rng.standard_normal((U, D)), rng.standard_normal((N, D)).astype(np.float32)
    target = rng.integers(1, N, U)
    history = rng.integers(0, N, (U, H))
    got = retrieval.rank_by_dot(user, items, target, history, batch=16)
    want = retrieval.score_ranks(user @ items.T, target, history, batch=U)
    np.testing.assert_array_equal(got, want)
    brute = [
        1 + sum((user[u] @ items[j] >= user[u] @ items[target[u]]) for j in range(1, N) if j != target[u] and j not in history[u])
        for u in range(U)
    ]
    np.testing.assert_array_equal(got, brute)


def test_popularity_counts_ignore_padding():
    counts = retrieval.popularity_scores(np.array([[1, 2, 2, 0], [2, 3, 0, 0]]), 5)
    np.testing.assert_array_equal(counts, [0, 1, 3, 1, 0])
