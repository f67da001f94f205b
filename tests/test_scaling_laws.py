import numpy as np
import pytest

from scaling import FitError, LogLinearFit, compare_laws, fit_law, fit_log_linear
from scaling.goodness import aic, bic, r_squared, rmse


def test_log_linear_recovers_hstu_form():
    c = np.geomspace(1e-2, 1e2, 12)
    hr = 0.15 + 0.0195 * np.log(c)
    fit = fit_log_linear(c, hr, higher_is_better=True)
    assert isinstance(fit, LogLinearFit)
    assert fit.a == pytest.approx(0.15, abs=1e-12)
    assert fit.b == pytest.approx(0.0195, rel=1e-10)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.gain_per_doubling(1.0) == pytest.approx(0.0195 * np.log(2))
    np.testing.assert_allclose(fit.predict(c), hr, atol=1e-12)


def test_log_linear_lower_is_better_ne():
    c = np.geomspace(1e-2, 1e2, 12)
    ne = 0.549 - 5.3e-3 * np.log(c) + np.random.default_rng(0).normal(0, 1e-4, c.size)
    fit = fit_log_linear(c, ne)
    assert fit.b == pytest.approx(-5.3e-3, rel=0.03)
    assert fit.gain_per_doubling(1.0) > 0


def test_log_linear_rescaling_x_changes_only_a():
    c = np.geomspace(1, 1e4, 9)
    y = 0.3 + 0.01 * np.log(c) + np.random.default_rng(1).normal(0, 1e-3, c.size)
    base = fit_log_linear(c, y, higher_is_better=True)
    scaled = fit_log_linear(c * 1e6, y, higher_is_better=True)
    assert scaled.b == pytest.approx(base.b, rel=1e-9)
    assert scaled.a == pytest.approx(base.a - base.b * np.log(1e6), rel=1e-9)


def test_log_linear_rejects_contradicted_direction():
    c = np.geomspace(1, 1e4, 9)
    with pytest.raises(FitError, match="contradicts"):
        fit_log_linear(c, 0.5 - 0.02 * np.log(c), higher_is_better=True)


def test_log_linear_needs_three_points():
    with pytest.raises(FitError, match="too few points"):
        fit_log_linear([1, 2], [0.1, 0.2])


def test_compare_laws_prefers_the_generating_law():
    x = np.geomspace(1e3, 1e8, 15)
    rng = np.random.default_rng(2)
    with_floor = (3.0 * x ** -0.4 + 0.7) * np.exp(rng.normal(0, 1e-3, x.size))
    ranked = compare_laws(x, with_floor)
    assert ranked[0].law == "power_law"
    assert [r.aic for r in ranked] == sorted(r.aic for r in ranked)
    log_lin = 0.2 + 0.01 * np.log(x) + rng.normal(0, 1e-3, x.size)
    ranked = compare_laws(x, log_lin, laws=("pure_power_law", "log_linear"), higher_is_better=True)
    assert ranked[0].law == "log_linear"


def test_fit_law_rejects_unknown_names():
    with pytest.raises(FitError, match="unknown law"):
        fit_law("cubic", [1, 2, 3, 4], [4, 3, 2, 1])


def test_goodness_measures_on_known_residuals():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.0, 2.0, 3.0, 5.0])
    assert rmse(y, pred) == pytest.approx(0.5)
    assert r_squared(y, pred) == pytest.approx(1 - 1 / 5)
    assert aic(y, pred, 2) == pytest.approx(4 * np.log(1 / 4) + 4)
    assert bic(y, pred, 2) == pytest.approx(4 * np.log(1 / 4) + 2 * np.log(4))
