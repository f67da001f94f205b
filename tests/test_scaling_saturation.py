import numpy as np
import pytest

from scaling import FitError, assess_saturation, check_extrapolation, fit_power_law, seed_spread


def test_saturated_curve_is_called_saturated():
    x = np.geomspace(1e3, 1e7, 10)
    y = 0.3 * x ** -0.8 + 0.97
    y = y * np.exp(np.random.default_rng(0).normal(0, 1e-4, x.size))
    sat = assess_saturation(fit_power_law(x, y))
    assert sat.saturated
    assert sat.gain_per_doubling < sat.threshold
    assert sat.threshold_source == "relative"
    assert sat.x_threshold < sat.x_max and sat.doublings_left < 0
    assert sat.headroom < 1e-3


def test_still_improving_curve_is_not_saturated():
    x = np.geomspace(1e3, 1e7, 10)
    y = (0.12 * x ** -0.07 + 0.97) * np.exp(np.random.default_rng(1).normal(0, 1e-4, x.size))
    fit = fit_power_law(x, y)
    sat = assess_saturation(fit)
    assert not sat.saturated
    assert sat.gain_per_doubling > sat.threshold
    assert sat.x_threshold > sat.x_max and sat.doublings_left > 0
    assert sat.headroom > 0.01


def test_threshold_formula_and_noise_floor():
    x = np.geomspace(10, 1e5, 8)
    alpha, beta, gamma = 0.5, 2.0, 0.5
    fit = fit_power_law(x, beta * x ** -alpha + gamma)
    sat = assess_saturation(fit, noise=1e-3)
    assert sat.threshold == 1e-3 and sat.threshold_source == "noise"
    expected_gain = beta * 1e5 ** -alpha * (1 - 2 ** -alpha)
    assert sat.gain_per_doubling == pytest.approx(expected_gain, rel=1e-5)
    x_star = (beta * (1 - 2 ** -alpha) / 1e-3) ** (1 / alpha)
    assert sat.x_threshold == pytest.approx(x_star, rel=1e-4)
    assert float(fit.gain_per_doubling(sat.x_threshold)) == pytest.approx(1e-3, rel=1e-6)
    assert sat.headroom == pytest.approx(beta * 1e5 ** -alpha / gamma, rel=1e-5)
    assert sat.saturated == (expected_gain < 1e-3)


def test_higher_is_better_saturation_uses_the_ceiling():
    x = np.geomspace(1e3, 1e7, 10)
    auc = 1 - (0.2 * x ** -0.9 + 0.2)
    sat = assess_saturation(fit_power_law(x, auc, higher_is_better=True))
    assert sat.saturated


def test_seed_spread_pools_replicates():
    x = np.array([1, 1, 2, 2, 3])
    y = np.array([1.0, 1.2, 2.0, 2.4, 5.0])
    expected = np.sqrt((0.02 + 0.08) / 2)
    assert seed_spread(x, y) == pytest.approx(expected)
    assert seed_spread([1, 2, 3], [1, 2, 3]) is None


def test_saturation_rejects_bad_noise():
    x = np.geomspace(10, 1e5, 8)
    fit = fit_power_law(x, 2 * x ** -0.5 + 0.5)
    with pytest.raises(FitError, match="noise"):
        assess_saturation(fit, noise=0.0)


def test_extrapolation_check_predicts_held_out_largest_points():
    rng = np.random.default_rng(3)
    x = np.repeat(np.geomspace(1e3, 1e8, 8), 2)
    y = (4.0 * x ** -0.3 + 0.8) * np.exp(rng.normal(0, 0.002, x.size))
    check = check_extrapolation(x, y, holdout=2, n_resamples=150)
    assert check.x_held.size == 4 and np.all(check.x_held >= np.unique(x)[-2])
    assert check.fit.n_points == 12
    assert check.max_abs_rel_error < 0.01
    assert np.all(check.lower <= check.y_pred) and np.all(check.y_pred <= check.upper)
    assert check.fraction_within >= 0.75


def test_extrapolation_check_flags_a_broken_trend():
    x = np.geomspace(1e3, 1e8, 10)
    y = 4.0 * x ** -0.3 + 0.8
    y[-1] = 0.5
    check = check_extrapolation(x, y, holdout=1, n_resamples=100)
    assert not check.within[0]
    assert check.rel_error[0] > 0.5


def test_extrapolation_check_validates_holdout():
    x = np.geomspace(1, 1e4, 6)
    with pytest.raises(FitError, match="holdout"):
        check_extrapolation(x, 2 * x ** -0.5 + 1, holdout=6)
