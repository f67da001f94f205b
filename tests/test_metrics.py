import numpy as np
import pytest

from sweeps.eval import ctr_metrics as metrics


def test_auc_known_values():
    assert metrics.auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert metrics.auc(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 0.0
    assert metrics.auc(np.array([0.5, 0.5, 0.5, 0.5]), np.array([0, 1, 0, 1])) == 0.5
    # one inverted pair out of four
    assert metrics.auc(np.array([0.1, 0.6, 0.5, 0.9]), np.array([0, 0, 1, 1])) == 0.75


def test_ne_of_base_rate_is_one_and_log_loss_matches_formula():
    y = np.array([1, 0, 0, 0], dtype=float)
    assert metrics.ne(np.full(4, 0.25), y) == pytest.approx(1.0)
    q = np.array([0.7, 0.2, 0.1, 0.4])
    expected = -np.mean(np.log([0.7, 0.8, 0.9, 0.6]))
    assert metrics.log_loss(q, y) == pytest.approx(expected)


def test_ctr_metrics_calibration():
    y = np.array([1, 0, 0, 0], dtype=float)
    m = metrics.ctr_metrics(np.full(4, 0.5), y, np.full(4, 0.25))
    assert m["calibration"] == pytest.approx(2.0)
    assert m["ne"] > 1.0


def test_average_ranks_are_scipys_rankdata_with_ties():
    from scipy.stats import rankdata

    from sweeps.eval.ctr_metrics import average_ranks

    rng = np.random.default_rng(3)
    for x in (rng.random(257), rng.integers(0, 4, 1000).astype(np.float32), np.zeros(7), np.array([2.0])):
        assert np.array_equal(average_ranks(x), rankdata(x))
