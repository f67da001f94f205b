"""M-FALCON: m candidates scored against one encoding of the history equal each candidate
scored alone by the generative forward pass, and do not see each other."""

import jax
import numpy as np
import pytest
from draws import perturbed
from flax import nnx

from models import hstu_gen

CFG = hstu_gen.Config(item_rows=101, category_rows=13, context_rows=7, segment_rows=5, max_events=10,
                      d_model=16, n_blocks=2, n_heads=2, head_mlp=(8,))
B, T, M = 2, 8, 7  # T + 1 <= max_events: a candidate is the history's next impression
# Logits are O(1); the two paths sum the same terms in other orders and shapes (float32,
# ~1e-6 apart as measured); 2e-5 leaves a 10x margin, far below a leaked candidate's effect.
ATOL = 2e-5


@pytest.fixture(scope="module")
def setup():
    m = hstu_gen.Model(CFG, rngs=nnx.Rngs(4))
    nnx.update(m, perturbed(nnx.state(m, nnx.Param), 2, 0.3))
    rng = np.random.default_rng(0)
    history = dict(
        item=rng.integers(0, 100, (B, T)), category=rng.integers(0, 13, (B, T)), context=rng.integers(0, 7, (B, T)),
        ts=np.sort(rng.integers(1_000, 10**6, (B, T)), 1).astype(np.int32), click=rng.integers(0, 2, (B, T)),
        valid=np.ones((B, T), bool), segment=rng.integers(0, 5, B),
    )
    history["valid"][1, -3:] = False  # a shorter history, right-padded
    cand = dict(item=rng.integers(0, 100, (B, M)), category=rng.integers(0, 13, (B, M)),
                context=rng.integers(0, 7, (B, M)), ts=np.full((B, M), 2 * 10**6, np.int32))
    graphdef, state = nnx.split(m)
    falcon = jax.jit(lambda s, h, c: hstu_gen.score_candidates(nnx.merge(graphdef, s), h, c, micro_batch=3))
    one = jax.jit(lambda s, h, c: hstu_gen.score_one(nnx.merge(graphdef, s), h, c))
    return state, history, cand, falcon, one


def test_mfalcon_equals_one_candidate_at_a_time(setup):
    state, history, cand, falcon, one = setup
    got = np.asarray(falcon(state, history, cand))
    alone = np.stack([np.asarray(one(state, history, {k: v[:, j] for k, v in cand.items()})) for j in range(M)], 1)
    np.testing.assert_allclose(got, alone, atol=ATOL)
    assert np.ptp(got) > 1e-2  # candidates are scored differently


def test_candidates_do_not_see_each_other(setup):
    state, history, cand, falcon, _ = setup
    other = {k: np.array(v) for k, v in cand.items()}
    other["item"][:, 1:] = (other["item"][:, 1:] + 17) % 100
    a, b = np.asarray(falcon(state, history, cand)), np.asarray(falcon(state, history, other))
    np.testing.assert_array_equal(a[:, 0], b[:, 0])
    assert np.abs(a[:, 1:] - b[:, 1:]).max() > 1e-3
