import jax
import jax.numpy as jnp
import numpy as np
import pytest
from draws import normal
from flax import nnx

from models import dlrm, hstu_rank
from sweeps.recipes import dlrm as dlrm_recipe, hstu_rank as recipe
from sweeps.train import compile_cache


@pytest.fixture(scope="module")
def setup(ctr_world):
    compile_cache.enable()  # the run's persistent cache (tests/conftest.py): the forward three tests jit compiles once
    spec = recipe.ModelKnobs(d_model=8, n_blocks=2, n_heads=2, rows=300, dense_mlp=(16,), head_mlp=(12,))
    cfg = recipe.build(spec, ctr_world.cfg.n_dense, ctr_world.fields)
    batch = jax.tree.map(jnp.asarray, ctr_world.train(64).as_inputs())
    return cfg, batch


def _apply(model):
    graphdef, state = nnx.split(model)
    return jax.jit(lambda s, b: nnx.merge(graphdef, s)(b)), state


def test_reads_the_same_inputs_as_dlrm(setup, ctr_world):
    cfg, batch = setup
    run, state = _apply(hstu_rank.Model(cfg, rngs=nnx.Rngs(0)))
    d_cfg = dlrm_recipe.build(dlrm_recipe.ModelKnobs(), ctr_world.cfg.n_dense, ctr_world.fields)
    d_run, d_state = _apply(dlrm.Model(d_cfg, rngs=nnx.Rngs(0)))
    assert run(state, batch).shape == d_run(d_state, batch).shape == (64,)
    # tokens: dense + user, category, context + 8 history items + the candidate
    assert cfg.context_fields == ("user", "category", "context")
    assert cfg.n_tokens == 1 + 3 + ctr_world.cfg.history_len + 1


def test_history_and_candidate_share_the_item_table(setup):
    cfg, batch = setup
    model = hstu_rank.Model(cfg, rngs=nnx.Rngs(0))
    assert "history" not in model.tables
    toks = model.tokens(batch)
    table = model.tables["item"].embedding[...]
    rows = cfg.rows[cfg.fields.index("item")]
    np.testing.assert_allclose(toks[:, -1], table[batch["ids"]["item"] % rows], rtol=1e-6)
    np.testing.assert_allclose(toks[:, 4:-1], table[batch["ids"]["history"] % rows], rtol=1e-6)


def test_candidate_token_is_read_and_history_order_is_causal(setup):
    """The logit depends on the candidate; a history token's output does not depend on the
    candidate (causal), checked by gradients of the readout w.r.t. the token inputs."""
    cfg, batch = setup
    model = hstu_rank.Model(cfg, rngs=nnx.Rngs(1))
    for layer in model.head.layers:  # a zero last layer would make every gradient vanish
        layer.kernel[...] = normal(2, layer.kernel[...].shape)
    x = model.tokens(batch) * np.sqrt(cfg.d_model) + model.pos_emb[...]
    L = cfg.n_tokens
    rel = (jnp.arange(L)[:, None] - jnp.arange(L)[None] + L - 1)[None]
    zeros, valid = jnp.zeros((1, L, L), jnp.int32), jnp.ones((x.shape[0], L), bool)

    def encode(x):
        for block in model.blocks:
            x = block(x, rel, zeros, valid)
        return x

    g_last = jax.jit(jax.grad(lambda x: encode(x)[:, -1].sum()))(x)
    g_mid = jax.jit(jax.grad(lambda x: encode(x)[:, L - 3].sum()))(x)
    assert np.abs(np.asarray(g_last[:, -1])).sum() > 0 and np.abs(np.asarray(g_last[:, 0])).sum() > 0
    assert np.all(np.asarray(g_mid[:, L - 2 :]) == 0)
    swapped = dict(batch, ids=dict(batch["ids"], item=(batch["ids"]["item"] + 1) % 1000))
    run, state = _apply(model)
    assert not np.allclose(np.asarray(run(state, batch)), np.asarray(run(state, swapped)))


