import numpy as np
import pytest

from scaling import FitError, axis_code, bootstrap, fit_power_law, rank_axes

X = np.geomspace(1e5, 1e9, 9)


def axis_boot(alpha, beta, gamma, seed, noise=5e-4, x=X):
    y = (beta * x ** -alpha + gamma) * np.exp(np.random.default_rng(seed).normal(0, noise, x.size))
    fit = fit_power_law(x, y)
    return bootstrap(fit, x, y, n_resamples=100, seed=seed)


def test_ranking_orders_axes_and_declares_ties():
    boots = {
        "mlp": axis_boot(0.1, 0.5, 0.9, seed=0),
        "vertical": axis_boot(0.1, 4.0, 0.9, seed=1),
        "horizontal": axis_boot(0.1, 2.0, 0.9, seed=2),
        "overarch": axis_boot(0.1, 0.52, 0.9, seed=3),
    }
    ranking = rank_axes(boots)
    assert ranking.x_ref == pytest.approx(1e9)
    assert [g.code for g in ranking.gains][:2] == ["V", "H"]
    assert ranking.relations[:2] == (">", ">")
    assert ranking.relations[2] == "~"
    assert ranking.text in ("V > H > O ~ M", "V > H > M ~ O")
    for g in ranking.gains:
        assert g.lower <= g.gain <= g.upper
    assert ranking.warnings == ()


def test_gain_is_the_improvement_per_doubling_at_the_reference():
    boots = {"data": axis_boot(0.2, 3.0, 0.8, seed=4)}
    ranking = rank_axes(boots, x_ref=1e7)
    fit = boots["data"].fit
    assert ranking.gains[0].gain == pytest.approx(float(fit.predict(1e7) - fit.predict(2e7)))
    assert ranking.text == "D"


def test_reference_outside_an_axis_range_is_warned():
    boots = {"vertical": axis_boot(0.2, 3.0, 0.8, seed=5), "compute": axis_boot(0.2, 3.0, 0.8, seed=6, x=X * 1e5)}
    ranking = rank_axes(boots)
    assert ranking.x_ref == pytest.approx(1e9)
    assert any("compute" in w for w in ranking.warnings)


def test_axis_codes():
    assert [axis_code(a) for a in ("vertical", "horizontal", "overarch", "mlp", "overall", "data", "compute")] == \
        list("VHOMADC")
    assert axis_code("Over-Arch") == "O"
    assert axis_code("depth") == "depth"


def test_rank_axes_needs_axes():
    with pytest.raises(FitError):
        rank_axes({})
