import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from draws import normal
from flax import nnx

from models import hstu
from models.attention import pointwise_attention, pointwise_attention_reference
from models.seq_common import sl_expected_square_length, sl_keep_probability, sl_target_length, stochastic_length

TINY = dict(n_items=50, max_len=16, d_model=8, n_blocks=2, n_heads=2, dropout=0.1)


def _model(**kw):
    model = hstu.Model(hstu.Config(**{**TINY, **kw}), rngs=nnx.Rngs(0))
    model.eval()
    return model


def _jitted(model, fn=lambda m, batch: m(batch)):
    graphdef, state = nnx.split(model)
    jitted = jax.jit(lambda s, *a: fn(nnx.merge(graphdef, s), *a))
    return lambda *a: jitted(state, *a)


def _attention_inputs(seed=0, B=3, L=5, H=2, K=3, V=4):
    q, k, v, bias = normal(seed, (B, L, H, K), (B, L, H, K), (B, L, H, V), (B, H, L, L))
    valid = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 1, 1, 0]], bool)[:B]
    return q, k, v, bias, valid


def test_fast_attention_matches_reference_forward_and_grad():
    q, k, v, bias, valid = _attention_inputs()
    w = normal(9, (3, 5, 2, 4))

    @jax.jit
    def out_and_grads(q, k, v, bias):
        out, vjp = jax.vjp(lambda *a: pointwise_attention(*a, jnp.asarray(valid)), q, k, v, bias)
        out_ref, vjp_ref = jax.vjp(lambda *a: pointwise_attention_reference(*a, valid), q, k, v, bias)
        return out, out_ref, vjp(w), vjp_ref(w)

    fast, ref, g_fast, g_ref = out_and_grads(q, k, v, bias)
    np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-6)
    assert np.all(np.asarray(fast)[~valid] == 0)
    for a, b in zip(g_fast, g_ref):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    mask = np.tril(np.ones((5, 5), bool))[None] & valid[:, :, None] & valid[:, None, :]
    assert np.all(np.asarray(g_fast[3]).sum(1)[~mask] == 0)
    shared = pointwise_attention(q, k, v, bias[:, :1], jnp.asarray(valid))
    per_head = pointwise_attention(q, k, v, jnp.repeat(bias[:, :1], 2, 1), jnp.asarray(valid))
    np.testing.assert_allclose(shared, per_head)


def test_attention_divides_by_visible_real_positions():
    q, k, v, _, valid = _attention_inputs()
    c = 30.0  # SiLU(c) == c to float precision
    out = pointwise_attention(q * 0, k * 0, v, jnp.full((3, 1, 5, 5), c), jnp.asarray(valid))
    for b in range(3):
        for i in range(5):
            js = [j for j in range(i + 1) if valid[b, j]]
            if valid[b, i]:
                np.testing.assert_allclose(out[b, i], c * np.asarray(v)[b, js].mean(0), rtol=1e-5)


def test_time_buckets_on_hand_made_gaps():
    dt = jnp.array([0, 1, -1, 2, -2, 3, 86_400, 2**31 - 1])
    expected = [0, 0, 0, 2, 2, 3, math.floor(math.log(86_400) / 0.301), math.floor(math.log(2**31 - 1) / 0.301)]
    assert hstu.time_buckets(dt).tolist() == expected == [0, 0, 0, 2, 2, 3, 37, 71]
    assert hstu.time_buckets(jnp.array([1e20, -1e30])).tolist() == [127, 127]
    assert hstu.time_buckets(jnp.array([1e20]), n_buckets=16).tolist() == [15]


@pytest.mark.parametrize("kw", [dict(), dict(head_mlp=(12,), d_qk=3, d_v=5)])
def test_param_counts_equal_parameter_tree(kw):
    model = _model(**kw)
    total = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
    counts = hstu.param_counts(model.cfg)
    assert counts["total"] == total
    assert counts["embedding"] == model.item_emb.embedding[...].size == 50 * 8
    assert counts["dense"] == total - counts["embedding"]


