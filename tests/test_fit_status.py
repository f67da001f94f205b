"""The reading of an axis' law (scaling.fit_status): fits, flat or not identified, on curves
with known parameters, and how often each reading is wrong at the quickstart's noise."""

import numpy as np
import pytest
from scipy import stats

from scaling import analyse_axis
from scaling.fit_status import fit_status, trend

X = np.repeat(2.0 ** np.arange(15, 22), 2)  # 7 points, 2 seeds: the quickstart data axis


def _curve(rng, *, beta, alpha, gamma, sd):
    return beta * (X / X[0]) ** -alpha + gamma + rng.normal(0, sd, X.size)


def test_a_clean_power_law_fits():
    a = analyse_axis(X, _curve(np.random.default_rng(0), beta=0.2, alpha=0.4, gamma=0.5, sd=0.001), n_resamples=100)
    s = fit_status(a)
    assert s.status == "fits" and s.reason == "" and a.fit.r2 >= 0.95
    assert s.trend.lower > 0  # the metric falls: a gain


def test_noise_around_a_constant_is_flat_and_says_whether_gains_are_ruled_out():
    quiet = analyse_axis(X, 0.7 + np.random.default_rng(1).normal(0, 1e-4, X.size), n_resamples=100)
    s = fit_status(quiet)
    assert s.status == "flat" and s.trend.lower <= 0 <= s.trend.upper
    assert "ruled out" in s.reason and "too noisy" not in s.reason  # |slope| interval ~1e-5 << 1e-3
    noisy = analyse_axis(X, 0.7 + np.random.default_rng(2).normal(0, 0.02, X.size), n_resamples=100)
    s = fit_status(noisy)
    assert s.status == "flat" and "too noisy to rule out gains of 0.001" in s.reason


def test_a_trend_no_law_follows_is_not_identified_with_its_reasons():
    # a step: flat, then a drop of 0.05 in the middle, then flat again; the laws miss it
    y = np.where(X < 2**18, 0.75, 0.70) + np.random.default_rng(3).normal(0, 0.002, X.size)
    a = analyse_axis(X, y, n_resamples=100)
    s = fit_status(a)
    assert s.status == "not identified"
    assert "R^2" in s.reason or "search limit" in s.reason or "lower bound" in s.reason or "no law" in s.reason
    assert s.trend.lower > 0 and "trend" in s.reason
    assert s.record()["status"] == "not identified" and s.record()["trend"]["interval"][0] == s.trend.lower


def test_trend_is_the_least_squares_slope_per_doubling_with_a_t_interval():
    x = np.array([1.0, 2, 4, 8, 16])
    y = np.array([1.0, 0.9, 0.8, 0.7, 0.6]) + np.array([0.01, -0.01, 0, 0.01, -0.01])
    t = trend(x, y)
    slope, intercept, r, p, se = stats.linregress(np.log2(x), y)
    assert t.per_doubling == pytest.approx(-slope, rel=1e-12)  # lower is better: a falling metric gains
    half = stats.t.ppf(0.975, 3) * se
    assert (t.lower, t.upper) == pytest.approx((-slope - half, -slope + half), rel=1e-10)
    assert t.doublings == 4
    assert trend(x, 1 - y, higher_is_better=True).per_doubling == pytest.approx(t.per_doubling, rel=1e-12)
    assert trend(x[:2], y[:2]) is None


def test_flat_readings_are_calibrated_at_quickstart_noise():
    # 7 points over 6 doublings, 2 seeds, seed sd 0.005: the slope's standard error is
    # 0.005 / sqrt(56) = 6.7e-4 per doubling. With no trend the 95% interval contains 0 in
    # 95% of replicates (binomial sd over 400: 1.1%); with a true gain of 0.004 per
    # doubling (6 SE) it says flat with probability ~1e-4.
    rng = np.random.default_rng(4)

    def flat_share(gain):
        hits = 0
        for _ in range(400):
            t = trend(X, 0.75 - gain * np.log2(X / X[0]) + rng.normal(0, 0.005, X.size))
            hits += t.lower <= 0 <= t.upper
        return hits / 400

    assert 0.91 <= flat_share(0.0) <= 0.99
    assert flat_share(0.004) <= 0.01
