"""The impression world: exact click probabilities, the teacher's parts, prefixes and
determinism whatever the order of requests."""

import hashlib

import numpy as np
import pytest

from sweeps.data.impression_world import BLOCK, PART_NAMES, ImpressionConfig, ImpressionWorld
from sweeps.eval.impression_signal import oracle_nes, variance_shares

CFG = ImpressionConfig(length=24, eval_users=256, eval_tail=4, bag_len=4)


@pytest.fixture(scope="module")
def world():
    w = ImpressionWorld(CFG)
    w.users(2 * BLOCK)
    return w


def _digest(users) -> str:
    h = hashlib.sha256()
    for a in users.arrays():
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def test_blocks_are_pure_functions_of_seed_and_block(world):
    fresh = ImpressionWorld(CFG)
    second_first = fresh.block(1)  # ask for block 1 before block 0
    whole = world.users(2 * BLOCK)
    assert _digest(second_first) == _digest(type(whole)(*(a[BLOCK:] for a in whole.arrays())))
    growing = ImpressionWorld(CFG)
    growing.users(3)
    growing.users(BLOCK + 5)
    assert _digest(growing.users(2 * BLOCK)) == _digest(world.users(2 * BLOCK))
    assert _digest(world.users(BLOCK + 5)) == _digest(world.users(2 * BLOCK).head(BLOCK + 5))
    other = ImpressionWorld(ImpressionConfig(**{**CFG.__dict__, "seed": 1}))
    assert not np.array_equal(other.block(0).click, world.block(0).click)


def test_train_budgets_are_prefixes_in_one_fixed_order(world):
    small, big = 3_000, 2 * BLOCK * CFG.length
    o_small, o_big = world.train_order(small), world.train_order(big)
    assert sorted(o_small) == list(range(small))
    np.testing.assert_array_equal(o_big[o_big < small], o_small)
    b_small, b_big = world.train(small), world.train(big)
    keep = o_big < small
    np.testing.assert_array_equal(b_big.ids["item"][keep], b_small.ids["item"])
    np.testing.assert_array_equal(b_big.label[keep], b_small.label)


def test_click_probability_is_the_sigmoid_of_the_parts(world):
    u = world.users(BLOCK)
    logit = u.parts.astype(np.float64).sum(-1)
    np.testing.assert_allclose(u.prob, 1 / (1 + np.exp(-logit)), rtol=1e-5)
    # clicks are Bernoulli(prob): the click rate matches the mean probability within 4 sigma
    n = u.prob.size
    assert abs(u.click.mean() - u.prob.mean()) < 4 * np.sqrt(0.25 / n)


def test_ordered_parts_vanish_where_the_history_says_they_must(world):
    u = world.users(BLOCK)
    start = world.seq._block(0).start  # the sequential world's true session starts
    gap = np.diff(u.ts, axis=1, prepend=u.ts[:, :1])
    assert np.mean(((gap > 3600) | (np.arange(CFG.length) == 0)) == start) > 0.99  # the gaps reveal them
    session, cont = PART_NAMES.index("session"), PART_NAMES.index("continuity")
    assert np.all(u.parts[..., cont][start] == 0) and np.all(u.parts[..., session][start] == 0)
    assert np.mean(u.parts[..., cont][~start] != 0) > 0.99
    n_sess = np.cumsum(start, 1)
    ret = u.parts[..., PART_NAMES.index("return")]
    assert np.all(ret[n_sess <= CFG.seq.return_period] == 0)
    assert np.mean(ret[n_sess > CFG.seq.return_period] != 0) > 0.5
    # no click earlier in the session: no session term
    clicks_before = np.zeros(u.click.shape)
    for t in range(1, CFG.length):
        clicks_before[:, t] = np.where(start[:, t], 0, clicks_before[:, t - 1] + u.click[:, t - 1])
    assert np.all(u.parts[..., session][clicks_before == 0] == 0)
    assert np.all(u.parts[..., session][clicks_before > 0] != 0)


def test_eval_set_is_the_tail_of_disjoint_users(world):
    e = world.eval_set
    assert len(e) == CFG.eval_users * CFG.eval_tail
    eu = world.eval_users
    np.testing.assert_array_equal(e.prob.reshape(CFG.eval_users, -1), eu.prob[:, -CFG.eval_tail:])
    assert not np.array_equal(eu.item[:BLOCK], world.users(BLOCK).item)


def test_the_signal_needs_order_and_time(world):
    u = world.users(2 * BLOCK)
    shares = variance_shares(u)
    assert 0.25 < shares["ordered (together)"] < 0.75 and shares["static"] > 0.1
    ne = oracle_nes(u, world.ctr.item_f, CFG.bag_len)
    assert ne["floor"] < ne["unordered"] - 0.03 < ne["static"] - 0.03 < 1
