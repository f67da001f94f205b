"""Stochastic Length in wall time: a length-bucketed chunk (``sweeps.train.seq.bucketed_chunk``)
trains to the numbers of the chunk it splits.

Tolerance: with dropout off and SGD, the two programs sum the same float32 terms in a
different grouping (the loss over two parts, matmuls over narrower rows), so losses and
parameters after two steps agree to a few ulps (~1e-7 relative); rtol 1e-5 / atol 1e-6
leaves a margin of 10-100 and fails on any real change (a dropped row or target moves the
loss by > 1e-3)."""

import jax
import numpy as np

from models import hstu
from sweeps.train import seq as train_seq
from sweeps.train.optim import OptimConfig

N_ITEMS, L, B, C = 30, 12, 8, 2


def _chunk():
    rng = np.random.default_rng(0)
    lengths = np.array([[3, 12, 4, 4, 12, 2, 5, 4], [4, 4, 3, 4, 1, 4, 4, 10]])  # the two steps' rows
    ids = np.zeros((C, B, L + 1), np.int32)
    for c, b in np.ndindex(C, B):
        ids[c, b, : lengths[c, b] + 1] = rng.integers(1, N_ITEMS, lengths[c, b] + 1)
    ts = np.where(ids != 0, np.cumsum(rng.integers(1, 10**5, ids.shape), -1), 0).astype(np.int32)
    has_next = ids[..., 1:] != 0
    return {"ids": ids[..., :-1] * has_next, "ts": ts[..., :-1] * has_next, "target": ids[..., 1:]}


def test_bucketed_chunk_parts():
    batch = _chunk()
    parts = train_seq.bucketed_chunk(batch, 8)["parts"]
    short, long = parts
    assert short["ids"].shape == (C, B, 8) and long["ids"].shape == (C, B // 4, L)
    long_rows = (batch["ids"] != 0).sum(-1) > 8
    for c in range(C):
        np.testing.assert_array_equal(long["target"][c][: long_rows[c].sum()], batch["target"][c][long_rows[c]])
        assert np.all(long["ids"][c][long_rows[c].sum():] == 0)
        np.testing.assert_array_equal(short["target"][c][~long_rows[c]], batch["target"][c][~long_rows[c], :8])
        assert np.all(short["ids"][c][long_rows[c]] == 0)
    assert sum((p["target"] != 0).sum() for p in parts) == (batch["target"] != 0).sum()
    only_short = train_seq.bucketed_chunk({k: a[..., :8] for k, a in batch.items()}, 8)["parts"]
    assert len(only_short) == 1


def test_short_width():
    assert train_seq.short_width(1.5, 200) == 56  # floor(201 ** 0.75) = 53, rounded up to 8s
    assert train_seq.short_width(2.0, 50) == 50


def test_bucketed_steps_give_the_unbucketed_losses_and_parameters():
    model_cfg = hstu.Config(n_items=N_ITEMS, max_len=L, d_model=8, n_blocks=1, n_heads=1, dropout=0.0)
    cfg = train_seq.TrainConfig(batch_size=B, n_negatives=6, chunk_steps=C)
    init, train_chunk, _ = train_seq.program_set(model_cfg, "hstu", cfg, OptimConfig(name="sgd"), N_ITEMS, 1)
    batch = _chunk()
    args = (jax.random.key(0), None, np.arange(C, dtype=np.int32), np.ones(C, bool), np.full(C, 0.5, np.float32))
    runs = {}
    for name, b in {"plain": batch, "bucketed": train_seq.bucketed_chunk(batch, 8)}.items():
        state, losses = train_chunk(init(0), args[0], b, *args[2:])
        runs[name] = (np.asarray(losses), jax.tree.leaves(state[0]))
    (losses, params), (losses_b, params_b) = runs["plain"], runs["bucketed"]
    assert losses[1] < losses[0] - 1e-3  # the first step changed the parameters
    np.testing.assert_allclose(losses_b, losses, rtol=1e-5)
    for p, p_b in zip(params, params_b):
        np.testing.assert_allclose(p_b, p, rtol=1e-5, atol=1e-6)
    assert len(train_chunk.compiled) == 2
