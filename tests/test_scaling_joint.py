import numpy as np
import pytest

from scaling import FitError, JointFit, bootstrap_joint, compute_optimal, fit_joint_law

TRUE = {"E": 1.82, "A": 482.0, "B": 2085.0, "a": 0.348, "b": 0.366}


def grid(noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    n, d = (v.ravel() for v in np.meshgrid(np.geomspace(1e6, 1e9, 7), np.geomspace(1e8, 1e11, 7)))
    loss = TRUE["E"] + TRUE["A"] * n ** -TRUE["a"] + TRUE["B"] * d ** -TRUE["b"]
    return n, d, loss * np.exp(rng.normal(0, noise, n.size))


def test_joint_law_recovers_exact_parameters():
    fit = fit_joint_law(*grid(0.0))
    assert fit.converged and fit.warnings == ()
    for name, value in TRUE.items():
        assert getattr(fit, name) == pytest.approx(value, rel=1e-5)
    assert fit.r2 == pytest.approx(1.0)


def test_joint_law_recovers_parameters_within_bootstrap_intervals():
    n, d, loss = grid(0.003, seed=1)
    fit = fit_joint_law(n, d, loss)
    assert fit.a == pytest.approx(TRUE["a"], abs=0.03)
    assert fit.b == pytest.approx(TRUE["b"], abs=0.03)
    assert fit.E == pytest.approx(TRUE["E"], rel=0.02)
    boot = bootstrap_joint(fit, n, d, loss, n_resamples=80, seed=2)
    assert boot.n_failed == 0
    for name, value in TRUE.items():
        lo, hi = boot.interval(name)
        assert lo <= value <= hi, name
    lo, hi = boot.n_opt_exponent_interval()
    assert lo <= TRUE["b"] / (TRUE["a"] + TRUE["b"]) <= hi


def test_joint_law_is_invariant_to_rescaling_n_and_d():
    n, d, loss = grid(0.002, seed=3)
    base = fit_joint_law(n, d, loss)
    scaled = fit_joint_law(n / 1e6, d / 1e8, loss)
    assert scaled.a == pytest.approx(base.a, rel=1e-4)
    assert scaled.b == pytest.approx(base.b, rel=1e-4)
    assert scaled.E == pytest.approx(base.E, rel=1e-4)
    assert scaled.A == pytest.approx(base.A * 1e-6 ** base.a, rel=1e-3)


def test_compute_optimal_matches_closed_form_for_6nd():
    fit = JointFit(**TRUE, r2=1.0, rmse=0.0, n_points=49, converged=True, warnings=(), loss=0.0, delta=1e-3)
    budgets = np.geomspace(1e18, 1e24, 7)
    opt = compute_optimal(fit, budgets, lambda n: 6.0 * n)
    a, b, A, B = TRUE["a"], TRUE["b"], TRUE["A"], TRUE["B"]
    g = (a * A / (b * B)) ** (1 / (a + b))
    np.testing.assert_allclose(opt.n_opt, g * (budgets / 6) ** (b / (a + b)), rtol=1e-6)
    np.testing.assert_allclose(opt.n_opt * 6 * opt.d_opt, budgets, rtol=1e-12)
    assert opt.n_exponent == pytest.approx(fit.n_opt_exponent, rel=1e-6)
    assert opt.d_exponent == pytest.approx(fit.d_opt_exponent, rel=1e-6)
    assert opt.warnings == ()


def test_compute_optimal_accepts_measured_flops_arrays():
    fit = JointFit(**TRUE, r2=1.0, rmse=0.0, n_points=49, converged=True, warnings=(), loss=0.0, delta=1e-3)
    n_measured = np.array([3e7, 1e8, 3e8])
    budgets = np.geomspace(1e16, 1e24, 5)
    from_arrays = compute_optimal(fit, budgets, (n_measured, 6.0 * n_measured))
    from_callable = compute_optimal(fit, budgets, lambda n: 6.0 * n)
    np.testing.assert_allclose(from_arrays.n_opt, from_callable.n_opt, rtol=1e-6)
    assert from_arrays.n_opt.min() < 3e7 and from_arrays.n_opt.max() > 3e8


def test_compute_optimal_shifts_with_costlier_examples():
    fit = JointFit(**TRUE, r2=1.0, rmse=0.0, n_points=49, converged=True, warnings=(), loss=0.0, delta=1e-3)
    budgets = np.geomspace(1e18, 1e22, 3)
    plain = compute_optimal(fit, budgets, lambda n: 6.0 * n)
    overhead = compute_optimal(fit, budgets, lambda n: 6.0 * n + 1e9)
    assert np.all(overhead.d_opt < plain.d_opt)
    assert np.all(overhead.loss_opt > plain.loss_opt)


def test_compute_optimal_warns_at_search_edge():
    fit = JointFit(**TRUE, r2=1.0, rmse=0.0, n_points=49, converged=True, warnings=(), loss=0.0, delta=1e-3)
    opt = compute_optimal(fit, [1e30], lambda n: 6.0 * n, n_bounds=(1.0, 1e6))
    assert "n_bounds" in opt.warnings[0]


@pytest.mark.parametrize(
    "n, d, loss, message",
    [
        ([1, 2, 3], [1, 2, 3], [3, 2, 1], "too few points"),
        ([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, np.nan], "loss has non-finite"),
        ([1, 2, 3, 4, 5, 0], [1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], "n must be positive"),
        ([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1], [6, 5, 4, 3, 2, 1], "2 distinct"),
        ([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [2, 2, 2, 2, 2, 2], "all loss values are equal"),
        ([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5], [6, 5, 4, 3, 2, 1], "one length"),
    ],
)
def test_joint_law_bad_input(n, d, loss, message):
    with pytest.raises(FitError, match=message):
        fit_joint_law(n, d, loss)
