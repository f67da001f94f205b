import numpy as np
import pytest

from sweeps.data.ctr_world import WorldConfig, world
from sweeps.data.seq_world import BLOCK, SeqConfig, SeqWorld, leave_one_out
from sweeps.eval import ranking as retrieval

SMALL = SeqConfig(world=WorldConfig(n_items=300), max_len=40, min_len=8)
U = 2 * BLOCK + 100


@pytest.fixture(scope="module")
def data():
    return SeqWorld(SMALL).users(U)


@pytest.fixture(scope="module")
def split(data):
    return leave_one_out(data)


def _same(a, b):
    for x, y in zip(a.arrays(), b.arrays()):
        np.testing.assert_array_equal(x, y)


def test_same_seed_same_users_and_another_seed_differs(data):
    _same(data, SeqWorld(SMALL).users(U))
    other = SeqWorld(SeqConfig(**{**SMALL.__dict__, "seed": 1})).users(U)
    assert np.mean(other.ids[:, 0] == data.ids[:, 0]) < 0.2


def test_a_smaller_budget_is_a_prefix_whichever_order_it_is_asked(data):
    w = SeqWorld(SMALL)
    small = w.users(BLOCK - 7)
    _same(small, data.head(BLOCK - 7))
    _same(w.users(U), data)
    _same(SeqWorld(SMALL).users(BLOCK + 3), data.head(BLOCK + 3))


def test_users_are_the_ctr_worlds_users_and_items(data):
    assert SeqWorld(SMALL).ctr is world(SMALL.world)
    assert data.n_items == SMALL.world.n_items + 1


def test_sequences_are_well_formed(data):
    T = SMALL.max_len
    assert data.ids.shape == (U, T)
    assert data.length.min() >= SMALL.min_len and data.length.max() <= T
    real = np.arange(T)[None] < data.length[:, None]
    assert np.all((data.ids > 0) == real)
    assert data.ids.max() <= SMALL.world.n_items
    for row, n in zip(data.ids, data.length):
        assert len(np.unique(row[:n])) == n  # no repeats
    gaps = np.diff(data.ts, axis=1)
    assert np.all(gaps[real[:, 1:]] >= 0)
    assert np.all(data.start[:, 0]) and not np.any(data.start[~real])
    assert abs(data.start[:, 1:][real[:, 1:]].mean() - SMALL.p_break) < 0.02
    new_session = data.start[:, 1:][real[:, 1:]]
    assert np.median(gaps[real[:, 1:]][~new_session]) < 3600  # minutes within a session
    assert np.median(gaps[real[:, 1:]][new_session]) > 6 * 3600  # about a day between


def test_leave_one_out_split(data, split):
    rows = np.arange(U)
    np.testing.assert_array_equal(split.test.target, data.ids[rows, data.length - 1])
    np.testing.assert_array_equal(split.valid.target, data.ids[rows, data.length - 2])
    np.testing.assert_array_equal((split.train_ids > 0).sum(1), data.length - 2)
    np.testing.assert_array_equal(split.train_length, data.length - 2)
    for u in range(U):
        n = data.length[u]
        np.testing.assert_array_equal(split.train_ids[u, : n - 2], data.ids[u, : n - 2])
        assert split.valid.target[u] not in split.train_ids[u]
        assert split.test.target[u] not in split.train_ids[u]
        np.testing.assert_array_equal(split.test.history_ids[u, : n - 1], data.ids[u, : n - 1])
        assert not split.test.history_ids[u, n - 1 :].any()
    np.testing.assert_array_equal(split.valid.history_ids, split.train_ids)
    np.testing.assert_array_equal(split.test.oracle_rank, data.oracle_rank[rows, data.length - 1])
    assert split.test.oracle_rank.min() >= 1 and split.valid.oracle_rank.min() >= 1


def test_oracle_is_the_ceiling_and_a_uniform_scorer_gets_k_over_items(split):
    oracle = retrieval.oracle_metrics(split.test)
    rng = np.random.default_rng(0)
    q = split.test
    uniform = retrieval.metrics_from_ranks(retrieval.score_ranks(rng.random((U, split.n_items)), q.target, q.history_ids))
    left = split.n_items - 1 - (q.history_ids > 0).sum(1)
    expect = np.mean(np.minimum(10 / left, 1))
    assert abs(uniform["hr@10"] - expect) < 3 * np.sqrt(expect / U)
    assert expect == pytest.approx(10 / SMALL.world.n_items, rel=0.15)
    pop = retrieval.metrics_from_ranks(
        retrieval.score_ranks(retrieval.popularity_scores(split.train_ids, split.n_items), q.target, q.history_ids)
    )
    assert 0.6 < oracle["hr@10"] < 0.85
    assert oracle["hr@10"] > 3 * pop["hr@10"] > 3 * uniform["hr@10"]
    assert oracle["ndcg@10"] > 3 * pop["ndcg@10"]
    assert oracle["nll"] < np.log(SMALL.world.n_items) - 2
    assert retrieval.oracle_metrics(split.valid)["hr@10"] > 0.6

