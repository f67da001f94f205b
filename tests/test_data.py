import time

import numpy as np

from sweeps import spec as spec_mod
from sweeps.data.ctr_world import BLOCK, CTRWorld, WorldConfig
from sweeps.eval.ctr_metrics import expected_ne
from sweeps.tasks import ctr


def _same(a, b):
    return (
        np.array_equal(a.dense, b.dense)
        and np.array_equal(a.label, b.label)
        and all(np.array_equal(a.ids[k], b.ids[k]) for k in a.ids)
    )


def test_examples_are_pure_functions_of_seed_and_index(ctr_world):
    fresh = CTRWorld(WorldConfig())
    a = ctr_world.examples(0, BLOCK - 5, BLOCK + 300)
    b = fresh.examples(0, 0, 2 * BLOCK).slice(BLOCK - 5, BLOCK + 300)
    assert _same(a, b)


def test_larger_budgets_contain_smaller_ones():
    w = CTRWorld(WorldConfig())
    small = w.train(10_000)
    large = CTRWorld(WorldConfig()).train(50_000)
    assert _same(small, large.slice(0, 10_000))
    assert len(large) == 50_000


def test_other_seed_gives_other_world():
    a = CTRWorld(WorldConfig(seed=0)).train(1000)
    b = CTRWorld(WorldConfig(seed=1)).train(1000)
    assert not np.array_equal(a.label, b.label)


def test_eval_set_is_fixed_and_disjoint_from_training(ctr_world):
    ev = ctr_world.eval_set
    assert len(ev) == ctr_world.cfg.eval_examples
    assert not np.array_equal(ev.dense[:100], ctr_world.train(100).dense)
    assert _same(ev, CTRWorld(WorldConfig()).eval_set)


def test_feature_shapes_and_distributions(ctr_world):
    b = ctr_world.train(BLOCK)
    cfg = ctr_world.cfg
    assert b.dense.shape == (BLOCK, cfg.n_dense)
    assert b.ids["history"].shape == (BLOCK, cfg.history_len)
    for f in cfg.fields:
        ids = b.ids[f.name]
        assert ids.min() >= 0 and ids.max() < f.cardinality
    cards = sorted(f.cardinality for f in cfg.fields)
    assert cards[-1] / cards[0] >= 10  # very different cardinalities
    # Zipf: the most frequent user is far more frequent than the median one.
    counts = np.bincount(b.ids["user"], minlength=cfg.n_users)
    assert counts.max() > 50 * max(1, np.median(counts))
    assert 0.1 < b.label.mean() < 0.5


def test_labels_follow_the_teacher(ctr_world):
    b = ctr_world.train(4 * BLOCK)
    hi, lo = b.prob > 0.6, b.prob < 0.1
    assert b.label[hi].mean() > 0.6 and b.label[lo].mean() < 0.1
    assert abs(b.label.mean() - b.prob.mean()) < 0.01


def test_teacher_probabilities_score_exactly_the_bayes_ne(ctr_world):
    p = ctr_world.eval_set.prob.astype(np.float64)
    cfg = spec_mod.build_config("dlrm", 0, {}, "base")
    floor = ctr.floor(cfg, ctr_world)
    assert expected_ne(p, p) == floor
    assert 0.4 < floor < 0.9
    # Any other predictor scores worse.
    rng = np.random.default_rng(0)
    noisy = np.clip(p + rng.normal(0, 0.02, p.shape), 1e-4, 1 - 1e-4)
    assert expected_ne(noisy, p) > floor
    assert abs(expected_ne(np.full_like(p, p.mean()), p) - 1.0) < 1e-9


def test_a_million_examples_generate_in_seconds():
    w = CTRWorld(WorldConfig(seed=3))
    t = time.perf_counter()
    b = w.train(1 << 20)
    assert len(b) == 1 << 20
    assert time.perf_counter() - t < 30  # generous: seconds, not minutes, even on a loaded CI box
