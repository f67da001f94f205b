"""The fused HSTU attention (``models.attention.pointwise_attention_fused``, custom VJP) and
the HSTU model on its fused path give the numbers of the plain implementations.

Tolerances: float32 throughout, the two paths sum the same terms in different orders
(matmul blocking, where the ``1/n`` is applied); on O(1) inputs the differences are a few
float32 ulps (~1e-7 relative, measured <= 5e-7 absolute), so rtol 1e-5 / atol 1e-6 leaves a
margin of about 10 and still fails on any real error (a wrong mask, bias or ``1/n`` moves
results by 1e-2 or more)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from draws import normal
from flax import nnx

from models import hstu
from models.attention import pointwise_attention, pointwise_attention_fused

RTOL, ATOL = 1e-5, 1e-6
# contiguous (right, left, full) and with holes
VALID = np.array([[1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [1, 0, 1, 1, 0, 1]], bool)


def _inputs(H, seed=0):
    B, L = VALID.shape
    return normal(seed, (B, L, H, 3), (B, L, H, 3), (B, L, H, 4), (B, L, L), (L, L), (B, L, H, 4))


@pytest.mark.parametrize("H", [1, 2])
def test_fused_attention_matches_plain_forward_and_grads(H):
    q, k, v, bias, shared, w = _inputs(H)
    valid = jnp.asarray(VALID)

    @jax.jit
    def both(q, k, v, bias, shared):
        fused = jax.vjp(lambda *a: pointwise_attention_fused(*a[:4], valid, a[4]), q, k, v, bias, shared)
        plain = jax.vjp(lambda *a: pointwise_attention(*a[:3], (a[3] + a[4])[:, None], valid), q, k, v, bias, shared)
        return fused[0], fused[1](w), plain[0], plain[1](w)

    out, grads, out_plain, grads_plain = both(q, k, v, bias, shared)
    np.testing.assert_allclose(out, out_plain, rtol=RTOL, atol=ATOL)
    assert np.all(np.asarray(out)[~VALID] == 0)
    for g, g_plain in zip(grads, grads_plain):
        np.testing.assert_allclose(g, g_plain, rtol=RTOL, atol=ATOL)
    visible = np.tril(np.ones((6, 6), bool))[None] & VALID[:, :, None] & VALID[:, None, :]
    assert np.all(np.asarray(grads[3])[~visible] == 0) and np.abs(np.asarray(grads[3])[visible]).min() > 0
    no_shared = pointwise_attention_fused(q, k, v, bias + shared, valid)
    np.testing.assert_allclose(no_shared, out, rtol=RTOL, atol=ATOL)


TINY = dict(n_items=40, max_len=8, d_model=8, n_blocks=2, n_heads=2, dropout=0.0)


def _batch():
    ids = np.zeros((4, 8), np.int32)
    rng = np.random.default_rng(3)
    for r, cols in enumerate([range(0, 5), range(3, 8), range(0, 8), (0, 2, 3, 6)]):  # right, left, full, holes
        ids[r, list(cols)] = rng.integers(1, 40, len(cols))
    ts = np.where(ids != 0, np.cumsum(rng.integers(1, 10**6, ids.shape), 1), 0).astype(np.int32)
    return {"ids": jnp.asarray(ids), "timestamps": jnp.asarray(ts)}


def test_hstu_fused_path_gives_the_einsum_paths_outputs_and_gradients():
    batch = _batch()
    results = {}
    for impl in hstu.ATTENTION:
        model = hstu.Model(hstu.Config(**TINY, attention=impl), rngs=nnx.Rngs(0))
        model.eval()
        graphdef, params, rest = nnx.split(model, nnx.Param, ...)
        run = lambda p, g=graphdef, r=rest: nnx.merge(g, p, r)(batch)
        results[impl] = jax.jit(lambda p, f=run: (f(p), jax.grad(lambda p: (f(p) ** 3).sum())(p)))(params)
    (out, grads), (out_e, grads_e) = results["fused"], results["einsum"]
    np.testing.assert_allclose(out, out_e, rtol=RTOL, atol=ATOL)
    flat, flat_e = jax.tree.leaves(grads), jax.tree.leaves(grads_e)
    assert len(flat) == len(flat_e)
    for g, g_e in zip(flat, flat_e):
        np.testing.assert_allclose(g, g_e, rtol=1e-4, atol=1e-5)
    assert float(np.abs(np.asarray(grads["blocks"][0]["time_bias"][...])).max()) > 0


def test_attention_knob_is_checked():
    with pytest.raises(ValueError, match="attention"):
        hstu.Config(n_items=10, attention="flash")
