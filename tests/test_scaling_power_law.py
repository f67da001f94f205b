import numpy as np
import pytest

from scaling import FitError, PowerLawFit, fit_power_law, fit_pure_power_law

ALPHA, BETA, GAMMA = 0.3, 5.0, 0.8


def noisy_curve(seed: int, noise: float = 0.002, n: int = 10, seeds_per_x: int = 1):
    rng = np.random.default_rng(seed)
    x = np.repeat(np.geomspace(1e4, 1e8, n), seeds_per_x)
    y = (BETA * x ** -ALPHA + GAMMA) * np.exp(rng.normal(0.0, noise, x.size))
    return x, y


def test_recovers_known_parameters_from_noisy_points():
    x, y = noisy_curve(0)
    fit = fit_power_law(x, y)
    assert isinstance(fit, PowerLawFit)
    assert fit.converged and fit.warnings == ()
    assert fit.alpha == pytest.approx(ALPHA, abs=0.04)
    assert fit.beta == pytest.approx(BETA, rel=0.4)
    assert fit.gamma == pytest.approx(GAMMA, abs=0.01)
    assert fit.r2 > 0.99
    assert fit.n_points == 10 and fit.n_params == 3
    assert not fit.gamma_at_bound
    assert fit.rmse < 0.005


def test_exact_data_recovered_to_high_precision():
    x = np.geomspace(10, 1e6, 8)
    fit = fit_power_law(x, BETA * x ** -ALPHA + GAMMA)
    assert fit.alpha == pytest.approx(ALPHA, rel=1e-5)
    assert fit.beta == pytest.approx(BETA, rel=1e-4)
    assert fit.gamma == pytest.approx(GAMMA, rel=1e-6)
    np.testing.assert_allclose(fit.predict(x), BETA * x ** -ALPHA + GAMMA, rtol=1e-7)


def test_replicate_seeds_at_same_x_are_all_used():
    x, y = noisy_curve(1, seeds_per_x=3, n=6)
    fit = fit_power_law(x, y)
    assert fit.n_points == 18
    assert fit.alpha == pytest.approx(ALPHA, abs=0.05)
    assert fit.gamma == pytest.approx(GAMMA, abs=0.01)


@pytest.mark.parametrize("scale", [1e-6, 1e-3, 1e3, 1e9])
def test_rescaling_x_leaves_alpha_gamma_and_shifts_beta(scale):
    x, y = noisy_curve(2)
    base = fit_power_law(x, y)
    scaled = fit_power_law(x * scale, y)
    assert scaled.alpha == pytest.approx(base.alpha, rel=1e-6)
    assert scaled.gamma == pytest.approx(base.gamma, rel=1e-6)
    assert scaled.beta == pytest.approx(base.beta * scale ** base.alpha, rel=1e-6)
    np.testing.assert_allclose(scaled.predict(x * scale), base.predict(x), rtol=1e-9)


def test_rescaling_y_scales_beta_and_gamma():
    x, y = noisy_curve(3)
    base = fit_power_law(x, y)
    scaled = fit_power_law(x, 100.0 * y)
    assert scaled.alpha == pytest.approx(base.alpha, rel=1e-6)
    assert scaled.gamma == pytest.approx(100.0 * base.gamma, rel=1e-6)
    assert scaled.beta == pytest.approx(100.0 * base.beta, rel=1e-6)


def test_gamma_min_is_respected_and_flagged():
    x, y = noisy_curve(4)
    fit = fit_power_law(x, y, gamma_min=0.85)
    assert fit.gamma == pytest.approx(0.85, abs=1e-9)
    assert fit.gamma_at_bound
    assert fit.gamma_min == 0.85


def test_floorless_data_puts_gamma_on_zero_bound():
    x = np.geomspace(1, 1e4, 9)
    y = 2.0 * x ** -0.5 * np.exp(np.random.default_rng(5).normal(0, 0.002, x.size))
    fit = fit_power_law(x, y)
    assert fit.gamma_at_bound
    assert fit.gamma < 1e-6
    assert fit.alpha == pytest.approx(0.5, abs=0.01)


def test_gamma_max_caps_the_floor():
    x, y = noisy_curve(6)
    fit = fit_power_law(x, y, gamma_max=0.5)
    assert fit.gamma <= 0.5 + 1e-12
    assert any("gamma reached its upper bound" in w for w in fit.warnings)