def test_ids_hash_modulo_rows(setup):
    cfg, batch = setup
    run, state = _apply(hstu_rank.Model(cfg, rngs=nnx.Rngs(0)))
    rows = dict(zip(cfg.fields, cfg.rows))
    shifted = dict(batch, ids={k: v + rows["item" if k == "history" else k] for k, v in batch["ids"].items()})
    np.testing.assert_allclose(np.asarray(run(state, batch)), np.asarray(run(state, shifted)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(n_heads=4, d_model=16, n_blocks=3, head_mlp=(8, 4))])
def test_param_counts_equal_parameter_tree(setup, ctr_world, kw):
    spec = recipe.ModelKnobs(**{**dict(d_model=8, rows=300, dense_mlp=(16,), head_mlp=(12,)), **kw})
    cfg = recipe.build(spec, ctr_world.cfg.n_dense, ctr_world.fields)
    model = hstu_rank.Model(cfg, rngs=nnx.Rngs(0))
    total = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
    emb = sum(t.embedding[...].size for t in model.tables.values())
    counts = hstu_rank.param_counts(cfg)
    assert (counts["total"], counts["embedding"]) == (total, emb)
    assert emb == sum(min(300, f.cardinality) for f in ctr_world.fields if f.name != "history") * cfg.d_model


@pytest.mark.parametrize("kw", [dict(d_model=16, n_heads=2), dict(d_model=64, n_heads=4, n_blocks=3, head_mlp=(64, 32))])
def test_analytic_flops_match_xla_cost_analysis(setup, ctr_world, kw):
    cfg = recipe.build(recipe.ModelKnobs(rows=300, **kw), ctr_world.cfg.n_dense, ctr_world.fields)
    run, state = _apply(hstu_rank.Model(cfg, rngs=nnx.Rngs(0)))
    cost = run.lower(state, setup[1]).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    xla = cost["flops"] / 64
    assert abs(hstu_rank.forward_flops(cfg) - xla) / xla < 0.10
    assert 0 < hstu_rank.attention_share(cfg) < 1


def test_recipe_axes_move_the_named_knobs():
    base = recipe.ModelKnobs(d_model=32, n_blocks=2, n_heads=2, rows=1024, head_mlp=(64, 32))
    assert recipe.AXES["horizontal"].overrides(48, base) == {"model.d_model": 48}
    assert recipe.AXES["horizontal"].overrides(7, base) == {"model.d_model": 8}
    assert recipe.AXES["mlp"].overrides(4, base) == {"model.n_blocks": 4}
    assert recipe.AXES["overarch"].overrides(128, base) == {"model.head_mlp": (128, 64)}
    assert recipe.AXES["overall"].overrides(2.0, base) == {
        "model.d_model": 64, "model.n_blocks": 4, "model.rows": 2048, "model.head_mlp": (128, 64),
    }


def test_trains_end_to_end_on_the_ctr_task_and_learns():
    from sweeps import runner, spec as spec_mod
    from sweeps.spec import PlannedTrial
    from sweeps.tasks import ctr

    tree = {
        "model": {"d_model": 8, "n_blocks": 1, "n_heads": 2, "rows": 512, "dense_mlp": [16], "head_mlp": [16]},
        "data": {"examples": 32768}, "optim": {"lr": 0.01}, "train": {"batch_size": 512},
    }
    cfg = spec_mod.build_config("hstu_rank", 0, tree, "base")
    rec = runner.run_trial(PlannedTrial(cfg, {}), "t")
    assert rec.status == "finished", rec.message
    assert rec.floor_ne < rec.final_metrics["ne"] < 0.97
    assert rec.curve[-1]["ne"] < rec.curve[0]["ne"]
    assert rec.params["total"] == hstu_rank.param_counts(ctr.model_config(cfg))["total"]
