"""The batch least-squares fits, AICc, identification, the choice of law, the verdict rule and
the measured gain, each against numbers worked out by hand or known by construction."""

import numpy as np
import pytest

from scaling import FitError, aicc, analyse_axis, judge, measured_gain
from scaling.batch_fit import ALPHA_MAX, fit_batch

X = np.repeat(2.0 ** np.arange(7), 2)


@pytest.mark.parametrize("law, e, expect", [
    ("power_law", 0.3 * X ** -0.7 + 0.7, {"alpha": 0.7, "gamma": 0.7}),
    ("pure_power_law", 2.0 * X ** -0.2, {"alpha": 0.2}),
])
def test_batch_fits_recover_noiseless_laws(law, e, expect):
    f = fit_batch(law, X, e, np.ones((1, X.size)))
    for name, value in expect.items():
        assert getattr(f, name)[0] == pytest.approx(value, abs=2e-4)  # the grid and parabola: 3e-5 here
    assert f.rss[0] < 1e-6 and not f.at_limit[0]  # against a total sum of squares of ~0.1
    assert f.error(X)[0] == pytest.approx(e, abs=1e-4)


def test_log_linear_is_exact_and_rows_are_independent_weightings():
    e = 1.5 - 0.04 * np.log(X)
    w = np.ones((3, X.size))
    w[1, X == X.max()] = 0.0  # leave-largest-out
    w[2] = np.arange(X.size) % 3  # any weighting of an exact line returns the line
    f = fit_batch("log_linear", X, e, w)
    assert f.c == pytest.approx([-0.04] * 3) and f.rss == pytest.approx([0.0] * 3, abs=1e-20)
    assert f.gain_per_doubling(64.0) == pytest.approx([0.04 * np.log(2)] * 3)


def test_the_floor_respects_its_bounds():
    e = 0.3 * X ** -0.7 + 0.7
    f = fit_batch("power_law", X, e, np.ones((1, X.size)), gamma_lo=0.8)
    assert f.gamma[0] == pytest.approx(0.8) and f.b[0] >= 0
    g = fit_batch("power_law", X, e, np.ones((1, X.size)), gamma_hi=0.5)
    assert g.gamma[0] <= 0.5 + 1e-12


def test_a_step_puts_the_exponent_at_its_search_limit_and_out_of_the_headline():
    y = np.where(X < 2, 0.9, 0.7) + np.tile([1e-3, -1e-3], 7)
    a = analyse_axis(X, y, n_resamples=50)
    floor = a.law("power_law")
    assert floor.batch.alpha[0] == pytest.approx(ALPHA_MAX) and not floor.identified
    assert floor.reason == f"exponent at its search limit ({ALPHA_MAX:g})"
    assert a.chosen != "power_law"


def test_a_straight_line_in_ln_x_leaves_the_floor_not_identified():
    rng = np.random.default_rng(3)
    y = 0.9 - 0.01 * np.log(X) + rng.normal(0, 0.003, X.size)
    a = analyse_axis(X, y, gamma_min=0.5, n_resamples=100)
    floor = a.law("power_law")
    assert not floor.identified and floor.reason.startswith("floor not identified")
    assert a.chosen in ("log_linear", "pure_power_law")


def test_aicc_by_hand():
    # n = 10, p = 3 -> K = 4: 10 ln(0.02 / 10) + 8 + 40 / 5
    assert aicc(0.02, 10, 3) == pytest.approx(10 * np.log(0.002) + 8 + 8)
    assert aicc(0.02, 5, 3) == np.inf  # n <= K + 1
    assert aicc(0.02, 12, 2) - aicc(0.02, 12, 3) == pytest.approx(-2 - (40 / 7 - 24 / 8))


def test_the_floor_law_wins_on_a_bending_curve_and_the_line_on_a_line():
    rng = np.random.default_rng(0)
    bend = analyse_axis(X, 0.3 * X ** -1.0 + 0.7 + rng.normal(0, 1e-3, X.size), n_resamples=50)
    assert bend.chosen == "power_law" and bend.fit.params["alpha"] == pytest.approx(1.0, abs=0.1)
    assert abs(bend.fit.llo_error) < 0.005
    line = analyse_axis(X, 1.0 - 0.02 * np.log(X) + rng.normal(0, 1e-3, X.size), n_resamples=50)
    assert line.chosen == "log_linear" or "log_linear" in line.close


@pytest.mark.parametrize("samples, verdict", [
    ([np.linspace(0.0, 0.0009, 200)], "saturated"),
    ([np.linspace(0.0011, 0.01, 200)], "not saturated"),
    ([np.linspace(0.0005, 0.002, 200)], "undetermined"),
    ([np.linspace(0.0, 0.0009, 200), np.linspace(0.0005, 0.0015, 200)], "undetermined"),  # ensembles disagree
])
def test_verdict_rule(samples, verdict):
    v = judge(0.0, samples, min_gain=1e-3)
    assert v.verdict == verdict
    pooled = np.concatenate(samples)
    assert v.p_below == pytest.approx(np.mean(pooled < 1e-3))
    assert v.text == f"{verdict} (P(gain < min) = {v.p_below:.2f})"


def test_verdict_rejects_a_bad_threshold():
    with pytest.raises(FitError, match="min_gain"):
        judge(0.0, [[0.0, 1.0]], min_gain=0.0)


def test_measured_gain_over_the_last_step():
    x = np.array([1, 1, 2, 2, 8, 8], dtype=float)
    y = np.array([0.90, 0.92, 0.85, 0.87, 0.80, 0.78])
    m = measured_gain(x, y)
    assert (m.x_from, m.x_to) == (2.0, 8.0)
    assert m.gain == pytest.approx(0.86 - 0.79) and m.per_doubling == pytest.approx(0.07 / 2)
    spread = np.sqrt(6 * 0.01**2 / 3)  # pooled within-x sd: each pair differs by 0.02, 3 degrees of freedom
    assert m.seed_spread == pytest.approx(spread)
    assert m.se == pytest.approx(spread * np.sqrt(1 / 2 + 1 / 2) / 2)
    assert measured_gain(x, 1 - y, higher_is_better=True).gain == pytest.approx(0.07)
    assert measured_gain([1, 2, 4], [3.0, 2.0, 1.5]).se is None


def test_too_few_points_is_an_error_and_four_identify_no_law():
    with pytest.raises(FitError, match="too few points: 3 given"):
        analyse_axis([1, 2, 4], [4.0, 3.0, 2.0])
    a = analyse_axis([1, 2, 4, 8], [4.0, 3.0, 2.2, 1.5], n_resamples=20)
    assert a.chosen is None and a.fit is None and not any(f.identified for f in a.laws)
    assert a.verdict.verdict == "undetermined" and a.verdict.text == "undetermined (no law identified)"
    assert a.measured.per_doubling == pytest.approx(0.7)
    assert a.predict_samples([1.0, 2.0]).shape == (0, 2)
