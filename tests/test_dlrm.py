import jax
import jax.numpy as jnp
import numpy as np
import pytest
from draws import normal
from flax import nnx

from models import dlrm
from sweeps.recipes import dlrm as recipe


@pytest.fixture(scope="module")
def setup(ctr_world):
    spec = recipe.ModelKnobs(embed_dim=8, rows=1000, bottom_mlp=(32, 16), top_mlp=(24,))
    cfg = recipe.build(spec, ctr_world.cfg.n_dense, ctr_world.fields)
    batch = ctr_world.train(64).as_inputs()
    return cfg, jax.tree.map(jnp.asarray, batch)


def test_output_shape_and_finite(setup):
    cfg, batch = setup
    out = dlrm.Model(cfg, rngs=nnx.Rngs(0))(batch)
    assert out.shape == (64,)
    assert np.all(np.isfinite(np.asarray(out)))


def test_count_params_equals_parameter_tree(setup):
    cfg, _ = setup
    model = dlrm.Model(cfg, rngs=nnx.Rngs(0))
    params = nnx.state(model, nnx.Param)
    total = sum(x.size for x in jax.tree.leaves(params))
    emb = sum(t.embedding[...].size for t in model.tables)
    counts = dlrm.param_counts(cfg)
    assert counts["total"] == total
    assert counts["embedding"] == emb
    assert counts["dense"] == total - emb
    assert emb == sum(cfg.rows) * cfg.embed_dim


def test_rows_capped_at_cardinality(ctr_world):
    cfg = recipe.build(recipe.ModelKnobs(rows=10**9), ctr_world.cfg.n_dense, ctr_world.fields)
    assert cfg.rows == tuple(f.cardinality for f in ctr_world.fields)


def test_ids_hash_modulo_rows(setup):
    cfg, batch = setup
    model = dlrm.Model(cfg, rngs=nnx.Rngs(0))
    shifted = dict(batch, ids={k: v + (r if k == "user" else 0) for (k, v), r in zip(batch["ids"].items(), cfg.rows)})
    np.testing.assert_allclose(np.asarray(model(batch)), np.asarray(model(shifted)), rtol=1e-6)


def test_bags_are_sum_pooled(setup):
    cfg, batch = setup
    model = dlrm.Model(cfg, rngs=nnx.Rngs(0))
    pooled = model.embed(batch["ids"])[cfg.fields.index("history")]
    table = model.tables[cfg.fields.index("history")].embedding[...]
    rows = cfg.rows[cfg.fields.index("history")]
    expected = table[batch["ids"]["history"] % rows].sum(axis=1)
    np.testing.assert_allclose(np.asarray(pooled), np.asarray(expected), rtol=1e-6)


@pytest.mark.parametrize("spec", [
    recipe.ModelKnobs(embed_dim=8, rows=1000, bottom_mlp=(32, 16), top_mlp=(24,)),
    recipe.ModelKnobs(embed_dim=64, rows=4096, bottom_mlp=(256, 128), top_mlp=(256, 128)),
])
def test_analytic_flops_match_xla_cost_analysis(ctr_world, spec):
    cfg = recipe.build(spec, ctr_world.cfg.n_dense, ctr_world.fields)
    batch = jax.tree.map(jnp.asarray, ctr_world.train(256).as_inputs())
    graphdef, state = nnx.split(dlrm.Model(cfg, rngs=nnx.Rngs(0)))
    fwd = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x))
    cost = fwd.lower(state, batch).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    xla_per_example = cost["flops"] / 256
    analytic = dlrm.forward_flops(cfg)
    assert abs(analytic - xla_per_example) / xla_per_example < 0.10


def test_pairwise_dots_equals_its_autodiff_reference_forward_and_gradient():
    # the Criteo-Kaggle interaction's 27 vectors of 16 and a small odd shape
    for b, v, d in ((64, 27, 16), (3, 5, 7)):
        z, g = normal(v, (b, v, d), (b, v * (v - 1) // 2))
        fast, vjp_fast = jax.vjp(jax.jit(dlrm.pairwise_dots), z)
        ref, vjp_ref = jax.vjp(jax.jit(dlrm.pairwise_dots_reference), z)
        # the same einsum then a gather (bit-equal here; two programs may fuse the dot differently)
        np.testing.assert_allclose(np.asarray(fast), np.asarray(ref), rtol=0, atol=1e-6 * float(np.abs(np.asarray(ref)).max()))
        # each gradient entry sums the same 2(V-1) products in another order: float32 rounding
        # of sums of ~50 unit-size terms, far inside 1e-5 of the gradient's scale
        (gf,), (gr,) = vjp_fast(g), vjp_ref(g)
        np.testing.assert_allclose(np.asarray(gf), np.asarray(gr), rtol=0, atol=1e-5 * float(np.abs(np.asarray(gr)).max()))
        assert np.abs(np.asarray(gr)).max() > 1.0