def test_pure_power_law_has_zero_floor_and_two_parameters():
    x = np.geomspace(1, 1e4, 9)
    y = 2.0 * x ** -0.5
    fit = fit_pure_power_law(x, y)
    assert fit.gamma == 0.0 and fit.n_params == 2 and not fit.gamma_at_bound
    assert fit.alpha == pytest.approx(0.5, rel=1e-6)
    assert fit.beta == pytest.approx(2.0, rel=1e-6)


def test_higher_is_better_fits_the_error_and_approaches_a_ceiling():
    x = np.geomspace(1e3, 1e7, 10)
    auc = 1.0 - (0.4 * x ** -0.25 + 0.2)
    fit = fit_power_law(x, auc, higher_is_better=True)
    assert fit.alpha == pytest.approx(0.25, rel=1e-4)
    assert fit.beta == pytest.approx(0.4, rel=1e-3)
    assert fit.gamma == pytest.approx(0.2, rel=1e-4)
    assert fit.asymptote == pytest.approx(0.8, rel=1e-4)
    np.testing.assert_allclose(fit.predict(x), auc, rtol=1e-7)
    assert np.all(fit.gain_per_doubling(x) > 0)
    assert fit.r2 == pytest.approx(1.0, abs=1e-9)


def test_gain_per_doubling_matches_the_curve():
    x, y = noisy_curve(7)
    fit = fit_power_law(x, y)
    np.testing.assert_allclose(fit.gain_per_doubling(1e6), fit.predict(1e6) - fit.predict(2e6), rtol=1e-9)


@pytest.mark.parametrize(
    "x, y, message",
    [
        ([1, 2, 3], [3, 2, 1], "too few points"),
        ([1, 2, 3, 4], [3, 2, 1], "mismatched lengths"),
        ([1, 0, 3, 4, 5], [5, 4, 3, 2, 1], "x must be positive"),
        ([1, -2, 3, 4, 5], [5, 4, 3, 2, 1], "x must be positive"),
        ([1, np.nan, 3, 4, 5], [5, 4, 3, 2, 1], "x has non-finite"),
        ([1, 2, 3, 4, 5], [5, np.inf, 3, 2, 1], "y has non-finite"),
        ([1, 2, 3, 4, 5], [5, 4, np.nan, 2, 1], "y has non-finite"),
        ([1, 2, 3, 4, 5], [2, 2, 2, 2, 2], "all y values are equal"),
        ([1, 1, 2, 2, 2], [5, 4, 3, 2, 1], "too few distinct x"),
        ([1, 2, 3, 4, 5], [5, 4, 0, 2, 1], "y > 0"),
        ([[1, 2], [3, 4]], [[1, 2], [3, 4]], "1-D"),
    ],
)
def test_bad_input_raises_fit_error_naming_the_problem(x, y, message):
    with pytest.raises(FitError, match=message):
        fit_power_law(x, y)


def test_fit_error_is_a_value_error():
    assert issubclass(FitError, ValueError)


def test_higher_is_better_needs_values_below_one():
    with pytest.raises(FitError, match="1 - y"):
        fit_power_law([1, 2, 3, 4, 5], [0.5, 0.6, 0.7, 0.8, 1.2], higher_is_better=True)


def test_direction_contradicting_the_data_raises():
    x = np.geomspace(1, 1e4, 10)
    falling = 0.9 - 0.05 * np.log(x) / np.log(1e4)
    with pytest.raises(FitError, match="contradicts"):
        fit_power_law(x, falling, higher_is_better=True)
    with pytest.raises(FitError, match="contradicts"):
        fit_power_law(x, 1.0 + 0.1 * np.log(x))


def test_flat_noisy_curve_warns_instead_of_raising():
    x = np.geomspace(1, 1e4, 10)
    y = 0.8 + np.array([0.0, 1, -1, 0, 1, -1, 2, -1, 1, 0.5]) * 1e-4
    fit = fit_power_law(x, y)
    assert any("does not improve" in w for w in fit.warnings)


def test_invalid_bounds_raise():
    x, y = noisy_curve(8)
    with pytest.raises(FitError, match="gamma_min must be >= 0"):
        fit_power_law(x, y, gamma_min=-1.0)
    with pytest.raises(FitError, match="below gamma_min"):
        fit_power_law(x, y, gamma_min=0.5, gamma_max=0.4)


def test_unconverged_optimiser_is_reported_not_hidden(monkeypatch):
    import scaling.power_law as power_law

    monkeypatch.setitem(power_law._LBFGS_OPTIONS, "maxiter", 1)
    x, y = noisy_curve(9)
    fit = fit_power_law(x, y)
    assert not fit.converged
    assert any("did not converge" in w for w in fit.warnings)