@pytest.mark.parametrize("kw", [
    dict(max_len=32, d_model=32, n_blocks=2, n_heads=2),
    dict(max_len=64, d_model=64, n_blocks=2, n_heads=4, d_qk=8, d_v=16, head_mlp=(32,)),
])
def test_analytic_flops_match_xla_cost_analysis(kw):
    cfg = hstu.Config(n_items=100, **kw)
    model = hstu.Model(cfg, rngs=nnx.Rngs(0))
    model.eval()
    graphdef, state = nnx.split(model)
    ids = jnp.ones((4, cfg.max_len), jnp.int32)
    batch = {"ids": ids, "timestamps": jnp.cumsum(ids, axis=1) * 60}
    def run(s, b):
        m = nnx.merge(graphdef, s)
        return m.rank_logit(b, b["ids"][:, 0]) if cfg.head_mlp else m(b)

    fwd = jax.jit(run)
    cost = fwd.lower(state, batch).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    xla = cost["flops"] / 4
    assert abs(hstu.forward_flops(cfg) - xla) / xla < 0.10


def test_presets_build():
    for name, kw in hstu.PRESETS.items():
        cfg = hstu.Config(n_items=1000, **kw)
        assert cfg.d_qk == cfg.d_v == cfg.d_model // cfg.n_heads, name
        assert hstu.param_counts(cfg)["total"] > 0 and hstu.forward_flops(cfg) > 0
    cfg = hstu.Config(n_items=1000, **hstu.PRESETS["books"])
    batch = {"ids": jnp.ones((2, 50), jnp.int32), "timestamps": jnp.zeros((2, 50), jnp.int32)}
    out = _jitted(hstu.Model(cfg, rngs=nnx.Rngs(0)))(batch)
    assert out.shape == (2, 50, 64) and np.all(np.isfinite(np.asarray(out)))


def _sl_batch(lengths, L):
    ids = np.zeros((len(lengths), L), np.int32)
    for r, n in enumerate(lengths):
        ids[r, :n] = np.arange(1, n + 1)
    return jnp.asarray(ids), jnp.asarray(ids * 10)


def test_stochastic_length_rule():
    max_len, alpha = 100, 1.2
    m = sl_target_length(alpha, max_len)
    assert m == math.floor(100**0.6) == 15
    lengths = [3, 15, 16, 60, 100] * 400
    ids, ts = _sl_batch(lengths, max_len)
    out_ids, out_ts = stochastic_length(ids, ts, jax.random.key(1), alpha, max_len)
    again = stochastic_length(ids, ts, jax.random.key(1), alpha, max_len)
    np.testing.assert_array_equal(out_ids, again[0])
    assert not np.array_equal(out_ids, stochastic_length(ids, ts, jax.random.key(2), alpha, max_len)[0])
    out_ids, out_ts = np.asarray(out_ids), np.asarray(out_ts)
    np.testing.assert_array_equal(out_ts, out_ids * 10)
    n_out = (out_ids != 0).sum(1)
    lengths = np.array(lengths)
    short = lengths <= m
    np.testing.assert_array_equal(out_ids[short], np.asarray(ids)[short])
    assert np.all((n_out[~short] == m) | (n_out[~short] == lengths[~short]))
    for row, n in zip(out_ids, n_out):
        assert np.all(row[:n] > 0) and np.all(row[n:] == 0) and np.all(np.diff(row[:n]) > 0)
    for n in (16, 60, 100):
        kept = np.mean(n_out[lengths == n] == n)
        p = max_len**alpha / n**2
        assert abs(kept - p) < 4 * math.sqrt(p * (1 - p) / 400) + 1e-9
    p = sl_keep_probability(lengths, alpha, max_len)
    se = np.sqrt(np.sum(p * (1 - p) * (lengths**2.0 - m**2) ** 2)) / len(lengths)
    expected = np.mean(sl_expected_square_length(lengths, alpha, max_len))
    assert abs(np.mean(n_out.astype(float) ** 2) - expected) < 4 * se
    ids2, _ = stochastic_length(ids, ts, jax.random.key(1), 2.0, max_len)
    np.testing.assert_array_equal(ids2, ids)


def test_expected_attention_flops_after_stochastic_length():
    cfg = hstu.Config(n_items=100, **hstu.PRESETS["ml-1m"])
    lengths = np.full(10, 200)
    full = hstu.expected_attention_flops(cfg, lengths)
    assert full == pytest.approx(hstu.attention_flops(cfg, 200))
    assert hstu.expected_attention_flops(cfg, lengths, alpha=2.0) == pytest.approx(full)
    per_sq = full / 200**2
    for alpha in (1.6, 1.8):
        sl = hstu.expected_attention_flops(cfg, lengths, alpha=alpha)
        assert sl < full and sl <= 2 * 200**alpha * per_sq + 1e-6
        m = sl_target_length(alpha, 200)
        p = 200**alpha / 200**2
        assert sl == pytest.approx(per_sq * (p * 200**2 + (1 - p) * m**2))
