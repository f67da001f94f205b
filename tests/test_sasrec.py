import jax
import jax.numpy as jnp
import numpy as np
import pytest
from draws import normal
from flax import nnx

from models import sasrec
from models.attention import softmax_attention, softmax_attention_reference

TINY = dict(n_items=50, max_len=16, d_model=8, n_blocks=2, n_heads=2, dropout=0.1)
SEQ_IDS = np.array([5, 9, 1, 33, 7, 21, 2])


def _model(**kw):
    model = sasrec.Model(sasrec.Config(**{**TINY, **kw}), rngs=nnx.Rngs(0))
    model.eval()
    return model


def _jitted(model, fn=lambda m, batch: m(batch)):
    graphdef, state = nnx.split(model)
    jitted = jax.jit(lambda s, *a: fn(nnx.merge(graphdef, s), *a))
    return lambda *a: jitted(state, *a)


def _padded(*layouts):
    return {"ids": jnp.asarray([np.pad(SEQ_IDS, lr) for lr in layouts], jnp.int32)}


def test_fast_softmax_attention_matches_reference_forward_and_grad():
    q, k, v, w = normal(0, (3, 5, 2, 3), (3, 5, 2, 3), (3, 5, 2, 4), (3, 5, 2, 4))
    valid = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 1, 1, 0]], bool)

    @jax.jit
    def out_and_grads(q, k, v):
        out, vjp = jax.vjp(lambda *a: softmax_attention(*a, jnp.asarray(valid)), q, k, v)
        out_ref, vjp_ref = jax.vjp(lambda *a: softmax_attention_reference(*a, valid), q, k, v)
        return out, out_ref, vjp(w), vjp_ref(w)

    fast, ref, g_fast, g_ref = out_and_grads(q, k, v)
    np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-6)
    assert np.all(np.asarray(fast)[~valid] == 0)
    for a, b in zip(g_fast, g_ref):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert np.all(np.isfinite(np.asarray(g_fast[0])))


def test_dropout_active_only_in_train_mode():
    model = _model(dropout=0.5)
    batch = _padded((0, 0))
    np.testing.assert_array_equal(model(batch), model(batch))
    model.train()
    assert not np.allclose(model(batch), model(batch))


@pytest.mark.parametrize("kw", [dict(), dict(head_mlp=(12, 6), d_ff=20)])
def test_param_counts_equal_parameter_tree(kw):
    model = _model(**kw)
    total = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
    counts = sasrec.param_counts(model.cfg)
    assert counts["total"] == total
    assert counts["embedding"] == model.item_emb.embedding[...].size == 50 * 8
    assert counts["dense"] == total - counts["embedding"]


@pytest.mark.parametrize("kw", [
    dict(max_len=32, d_model=32, n_blocks=2, n_heads=2),
    dict(max_len=64, d_model=64, n_blocks=2, n_heads=4, d_ff=128, head_mlp=(32,)),
])
def test_analytic_flops_match_xla_cost_analysis(kw):
    cfg = sasrec.Config(n_items=100, **kw)
    model = sasrec.Model(cfg, rngs=nnx.Rngs(0))
    model.eval()
    graphdef, state = nnx.split(model)
    batch = {"ids": jnp.ones((4, cfg.max_len), jnp.int32)}
    def run(s, b):
        m = nnx.merge(graphdef, s)
        return m.rank_logit(b, b["ids"][:, 0]) if cfg.head_mlp else m(b)

    fwd = jax.jit(run)
    cost = fwd.lower(state, batch).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    xla = cost["flops"] / 4
    assert abs(sasrec.forward_flops(cfg) - xla) / xla < 0.10


def test_presets_and_expected_attention_flops():
    for name, kw in sasrec.PRESETS.items():
        cfg = sasrec.Config(n_items=1000, **kw)
        assert sasrec.param_counts(cfg)["total"] > 0 and sasrec.forward_flops(cfg) > 0, name
    cfg = sasrec.Config(n_items=1000, **sasrec.PRESETS["ml-1m"])
    full = sasrec.expected_attention_flops(cfg, [200, 200])
    assert full == pytest.approx(sasrec.attention_flops(cfg, 200))
    assert sasrec.expected_attention_flops(cfg, [200, 200], alpha=1.6) < 0.3 * full
