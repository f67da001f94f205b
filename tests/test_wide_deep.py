import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from models import wide_deep
from sweeps import runner, spec as spec_mod
from sweeps.recipes import wide_deep as recipe
from sweeps.spec import PlannedTrial


@pytest.fixture(scope="module")
def cfg(ctr_world):
    return recipe.build(recipe.ModelKnobs(embed_dim=8, rows=500, deep_mlp=(32, 16)), ctr_world.cfg.n_dense, ctr_world.fields)


def test_param_counts_equal_the_tree(cfg):
    model = wide_deep.Model(cfg, rngs=nnx.Rngs(0))
    total = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
    assert wide_deep.param_counts(cfg)["total"] == total
    emb = sum(t.embedding[...].size for t in [*model.tables, *model.wide_ids, *model.wide_crosses])
    assert wide_deep.param_counts(cfg)["embedding"] == emb


def test_wide_part_is_linear_in_the_ids(cfg, ctr_world):
    model = wide_deep.Model(cfg, rngs=nnx.Rngs(0))
    batch = jax.tree.map(jnp.asarray, ctr_world.train(32).as_inputs())
    user = cfg.fields.index("user")
    w = model.wide_ids[user].embedding[...]
    model.wide_ids[user].embedding[...] = w.at[batch["ids"]["user"][0] % cfg.rows[user], 0].add(1.5)
    before = np.asarray(wide_deep.Model(cfg, rngs=nnx.Rngs(0))(batch))
    after = np.asarray(model(batch))
    hit = np.asarray(batch["ids"]["user"] % cfg.rows[user] == batch["ids"]["user"][0] % cfg.rows[user])
    np.testing.assert_allclose(after - before, 1.5 * hit, atol=1e-5)


def test_forward_flops_match_xla(cfg, ctr_world):
    batch = jax.tree.map(jnp.asarray, ctr_world.train(256).as_inputs())
    graphdef, state = nnx.split(wide_deep.Model(cfg, rngs=nnx.Rngs(0)))
    cost = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x)).lower(state, batch).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    xla = cost["flops"] / 256
    assert abs(wide_deep.forward_flops(cfg) - xla) / xla < 0.10


def test_a_cross_of_a_bag_field_is_rejected(ctr_world):
    with pytest.raises(ValueError, match="history"):
        recipe.build(recipe.ModelKnobs(crosses=(("history", "item"),)), ctr_world.cfg.n_dense, ctr_world.fields)


def test_trains_on_the_same_data_and_axes_as_dlrm():
    spec = spec_mod.parse(
        {
            "name": "wd",
            "arch": "wide_deep",
            "base": {"model": {"embed_dim": 8, "rows": 1024}, "data.examples": 65536},
            "axes": {"horizontal": [4, 8], "overall": [0.5, 1.0], "vertical": [256, 1024], "mlp": [16, 64]},
        }
    )
    trials = spec_mod.expand(spec)
    assert {a for t in trials for a in t.axes} == {"horizontal", "overall", "vertical", "mlp"}
    base = next(t for t in trials if t.axes.get("overall") == 1.0)
    assert base.axes == {"horizontal": 8, "overall": 1.0, "vertical": 1024, "mlp": 64}
    rec = runner.run_trial(PlannedTrial(base.config, base.axes), "wd")
    assert rec.status == "finished" and rec.final_metrics["ne"] < 0.97
