import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from models import hstu, sasrec
from sweeps.data.ctr_world import WorldConfig
from sweeps.data.seq_world import SeqConfig, SeqWorld, leave_one_out
from sweeps.eval import ranking as retrieval
from sweeps.tasks.retrieval import AdamWConfig
from sweeps.train import seq as train_seq

L, D = 32, 32
FAST = train_seq.TrainConfig(epochs=10, batch_size=64)
OPTIM = AdamWConfig(lr=5e-3)
EVAL_BATCH = 512


def _train(model_cfg, split, cfg=FAST, optim=OPTIM, arch="hstu", seed=0):
    return train_seq.train(arch, seed, cfg, optim, model_cfg, split, eval_batch=EVAL_BATCH)


@pytest.fixture(scope="module")
def split():
    return leave_one_out(SeqWorld(SeqConfig(world=WorldConfig(n_items=300), max_len=L, min_len=10)).users(1024))


@pytest.fixture(scope="module")
def popularity(split):
    scores = retrieval.popularity_scores(split.train_ids, split.n_items)
    return retrieval.metrics_from_ranks(retrieval.score_ranks(scores, split.test.target, split.test.history_ids))


def _hstu(split, **kw):
    return hstu.Config(**{"n_items": split.n_items, "max_len": L, "d_model": D, "n_blocks": 2, "dropout": 0.2, **kw})


def _sasrec(split):
    return sasrec.Config(n_items=split.n_items, max_len=L, d_model=D, n_blocks=2, dropout=0.2)


@pytest.fixture(scope="module")
def hstu_run(split):
    return _train(_hstu(split), split)


def _check_run(r, split, popularity, min_hr10):
    assert r.status == "finished" and FAST.epochs == len(r.curve)
    oracle = retrieval.oracle_metrics(split.test)
    assert min_hr10 < r.final["hr@10"] < oracle["hr@10"]
    assert 1.25 * popularity["hr@10"] < r.final["hr@10"]
    assert 1.25 * popularity["ndcg@10"] < r.final["ndcg@10"] < oracle["ndcg@10"]
    assert r.final["mrr"] < oracle["mrr"]
    assert oracle["nll"] < r.final["nll"] < np.log(split.n_items)
    chosen = max(r.curve, key=lambda c: c["ndcg@10"])
    assert r.selected_epoch == chosen["epoch"]
    assert r.selected == {k: v for k, v in chosen.items() if k not in ("epoch", "step", "train_loss")}
    assert r.validation == r.selected  # what per-point selection chooses by: the chosen epoch's validation
    assert r.curve[-1]["train_loss"] < r.curve[0]["train_loss"]


def test_hstu_learns_the_sequences(hstu_run, split, popularity):
    _check_run(hstu_run, split, popularity, min_hr10=0.22)
    steps = -(-len(split.train_ids) // FAST.batch_size)
    assert hstu_run.steps == FAST.epochs * steps
    assert hstu_run.examples_seen == FAST.epochs * len(split.train_ids)
    windows = np.minimum(split.train_length, L + 1)
    assert hstu_run.positions_seen == FAST.epochs * int((windows - 1).sum())


def test_sasrec_learns_the_sequences(split, popularity):
    _check_run(_train(_sasrec(split), split, arch="sasrec"), split, popularity, 0.16)


def test_same_seed_same_numbers_and_another_seed_differs(split):
    cfg = dataclasses.replace(FAST, epochs=2)
    a = _train(_hstu(split), split, cfg)
    b = _train(_hstu(split), split, cfg)
    c = _train(_hstu(split), split, cfg, seed=1)
    assert a.curve == b.curve and a.final == b.final
    assert a.curve != c.curve
    assert b.compile_seconds == 0.0  # the compiled programs are reused


def test_a_huge_learning_rate_is_recorded_as_diverged(split):
    r = _train(_hstu(split), split, dataclasses.replace(FAST, epochs=2), dataclasses.replace(OPTIM, lr=1e38))
    assert r.status == "diverged" and "non-finite" in r.message
    assert r.final == {} and r.selected == {}


def test_evaluation_runs_the_model_without_dropout(split):
    cfg = _hstu(split)
    width = split.test.history_ids.shape[1]
    init, _, rank = train_seq.program_set(cfg, "hstu", FAST, OPTIM, split.n_items, width)
    state = init(3)
    ids, ts, target, history = train_seq.query_arrays(split.test.head(EVAL_BATCH), L, width)
    got, got_logp = (np.asarray(a) for a in rank(state, ids, ts, target, history))
    model = hstu.Model(cfg, rngs=nnx.Rngs(3))
    embed = nnx.jit(lambda m, ids, ts: m.user_embedding({"ids": ids, "timestamps": ts}))
    model.eval()
    u = embed(model, ids, ts)
    items = model.item_embeddings(jnp.arange(split.n_items))
    want = retrieval.rank_by_dot(np.asarray(u), items, target, history)
    # Two XLA programs may round the scores differently by an ulp: a rank may move only by
    # the items whose score ties the target's within float32 rounding (unit-norm users).
    scores = np.asarray(u) @ np.asarray(items).T
    own = scores[np.arange(len(target)), np.asarray(target)]
    near_ties = (np.abs(scores - own[:, None]) < 1e-5).sum(1) - 1
    assert np.all(np.abs(got - want) <= near_ties)
    assert np.mean(got == want) > 0.95
    want_logp = np.asarray(retrieval.target_logp(jnp.asarray(scores) / FAST.temperature, target, history))
    np.testing.assert_allclose(got_logp, want_logp, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(got, np.asarray(rank(state, ids, ts, target, history)[0]))  # same program
    model.train()
    assert not np.allclose(embed(model, ids, ts), u)


def test_training_arrays_hold_next_items_of_the_most_recent_window(split):
    ids, ts, target = train_seq.training_arrays(split, 8)
    for u in range(50):
        seq = split.train_ids[u, : split.train_length[u]][-9:]
        n = len(seq) - 1
        np.testing.assert_array_equal(ids[u, :n], seq[:-1])
        np.testing.assert_array_equal(target[u, :n], seq[1:])
        assert not ids[u, n:].any() and not target[u, n:].any()
        np.testing.assert_array_equal(ts[u, :n], split.train_ts[u, : split.train_length[u]][-9:-1])
