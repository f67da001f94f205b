import numpy as np
import pytest

from scaling import FitError, bootstrap, fit_log_linear, fit_power_law
from scaling.bootstrap import resample_weights

ALPHA, BETA, GAMMA = 0.3, 5.0, 0.8
X = np.geomspace(1e4, 1e8, 10)


def curve(x):
    return BETA * x ** -ALPHA + GAMMA


def test_intervals_contain_the_truth_and_the_estimate():
    y = curve(X) * np.exp(np.random.default_rng(0).normal(0, 0.003, X.size))
    fit = fit_power_law(X, y)
    boot = bootstrap(fit, X, y, n_resamples=200, x_pred=[1e6])
    assert boot.n_failed == 0 and boot.samples.shape == (200, 3)
    for name, truth in zip(("alpha", "beta", "gamma"), (ALPHA, BETA, GAMMA)):
        lo, hi = boot.interval(name)
        assert lo <= truth <= hi
        assert lo <= fit.params[name] <= hi
    assert boot.pred_lower[0] <= curve(1e6) <= boot.pred_upper[0]
    assert boot.std("alpha") > 0


def test_interval_width_shrinks_with_less_noise():
    rng = np.random.default_rng(1)
    widths = []
    for noise in (0.01, 0.001):
        y = curve(X) * np.exp(rng.normal(0, noise, X.size))
        boot = bootstrap(fit_power_law(X, y), X, y, n_resamples=200)
        lo, hi = boot.interval("alpha")
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 3


def test_group_resample_weights_keep_each_seed_whole():
    groups = np.tile(np.array(["s0", "s1", "s2", "s3"]), 5)
    rng = np.random.default_rng(0)
    for _ in range(50):
        w = resample_weights(groups.size, groups, rng)
        for g in np.unique(groups):
            assert np.unique(w[groups == g]).size == 1
        assert w.sum() == groups.size
    w = resample_weights(7, None, rng)
    assert w.sum() == 7 and np.all(w == np.round(w))


def test_grouped_bootstrap_covers_truth_with_seed_correlated_errors():
    rng = np.random.default_rng(2)
    seeds = np.tile(np.arange(5), 6)
    x = np.repeat(np.geomspace(1e4, 1e8, 6), 5)
    y = curve(x) * np.exp(rng.normal(0, 0.005, 5)[seeds] + rng.normal(0, 0.0005, x.size))
    fit = fit_power_law(x, y)
    boot = bootstrap(fit, x, y, groups=seeds, n_resamples=150, seed=3)
    assert boot.grouped and boot.n_failed == 0
    for name, truth in zip(("alpha", "gamma"), (ALPHA, GAMMA)):
        lo, hi = boot.interval(name)
        assert lo <= truth <= hi


def test_log_linear_bootstrap_matches_ols_standard_error():
    rng = np.random.default_rng(4)
    x = np.geomspace(1, 1e6, 40)
    y = 0.15 + 0.0195 * np.log(x) + rng.normal(0, 0.01, x.size)
    fit = fit_log_linear(x, y, higher_is_better=True)
    boot = bootstrap(fit, x, y, n_resamples=1000)
    lx = np.log(x)
    resid = y - fit.predict(x)
    se_b = np.sqrt(np.sum(resid ** 2) / (x.size - 2) / np.sum((lx - lx.mean()) ** 2))
    assert boot.std("b") == pytest.approx(se_b, rel=0.2)
    lo, hi = boot.interval("b")
    assert lo <= 0.0195 <= hi


def test_gain_per_doubling_samples_centre_on_the_fit():
    y = curve(X) * np.exp(np.random.default_rng(5).normal(0, 0.002, X.size))
    fit = fit_power_law(X, y)
    boot = bootstrap(fit, X, y, n_resamples=200)
    gains = boot.gain_per_doubling_samples(1e6)
    assert np.all(gains > 0)
    assert np.median(gains) == pytest.approx(float(fit.gain_per_doubling(1e6)), rel=0.15)


def test_bootstrap_rejects_mismatched_data_and_bad_settings():
    y = curve(X)
    fit = fit_power_law(X, y)
    with pytest.raises(FitError, match="points the fit was made from"):
        bootstrap(fit, X[:-1], y[:-1])
    with pytest.raises(FitError, match="level"):
        bootstrap(fit, X, y, level=1.5)
    with pytest.raises(FitError, match="groups"):
        bootstrap(fit, X, y, groups=np.zeros(X.size))


def test_coverage_of_95_percent_intervals_is_near_nominal():
    rng = np.random.default_rng(6)
    n_rep, hits_alpha, hits_pred = 30, 0, 0
    for rep in range(n_rep):
        y = curve(X) * np.exp(rng.normal(0, 0.003, X.size))
        boot = bootstrap(fit_power_law(X, y), X, y, n_resamples=100, x_pred=[1e6], seed=rep)
        lo, hi = boot.interval("alpha")
        hits_alpha += lo <= ALPHA <= hi
        hits_pred += boot.pred_lower[0] <= curve(1e6) <= boot.pred_upper[0]
    assert 0.8 <= hits_alpha / n_rep <= 1.0
    assert 0.8 <= hits_pred / n_rep <= 1.0


def test_unconverged_refits_are_dropped_and_counted(monkeypatch):
    import scaling.power_law as power_law

    y = curve(X) * np.exp(np.random.default_rng(7).normal(0, 0.003, X.size))
    fit = fit_power_law(X, y)
    monkeypatch.setitem(power_law._LBFGS_OPTIONS, "maxiter", 1)
    with pytest.raises(FitError, match="bootstrap refits converged"):
        bootstrap(fit, X, y, n_resamples=20)
