"""Properties every sequential recommender (HSTU, SASRec) must have: padding does not leak,
attention is causal, ids hash with the pad row reserved, gradients are finite and never
reach the pad row, and ranking reads the last real position."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from draws import normal
from flax import nnx

from models import hstu, sasrec
from sweeps.train import compile_cache

TINY = dict(n_items=50, max_len=16, d_model=8, n_blocks=2, n_heads=2, dropout=0.1)
SEQ_IDS = np.array([5, 9, 1, 33, 7, 21, 2])
SEQ_TS = np.array([100, 101, 160, 4000, 4000, 90000, 2_000_000])  # read by HSTU only


@pytest.fixture(params=[hstu, sasrec], ids=["hstu", "sasrec"])
def module(request):
    compile_cache.enable()  # the run's persistent cache (tests/conftest.py): a program two tests jit compiles once
    return request.param


def _model(module, **kw):
    model = module.Model(module.Config(**{**TINY, **kw}), rngs=nnx.Rngs(0))
    model.eval()
    return model


def _jitted(model, fn=lambda m, batch: m(batch)):
    graphdef, state = nnx.split(model)
    jitted = jax.jit(lambda s, *a: fn(nnx.merge(graphdef, s), *a))
    return lambda *a: jitted(state, *a)


def _padded(*layouts):
    rows = [np.pad(np.stack([SEQ_IDS, SEQ_TS]), ((0, 0), lr)) for lr in layouts]
    return {
        "ids": jnp.asarray([r[0] for r in rows], jnp.int32),
        "timestamps": jnp.asarray([r[1] for r in rows], jnp.int32),
    }


def test_padding_invariance_left_right_and_length(module):
    model = _model(module)
    call = _jitted(model, lambda m, b: (m(b), m.rank_logit(b, jnp.full(b["ids"].shape[0], 4))))
    ref, ref_logit = call(_padded((0, 0)))
    ref = np.asarray(ref)[0]
    assert np.allclose(np.linalg.norm(ref, axis=-1), 1, atol=1e-5)
    layouts = [(0, 9), (5, 4), (3, 6), (9, 0)]
    out, logits = call(_padded(*layouts))
    for row, (left, _) in zip(np.asarray(out), layouts):
        np.testing.assert_allclose(row[left : left + 7], ref, atol=2e-5)
        assert np.all(row[:left] == 0) and np.all(row[left + 7 :] == 0)
    np.testing.assert_allclose(logits, np.repeat(ref_logit, 4), atol=2e-5)


def test_causality_by_gradients_and_perturbation(module):
    model = _model(module)
    batch = _padded((0, 3))
    x = model.embed(batch)
    # A fixed random read-out of the features: their plain sum would be blind to a final
    # LayerNorm (SASRec's sums to its bias whatever the input), leaving rounding noise.
    w_D = normal(1, (TINY["d_model"],))
    jac = jax.jit(jax.jacrev(lambda x: model.encode(x, batch)[0] @ w_D))(x)
    dep_LxL = np.abs(np.asarray(jac)[:, 0]).sum(-1)
    assert np.all(dep_LxL[np.triu_indices(10, k=1)] == 0)  # exact: the mask forbids it
    assert np.all(dep_LxL[:7, :7].sum(1) > 0)  # every query reads something
    call = _jitted(model)
    ref = np.asarray(call(batch))[0]
    # Changing any earlier real item changes every later output: outputs are unit vectors,
    # so float32 rounding moves them by ~1e-6; the smallest real change measured is 2.6e-4.
    for j in range(7):
        other = batch["ids"].at[0, j].set(SEQ_IDS[j] % 49 + 1)
        out = np.asarray(call(dict(batch, ids=other)))[0]
        np.testing.assert_array_equal(out[:j], ref[:j])
        assert np.all(np.abs(out[j:7] - ref[j:7]).max(-1) > 1e-5), j
    later = {
        "ids": batch["ids"].at[0, 4:7].set(jnp.array([40, 41, 42])),
        "timestamps": batch["timestamps"].at[0, 4:7].set(jnp.array([5, 7_000_000, 9])),
    }
    np.testing.assert_array_equal(np.asarray(call(later))[0, :4], ref[:4])


def test_ids_hash_modulo_rows_with_pad_row_reserved(module):
    model = _model(module)
    call = _jitted(model)
    batch = _padded((0, 3))  # the causality test's shape: the same compiled forward
    shifted = dict(batch, ids=jnp.where(batch["ids"] != 0, batch["ids"] + 49, 0))
    np.testing.assert_allclose(call(batch), call(shifted), rtol=1e-6)
    table = model.item_embeddings()
    assert table.shape == (50, 8)
    np.testing.assert_allclose(model.item_embeddings(jnp.array([3, 52])), table[jnp.array([3, 3])])


def test_gradients_finite_and_pad_row_unused(module):
    model = _model(module, head_mlp=(8,))
    model.train()
    batch = _padded((0, 4), (4, 0))
    w = normal(3, (2, 11, 8))

    def loss(m):
        return (m(batch) * w).sum() + m.rank_logit(batch, jnp.array([3, 4])).sum()

    grads = nnx.jit(nnx.grad(loss))(model)
    assert all(np.all(np.isfinite(np.asarray(g))) for g in jax.tree.leaves(grads))
    table_grad = np.asarray(grads["item_emb"]["embedding"][...])
    assert np.all(table_grad[0] == 0) and np.any(table_grad[5] != 0)


@pytest.mark.parametrize("head_mlp", [(), (16, 8)])
def test_rank_logit_shapes_and_last_position(module, head_mlp):
    model = _model(module, head_mlp=head_mlp)
    batch = {"ids": jnp.array([[3, 4, 0, 0], [0, 5, 6, 7]]), "timestamps": jnp.array([[1, 2, 0, 0], [0, 3, 4, 5]])}
    targets = jnp.array([[1, 2, 3], [4, 5, 6]])
    out, u, one, many = _jitted(
        model, lambda m, b, t: (m(b), m.user_embedding(b), m.rank_logit(b, t[:, 1]), m.rank_logit(b, t))
    )(batch, targets)
    assert one.shape == (2,) and many.shape == (2, 3)
    np.testing.assert_allclose(many[:, 1], one, rtol=1e-5)
    np.testing.assert_allclose(u, np.asarray(out)[[0, 1], [1, 3]])
    if not head_mlp:
        expected = jnp.einsum("bd,bmd->bm", u, model.item_embeddings(targets))
        np.testing.assert_allclose(many, expected, rtol=1e-5)
