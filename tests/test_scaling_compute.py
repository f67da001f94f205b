import numpy as np
import pytest

from scaling import FitError, compute_frontier, isoflop_analysis

E, A, B, a, b = 1.82, 482.0, 2085.0, 0.348, 0.366


def chinchilla_loss(n, d):
    return E + A * n ** -a + B * d ** -b


def test_isoflop_parabola_recovers_a_known_optimum_exactly():
    sizes, values, budgets = [], [], []
    for budget, n_star in ((1e18, 1e7), (1e19, 4e7), (1e20, 1.6e8)):
        s = np.log(np.geomspace(n_star / 10, n_star * 10, 7))
        sizes.append(np.exp(s))
        values.append(2.0 + 0.03 * (s - np.log(n_star)) ** 2)
        budgets.append(np.full(s.size, budget))
    result = isoflop_analysis(np.concatenate(sizes), np.concatenate(values), np.concatenate(budgets))
    np.testing.assert_allclose([p.n_opt for p in result.parabolas], [1e7, 4e7, 1.6e8], rtol=1e-8)
    np.testing.assert_allclose([p.value_opt for p in result.parabolas], 2.0, rtol=1e-10)
    assert result.exponent == pytest.approx(np.log10(4), rel=1e-8)
    assert result.n_opt(1e19) == pytest.approx(4e7, rel=1e-8)
    assert result.warnings == ()


def test_isoflop_recovers_chinchilla_allocation_exponent():
    sizes, values, budgets = [], [], []
    rng = np.random.default_rng(0)
    g = (a * A / (b * B)) ** (1 / (a + b))
    for budget in np.geomspace(1e18, 1e22, 5):
        n_star = g * (budget / 6) ** (b / (a + b))
        n = np.geomspace(n_star / 4, n_star * 4, 9)
        sizes.append(n)
        values.append(chinchilla_loss(n, budget / (6 * n)) * np.exp(rng.normal(0, 5e-4, n.size)))
        budgets.append(np.full(n.size, budget))
    result = isoflop_analysis(np.concatenate(sizes), np.concatenate(values), np.concatenate(budgets))
    assert result.exponent == pytest.approx(b / (a + b), abs=0.03)
    assert all(p.interior for p in result.parabolas)
    assert result.r2 > 0.99


def test_isoflop_higher_is_better_finds_maxima_and_reports_skips():
    s = np.log(np.geomspace(1e6, 1e8, 5))
    sizes = np.concatenate([np.exp(s), np.exp(s), [1e6, 1e7]])
    values = np.concatenate([0.8 - 0.01 * (s - np.log(1e7)) ** 2, 0.85 - 0.01 * (s - np.log(3e7)) ** 2, [0.7, 0.71]])
    budgets = np.concatenate([np.full(5, 1e18), np.full(5, 1e19), [1e20, 1e20]])
    result = isoflop_analysis(sizes, values, budgets, higher_is_better=True)
    assert [p.n_opt for p in result.parabolas] == pytest.approx([1e7, 3e7], rel=1e-8)
    assert any("needs 3" in w for w in result.warnings)
    with pytest.raises(FitError, match="one length"):
        isoflop_analysis(sizes, values[:-1], budgets)


def test_isoflop_flags_optimum_outside_sampled_sizes():
    s = np.log(np.geomspace(1e6, 1e7, 5))
    result = isoflop_analysis(np.exp(s), 2.0 + 0.03 * (s - np.log(1e9)) ** 2, np.full(5, 1e18))
    assert not result.parabolas[0].interior
    assert np.isnan(result.exponent)
    assert any("outside" in w for w in result.warnings)


def test_compute_frontier_is_the_lower_envelope_and_fits_a_law():
    rng = np.random.default_rng(1)
    flops = np.geomspace(1e15, 1e21, 12)
    best = 3.0 * flops ** -0.1 + 0.5
    frontier_flops = np.concatenate([flops, flops * 1.01, flops])
    losses = np.concatenate([best, best + 0.2, best + rng.uniform(0.01, 0.3, flops.size)])
    frontier = compute_frontier(frontier_flops, losses)
    np.testing.assert_array_equal(frontier.indices, np.arange(12))
    assert np.all(np.diff(frontier.values) < 0)
    assert frontier.fit.alpha == pytest.approx(0.1, rel=1e-4)
    assert frontier.fit.gamma == pytest.approx(0.5, rel=1e-4)


def test_compute_frontier_drops_dominated_trials_and_handles_higher_is_better():
    flops = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 5.0])
    auc = np.array([0.60, 0.70, 0.65, 0.68, 0.75, 0.74])
    frontier = compute_frontier(flops, auc, higher_is_better=True)
    np.testing.assert_array_equal(frontier.indices, [0, 1, 4])
    assert frontier.fit is None and "frontier points" in frontier.warnings[0]
