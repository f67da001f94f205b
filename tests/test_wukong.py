from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from draws import normal
from flax import nnx

from models import wukong
from sweeps import runner, store, tasks
from sweeps import spec as spec_mod
from sweeps.recipes import wukong as recipe
from sweeps.tasks import ctr
from sweeps.train import ctr as train
from sweeps.train.optim import OptimConfig

TINY = dict(embed_dim=8, rows=300, n_dense_emb=2, dense_mlp=(16,), n_layers=2, n_fm=3, n_lc=5, fm_rank=4, fmb_mlp=(16,), top_mlp=(12,))


def _cfg(ctr_world, **kw) -> wukong.Config:
    return recipe.build(recipe.ModelKnobs(**{**TINY, **kw}), ctr_world.cfg.n_dense, ctr_world.fields)


@pytest.fixture(scope="module")
def setup(ctr_world):
    return _cfg(ctr_world), jax.tree.map(jnp.asarray, ctr_world.train(64).as_inputs())


def _apply(model):
    graphdef, state = nnx.split(model)
    return jax.jit(lambda s, b: nnx.merge(graphdef, s)(b)), state


def test_optimised_fm_equals_the_naive_one():
    x, y = normal(0, (4, 7, 16), (7, 5))
    x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
    exact = np.einsum("bnd,bmd,mk->bnk", x64, x64, y64)
    fast, naive = np.asarray(wukong.fm(x, y)), np.asarray(wukong.fm_naive(x, y))
    # Each output sums n*d = 112 products of O(1) terms (|entries| up to ~50): float32
    # rounding in either order stays well below 1e-4 absolute; a wrong contraction is O(10).
    scale = np.abs(exact).max()
    np.testing.assert_allclose(fast, exact, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(naive, exact, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(fast, naive, rtol=0, atol=2e-5 * scale)
    # the tolerance is tight enough to see one entry of Y moved by 0.01
    assert not np.allclose(fast, np.asarray(wukong.fm_naive(x, y.at[0, 0].add(1e-2))), rtol=0, atol=2e-5 * scale)


def test_shapes_through_the_stack(setup):
    cfg, batch = setup
    graphdef, state = nnx.split(wukong.Model(cfg, rngs=nnx.Rngs(0)))

    @jax.jit
    def stack(state, batch):
        model = nnx.merge(graphdef, state)
        x0 = model.inputs_x0(batch["dense"], model.embed(batch["ids"]))
        x1 = model.layers[0](x0)
        return x0, x1, model.layers[1](x1), model(batch)

    x0, x1, x2, out = stack(state, batch)
    assert cfg.n_inputs == 2 + 5 and x0.shape == (64, 7, 8)
    assert x1.shape == x2.shape == (64, cfg.n_fm + cfg.n_lc, 8) == (64, 8, 8)
    model = nnx.merge(graphdef, state)
    assert model.layers[0].residual is not None and model.layers[1].residual is None
    assert out.shape == (64,) and np.all(np.isfinite(np.asarray(out)))
    # each output embedding is LayerNorm-ed over d: mean ~0, variance ~1 (scale 1, bias 0 at init)
    np.testing.assert_allclose(np.asarray(x1.mean(-1)), 0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(x1.var(-1)), 1, rtol=1e-3)


def test_bags_sum_pooled_and_ids_hashed_modulo_rows(setup):
    cfg, batch = setup
    model = wukong.Model(cfg, rngs=nnx.Rngs(0))
    h = cfg.fields.index("history")
    table = model.tables[h].embedding[...]
    expected = table[batch["ids"]["history"] % cfg.rows[h]].sum(axis=1)
    run, state = _apply(model)
    graphdef = nnx.graphdef(model)
    pooled = jax.jit(lambda s, ids: nnx.merge(graphdef, s).embed(ids)[h])(state, batch["ids"])
    np.testing.assert_allclose(np.asarray(pooled), np.asarray(expected), rtol=1e-6)
    shifted = dict(batch, ids={k: v + r for (k, v), r in zip(batch["ids"].items(), cfg.rows)})
    np.testing.assert_allclose(np.asarray(run(state, batch)), np.asarray(run(state, shifted)), rtol=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(n_layers=3, n_fm=4, n_lc=3, embed_dim=4, fmb_mlp=(8, 6), top_mlp=(8, 4))])
def test_param_counts_equal_parameter_tree(ctr_world, kw):
    cfg = _cfg(ctr_world, **kw)
    model = nnx.eval_shape(lambda: wukong.Model(cfg, rngs=nnx.Rngs(0)))  # shapes only
    total = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
    emb = sum(t.embedding.size for t in model.tables)
    counts = wukong.param_counts(cfg)
    assert (counts["total"], counts["embedding"], counts["dense"]) == (total, emb, total - emb)
    assert emb == sum(min(300, f.cardinality) for f in ctr_world.fields) * cfg.embed_dim


@pytest.mark.parametrize("kw", [dict(), dict(embed_dim=32, n_layers=3, n_fm=16, n_lc=8, fm_rank=16, fmb_mlp=(256, 128), top_mlp=(128,))])
def test_analytic_flops_match_xla_cost_analysis(ctr_world, kw):
    cfg = _cfg(ctr_world, **kw)
    batch = jax.tree.map(jnp.asarray, ctr_world.train(128).as_inputs())
    graphdef, state = nnx.split(nnx.eval_shape(lambda: wukong.Model(cfg, rngs=nnx.Rngs(0))))
    fwd = jax.jit(lambda s, b: nnx.merge(graphdef, s)(b))
    cost = fwd.lower(state, batch).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    xla = cost["flops"] / 128
    assert abs(wukong.forward_flops(cfg) - xla) / xla < 0.10


def test_rowwise_adagrad_updates_only_the_rows_read_and_lowers_the_loss(ctr_world):
    cfg = _cfg(ctr_world, n_layers=1)  # one layer: the tables and their updates do not depend on depth
    steps, bs = 16, 128
    b = ctr_world.train(steps * bs)
    batches = jax.tree.map(lambda a: np.asarray(a).reshape(steps, bs, *a.shape[1:]), {"inputs": b.as_inputs(), "label": b.label})
    opt = OptimConfig(name="adam", embeddings="rowwise_adagrad")
    init, chunk, _ = train.program_set(cfg, "wukong", opt, steps, bs)
    mask, lr = np.ones(steps, bool), np.full(steps, 0.03, np.float32)
    ctx = cfg.fields.index("user")  # 2000 users hashed into 300 rows: 270 of them read
    state0 = init([0])
    table0, acc0 = np.array(state0.tables[ctx]), np.array(state0.table_opt[ctx])  # chunk donates its state
    state1, first = chunk(state0, batches, mask, lr)
    table1, acc1 = np.array(state1.tables[ctx]), np.array(state1.table_opt[ctx])
    _, second = chunk(state1, batches, mask, lr)
    # a second pass over the same batches: the batch noise cancels, the learning does not
    assert np.mean(second) < np.mean(first) - 0.01
    read = np.unique(np.asarray(batches["inputs"]["ids"]["user"]) % cfg.rows[ctx])
    unread = np.setdiff1d(np.arange(cfg.rows[ctx]), read)
    assert len(unread) > 10
    changed = np.flatnonzero(np.abs(table1 - table0).max(axis=1) > 0)
    # only rows read move; nearly all of them do (the first step's gradients are exactly zero,
    # the final MLP's last layer starting at zero, so a row read only then stays put)
    assert set(changed) <= set(read) and len(changed) > 0.9 * len(read)
    # one row-wise accumulator per row (it starts at 0.1; early increments ~1e-8 may round
    # away in float32), touched only where read
    assert acc1.shape == (cfg.rows[ctx],)
    np.testing.assert_array_equal(acc1[unread], acc0[unread])
    assert np.all(acc1[read] >= acc0[read]) and acc1[read].sum() > acc0[read].sum()


def test_recipe_axes_move_the_named_knobs():
    base = recipe.ModelKnobs(embed_dim=16, rows=2048, n_layers=2, n_fm=8, n_lc=6, fm_rank=4, fmb_mlp=(64, 32), top_mlp=(64, 32))
    ax = recipe.AXES
    assert ax["horizontal"].overrides(32, base) == {"model.embed_dim": 32}
    assert ax["vertical"].overrides(4096, base) == {"model.rows": 4096}
    assert ax["mlp"].overrides(128, base) == {"model.fmb_mlp": (128, 64)}
    assert ax["overarch"].overrides(32, base) == {"model.top_mlp": (32, 16)}
    assert ax["depth"].overrides(5, base) == {"model.n_layers": 5}
    widths = lambda f: {"model.n_fm": round(8 * f), "model.n_lc": round(6 * f), "model.fm_rank": round(4 * f),
                        "model.fmb_mlp": (round(64 * f), round(32 * f)), "model.top_mlp": (round(64 * f), round(32 * f))}
    # dense upscaling: depth first (base widths), up to MAX_LAYERS; then the widths together
    assert ax["overall"].overrides(1, base) == {"model.n_layers": 2, **widths(1)}
    assert ax["overall"].overrides(2, base) == {"model.n_layers": 4, **widths(1)}
    assert ax["overall"].overrides(4, base) == {"model.n_layers": 8, **widths(1)}
    assert ax["overall"].overrides(8, base) == {"model.n_layers": 8, **widths(2)}
    assert ax["overall"].overrides(0.25, base) == {"model.n_layers": 1, **widths(0.5)}
    assert not any(k in ("model.embed_dim", "model.rows") for k in ax["overall"].overrides(8, base))
    assert set(recipe.AXES) == {"horizontal", "vertical", "mlp", "overarch", "depth", "overall"}


SPECS = Path(__file__).resolve().parent.parent / "sweeps" / "specs"
QUICK = SPECS / "dlrm_vs_wukong_quick.yaml"


def test_trains_end_to_end_on_the_ctr_task_and_learns():
    # The quick study's smallest Wukong trial (overall 0.25: one layer, 32768 examples in batches
    # of 256), run alone through run_trial: the same programs as the quick study's, so the
    # compilation cache serves whichever of the two tests runs second.
    (trial,) = [t for t in spec_mod.expand(spec_mod.load(QUICK)) if t.config.arch == "wukong" and t.axes == {"overall": 0.25}]
    cfg = trial.config
    rec = runner.run_trial(trial, "t")
    assert rec.status == "finished", rec.message
    assert rec.floor_ne < rec.final_metrics["ne"] < 0.97
    assert rec.curve[-1]["ne"] < rec.curve[0]["ne"]
    assert rec.params == wukong.param_counts(ctr.model_config(cfg))
    assert rec.flops_per_example["train"] == 3 * wukong.forward_flops(ctr.model_config(cfg))


def test_full_study_spans_a_decade_and_a_half_of_compute_for_both():
    trials = spec_mod.expand(spec_mod.load(SPECS / "dlrm_vs_wukong.yaml"))
    iso = [t for t in trials if "compute" in t.axes]
    budgets = {t.axes["compute"] for t in iso}
    assert max(budgets) / min(budgets) >= 10**1.5
    for budget in budgets:
        at = [t for t in iso if t.axes["compute"] == budget]
        assert {t.config.arch for t in at} == {"dlrm", "wukong"}
        for t in at:
            assert abs(tasks.train_flops_per_example(t.config) * t.config.data.examples - budget) / budget <= 0.1
    grown = [t for t in trials if "overall" in t.axes and "compute" not in t.axes]
    assert {t.config.arch for t in grown} == {"dlrm", "wukong"} and {t.config.seed for t in trials} == {0, 1}


def test_quick_study_runs_and_every_trial_learns(tmp_path):
    summary = runner.run(spec_mod.load(QUICK), tmp_path, log=lambda m: None)
    records = list(store.read_all(tmp_path))
    assert summary.finished == len(records) == summary.total == 12
    for arch in ("dlrm", "wukong"):
        mine = [r for r in records if r.arch == arch]
        assert {r.axes.get("overall") for r in mine} == {0.25, 0.5}
        assert {r.axes["compute"] for r in mine if "compute" in r.axes} == {1e9, 3e9}
    for r in records:
        assert r.status == "finished", r.message
        assert r.flops_per_example["train"] > 0 and r.train_flops == pytest.approx(r.flops_per_example["train"] * r.examples_seen)
        assert r.floor_ne < r.final_metrics["ne"] < 1
        if "compute" in r.axes:
            assert abs(r.train_flops - r.axes["compute"]) / r.axes["compute"] <= 0.1


def test_row_sharding_finds_exactly_the_tables(ctr_world):
    """sweeps.train.sharding splits the leaves under a ``tables`` key by rows (test_sharding
    trains DLRM so on 8 simulated devices); the Wukong tables, and nothing else, live there."""
    from sweeps.train import sharding

    cfg = _cfg(ctr_world)
    state = nnx.state(nnx.eval_shape(lambda: wukong.Model(cfg, rngs=nnx.Rngs(0))))
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    tables = [leaf.shape for path, leaf in leaves if sharding._is_table(path)]
    assert sorted(tables) == sorted((r, cfg.embed_dim) for r in cfg.rows)
