"""Sparse, row-wise embedding updates agree with the dense optimisers where they should."""

import jax
import numpy as np
import pytest
from flax import nnx

from models import dlrm
from sweeps import runner, spec as spec_mod
from sweeps.errors import SpecError
from sweeps.spec import PlannedTrial
from sweeps.train import ctr as train, sparse as sparse_optim
from sweeps.train.optim import OptimConfig

STEPS, BATCH = 6, 64


def _cfg(rows=(50, 20), dim=4) -> dlrm.Config:
    # one one-hot field and one bag of 3: duplicates within a batch and within a bag
    return dlrm.Config(n_dense=3, fields=("a", "b"), rows=rows, bags=(0, 3), embed_dim=dim, bottom_mlp=(8,), top_mlp=(8,))


def _batches(ids_a: np.ndarray, ids_b: np.ndarray) -> dict:
    rng = np.random.default_rng(1)
    return {
        "inputs": {"dense": rng.standard_normal((STEPS, BATCH, 3)).astype(np.float32), "ids": {"a": ids_a, "b": ids_b}},
        "label": (rng.random((STEPS, BATCH)) < 0.4).astype(np.float32),
    }


def _zipf_batches(cfg: dlrm.Config) -> dict:
    rng = np.random.default_rng(0)
    a = (rng.zipf(1.3, (STEPS, BATCH)) % cfg.rows[0]).astype(np.int32)
    b = (rng.zipf(1.3, (STEPS, BATCH, 3)) % cfg.rows[1]).astype(np.int32)
    return _batches(a, b)


def _train(cfg: dlrm.Config, optim: OptimConfig, batches: dict, lr: float = 0.05):
    """Parameters (as one flat list, tables first-class) and losses after STEPS steps."""
    init, chunk, _ = train.program_set(cfg, "dlrm", optim, STEPS, BATCH)
    state, losses = chunk(init([0]), batches, np.ones(STEPS, bool), np.full(STEPS, lr, np.float32))
    params = nnx.state(train.make_core(cfg, "dlrm", optim).model(state))
    return [np.asarray(x) for x in jax.tree.leaves(params)], np.asarray(losses)


def _close(a, b, rtol, atol):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


def test_sparse_sgd_gives_the_numbers_of_dense_sgd():
    cfg = _cfg()
    batches = _zipf_batches(cfg)
    dense, dense_loss = _train(cfg, OptimConfig(name="sgd"), batches)
    sparse, sparse_loss = _train(cfg, OptimConfig(name="sgd", embeddings="sgd"), batches)
    np.testing.assert_allclose(sparse_loss, dense_loss, rtol=1e-6)
    _close(sparse, dense, rtol=1e-5, atol=1e-7)
    init = [np.asarray(x) for x in jax.tree.leaves(train.program_set(cfg, "dlrm", OptimConfig(name="sgd"), STEPS, BATCH)[0]([0]))]
    assert not np.allclose(dense[-1], init[-1])  # the comparison is not between untouched tables


def test_lazy_adam_is_adam_when_every_row_is_read_every_step():
    cfg = _cfg(rows=(8, 4))
    rng = np.random.default_rng(2)
    a = np.stack([rng.permutation(np.arange(BATCH) % 8) for _ in range(STEPS)]).astype(np.int32)
    b = np.stack([rng.permutation(np.arange(BATCH * 3) % 4).reshape(BATCH, 3) for _ in range(STEPS)]).astype(np.int32)
    batches = _batches(a, b)
    dense, dense_loss = _train(cfg, OptimConfig(name="adam"), batches, lr=0.01)
    lazy, lazy_loss = _train(cfg, OptimConfig(name="adam", embeddings="lazy_adam"), batches, lr=0.01)
    np.testing.assert_allclose(lazy_loss, dense_loss, rtol=1e-5)
    _close(lazy, dense, rtol=1e-4, atol=1e-6)


def test_lazy_adam_moves_only_the_rows_a_batch_reads():
    cfg = _cfg(rows=(1000, 20))
    rng = np.random.default_rng(3)
    # rows 0-49 are read in the first two steps only, rows 50-99 after, the rest never
    first = np.stack([rng.permutation(np.arange(BATCH) % 50) for _ in range(2)])
    a = np.concatenate([first, rng.integers(50, 100, (STEPS - 2, BATCH))]).astype(np.int32)
    b = rng.integers(0, 20, (STEPS, BATCH, 3)).astype(np.int32)
    batches, lr = _batches(a, b), 0.01
    table0 = np.asarray(train.make_core(cfg, "dlrm", OptimConfig(embeddings="lazy_adam")).init(0).tables[0])
    lazy, _ = _train(cfg, OptimConfig(name="adam", embeddings="lazy_adam"), batches, lr)
    dense, _ = _train(cfg, OptimConfig(name="adam"), batches, lr)
    lazy_a = next(x for x in lazy if x.shape == (1000, 4))
    dense_a = next(x for x in dense if x.shape == (1000, 4))
    np.testing.assert_array_equal(lazy_a[100:], table0[100:])  # never read: untouched
    # The top MLP's last layer starts at zero, so the first step's embedding gradient is
    # zero and the second step is Adam's first real one: each element moves by
    # lr * sqrt(1 + b2) / (1 + b1) (bias corrections at count 2). Lazy Adam then leaves
    # the row alone; dense Adam keeps moving it on its momentum.
    lazy_moved = np.abs(lazy_a[:50] - table0[:50])
    dense_moved = np.abs(dense_a[:50] - table0[:50])
    seen = lazy_moved > 0
    assert seen.mean() > 0.95
    bound = lr * np.sqrt(1.999) / 1.9  # eps only shrinks the step, where g is tiny
    assert np.all(lazy_moved[seen] <= bound * (1 + 1e-5))
    assert np.median(lazy_moved[seen]) == pytest.approx(bound, rel=1e-3)
    assert np.mean(dense_moved[seen] > 1.5 * lazy_moved[seen]) > 0.9


