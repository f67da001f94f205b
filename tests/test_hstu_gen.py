"""Generative HSTU for ranking: causality (no label sees its own action or anything later),
exact amortisation over prefixes, padding invariance, parameter and FLOP counts, and
M-FALCON's parity with scoring each candidate alone."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from draws import perturbed
from flax import nnx

from models import hstu, hstu_gen
from models.layers import mlp_params

CFG = hstu_gen.Config(item_rows=101, category_rows=13, context_rows=7, segment_rows=5, max_events=12,
                      d_model=16, n_blocks=2, n_heads=2, head_mlp=(8,))
B, T = 3, CFG.max_events
# Logits are O(1); float32 results that differ only in reduction length or summation order
# agree to about 1e-6 (measured ~2e-7); 2e-5 leaves a 10x margin and is far below any
# change a leak would cause (the perturbations below move logits by > 1e-2).
ATOL = 2e-5


def _batch(seed=0, n=T):
    rng = np.random.default_rng(seed)
    return dict(
        item=rng.integers(0, 100, (B, n)), category=rng.integers(0, 13, (B, n)), context=rng.integers(0, 7, (B, n)),
        ts=np.sort(rng.integers(1_000, 10**6, (B, n)), 1).astype(np.int32), click=rng.integers(0, 2, (B, n)),
        valid=np.ones((B, n), bool), segment=rng.integers(0, 5, B),
    )


class Jitted:
    """The model's methods, jitted (one compile per input shape)."""

    def __init__(self, m):
        self.module = m
        graphdef, state = nnx.split(m)
        self.state = state
        self._call = jax.jit(lambda s, b: nnx.merge(graphdef, s)(b))

        def label(x, s, v, t, i):  # the logits of impression i (traced), summed over the batch
            m = nnx.merge(graphdef, s)
            return m.readout(jnp.take(m.encode(x, v, t), 1 + 2 * i, axis=1)).sum()

        self.grad_tokens = jax.jit(jax.grad(label))

    def __call__(self, batch):
        return self._call(self.state, batch)

    def tokens(self, batch):
        return self.module.tokens(batch)


@pytest.fixture(scope="module")
def model():
    m = hstu_gen.Model(CFG, rngs=nnx.Rngs(3))
    # random (not zero-initialised) head and biases, so every path carries signal
    nnx.update(m, perturbed(nnx.state(m, nnx.Param), 1, 0.3))
    return Jitted(m)


def _perturbed_after(batch, i, seed=9):
    rng = np.random.default_rng(seed)
    out = {k: np.array(v) for k, v in batch.items()}
    out["click"][:, i] = 1 - out["click"][:, i]
    for k, hi in (("item", 100), ("category", 13), ("context", 7)):
        out[k][:, i + 1 :] = rng.integers(0, hi, (B, T - i - 1))
    out["ts"][:, i + 1 :] = np.sort(rng.integers(10**6, 10**7, (B, T - i - 1)), 1)
    out["click"][:, i + 1 :] = rng.integers(0, 2, (B, T - i - 1))
    return out


@pytest.mark.parametrize("i", [0, 5, T - 2])
def test_label_i_sees_neither_its_action_nor_later_tokens(model, i):
    base = _batch()
    a, b = model(base), model(_perturbed_after(base, i))
    np.testing.assert_array_equal(np.asarray(a[:, : i + 1]), np.asarray(b[:, : i + 1]))
    assert np.abs(np.asarray(a[:, i + 1 :] - b[:, i + 1 :])).max() > 1e-2  # later labels do see them


def test_gradient_of_label_i_is_exactly_zero_on_later_tokens(model):
    x, valid, ts = model.tokens(_batch())
    for i in (0, 4, T - 1):
        g = np.asarray(model.grad_tokens(x, model.state, valid, ts, i))
        assert np.all(g[:, 2 + 2 * i :] == 0)  # a_i is token 2 + 2i; everything from it on
        assert np.all(np.abs(g[:, : 2 + 2 * i]).sum(-1) > 0)


def _bce(logits, y):
    return optax.sigmoid_binary_cross_entropy(logits, jnp.asarray(y, jnp.float32))


def test_generative_loss_is_the_mean_of_per_prefix_losses(model):
    batch = _batch(1)
    whole = np.asarray(_bce(model(batch), batch["click"]).mean(1))
    per_prefix = []
    for k in range(T):  # impression k alone: its history, then it (what follows is padding)
        prefix = {**batch, "valid": np.arange(T)[None].repeat(B, 0) <= k}
        per_prefix.append(np.asarray(_bce(model(prefix)[:, k], batch["click"][:, k])))
    # and once with arrays cut to the prefix: a shorter sequence, not a padded one
    k = T // 2
    cut = {key: (v[:, : k + 1] if np.ndim(v) == 2 else v) for key, v in batch.items()}
    np.testing.assert_allclose(np.asarray(_bce(model(cut)[:, k], batch["click"][:, k])), per_prefix[k], atol=ATOL)
    np.testing.assert_allclose(whole, np.mean(per_prefix, 0), atol=ATOL)


def test_padding_anywhere_changes_nothing(model):
    batch = _batch(2)
    ref = np.asarray(model(batch))
    n = 2 * T + 3
    slots = np.sort(np.random.default_rng(5).choice(n, T, replace=False))  # real events scattered among pads
    padded = {k: (np.zeros((B, n), np.asarray(v).dtype) if np.ndim(v) == 2 else v) for k, v in batch.items()}
    for k in ("item", "category", "context", "ts", "click"):
        padded[k][:] = np.random.default_rng(6).integers(0, 5, (B, n))  # junk at pads
        padded[k][:, slots] = batch[k]
    padded["valid"] = np.zeros((B, n), bool)
    padded["valid"][:, slots] = True
    np.testing.assert_allclose(np.asarray(model(padded))[:, slots], ref, atol=ATOL)


def test_param_counts_are_exact():
    m = hstu_gen.Model(CFG, rngs=nnx.Rngs(0))
    n = sum(p.size for p in jax.tree.leaves(nnx.state(m, nnx.Param)))
    counts = hstu_gen.param_counts(CFG)
    assert counts["total"] == n
    assert counts["embedding"] == (101 + 13 + 7 + 5 + 2) * 16
    assert counts["dense"] == CFG.n_tokens * 16 + 2 * hstu.block_params(CFG.encoder()) + mlp_params((16, 8, 1))


def test_flops_per_label_match_xla_within_10_percent():
    # measured analytic / XLA: 0.945 (T 16, d 16, 1 block), 0.993 (T 64, d 32, 2 blocks), 0.997 (T 128, d 64, 3 blocks)
    cfg = hstu_gen.Config(item_rows=1001, category_rows=400, context_rows=168, segment_rows=64,
                          max_events=40, d_model=32, n_blocks=2, n_heads=2, head_mlp=(32, 16))
    graphdef, state = nnx.split(hstu_gen.Model(cfg, rngs=nnx.Rngs(0)))
    batch = {k: (np.resize(v, (B, cfg.max_events)) if np.ndim(v) == 2 else v) for k, v in _batch().items()}
    cost = jax.jit(lambda s, b: nnx.merge(graphdef, s)(b)).lower(state, batch).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    xla = cost["flops"] / (B * cfg.max_events)
    assert abs(hstu_gen.forward_flops(cfg) / xla - 1) < 0.10