def test_rowwise_adagrad_with_width_one_is_adagrad():
    cfg = _cfg(dim=1)
    batches = _zipf_batches(cfg)
    dense, dense_loss = _train(cfg, OptimConfig(name="adagrad"), batches)
    rowwise, rowwise_loss = _train(cfg, OptimConfig(name="adagrad", embeddings="rowwise_adagrad"), batches)
    np.testing.assert_allclose(rowwise_loss, dense_loss, rtol=1e-5)
    _close(rowwise, dense, rtol=1e-4, atol=1e-6)


def test_rowwise_adagrad_update_matches_its_formula_with_duplicate_ids():
    rng = np.random.default_rng(4)
    rows, dim, lr, eps = 30, 5, 0.1, 1e-8
    table = rng.standard_normal((rows, dim)).astype(np.float32)
    acc = rng.uniform(0.1, 1.0, rows).astype(np.float32)
    idx = rng.integers(0, 10, (16, 3)).astype(np.int32)  # many duplicates
    g = rng.standard_normal((16, 3, dim)).astype(np.float32)
    init, update = sparse_optim.RULES["rowwise_adagrad"](OptimConfig(eps=eps))
    new_table, new_acc = jax.jit(update)(table, acc, idx, g, np.float32(lr), 1)

    summed = np.zeros((rows, dim), np.float64)
    np.add.at(summed, idx.reshape(-1), g.reshape(-1, dim))
    read = np.unique(idx)
    want_acc = acc.astype(np.float64)
    want_acc[read] += np.mean(summed[read] ** 2, axis=1)
    want_table = table.astype(np.float64)
    want_table[read] -= lr * summed[read] / np.sqrt(want_acc[read] + eps)[:, None]
    np.testing.assert_allclose(new_acc, want_acc, rtol=1e-5)
    np.testing.assert_allclose(new_table, want_table, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(init(table)), np.full(rows, sparse_optim.ADAGRAD_INIT, np.float32))


# tests/test_golden.py's tiny CTR shapes: its row-wise Adagrad program is the one below
TINY_MODEL = {"embed_dim": 4, "rows": 256, "bottom_mlp": [8], "top_mlp": [8]}
TINY_TRAIN = {"batch_size": 128, "chunk_steps": 8, "eval_points": 2}


def _trial(arch="dlrm", **over) -> PlannedTrial:
    tree = spec_mod.merge({"model": TINY_MODEL, "data": {"examples": 8192}, "optim": {"lr": 0.01}, "train": TINY_TRAIN},
                          over)
    if arch == "wide_deep":
        tree["model"] = {"embed_dim": 8, "rows": 8, "deep_mlp": [16]}
    return PlannedTrial(spec_mod.build_config(arch, 0, tree, "base"), {})


def test_a_sweep_trial_with_sparse_updates_trains_and_evaluates_like_the_dense_one():
    dense = runner.run_trial(_trial(optim={"name": "sgd", "lr": 0.1}), "t")
    sparse = runner.run_trial(_trial(optim={"name": "sgd", "lr": 0.1, "embeddings": "sgd"}), "t")
    assert dense.status == sparse.status == "finished", sparse.message
    assert sparse.final_metrics["ne"] == pytest.approx(dense.final_metrics["ne"], rel=1e-4)
    assert sparse.trial_id != dense.trial_id
    adagrad = runner.run_trial(_trial(optim={"embeddings": "rowwise_adagrad", "lr": 0.05}), "t")
    assert adagrad.status == "finished" and adagrad.final_metrics["ne"] < 0.99


def test_the_setting_is_validated_and_keeps_old_trial_ids():
    with pytest.raises(SpecError, match="optim.embeddings"):
        _trial(optim={"embeddings": "sparse_adam"})
    plain, explicit = _trial(), _trial(optim={"embeddings": "dense"})
    assert plain.config.trial_id == explicit.config.trial_id
    assert "embeddings" in plain.config.to_dict()["optim"]  # recorded, but not hashed at its default


def test_a_model_without_the_sparse_protocol_is_a_clear_error():
    rec = runner.run_trial(_trial("wide_deep", optim={"embeddings": "rowwise_adagrad"}), "t")
    assert rec.status == "failed"
    assert "does not support sparse embedding updates" in rec.message
