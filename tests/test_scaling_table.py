import numpy as np
import pytest

from scaling import AxisData, FitError, seed_table


def axis(x, alpha, beta, gamma, seed, noise=1e-4, seeds_per_x=1):
    rng = np.random.default_rng(seed)
    xs = np.repeat(x, seeds_per_x)
    y = (beta * xs ** -alpha + gamma) * np.exp(rng.normal(0, noise, xs.size))
    groups = np.tile(np.arange(seeds_per_x), x.size) if seeds_per_x > 1 else None
    return AxisData(x=xs, y=y, groups=groups)


@pytest.fixture(scope="module")
def table():
    data_x = np.geomspace(1, 100, 8)
    params_x = np.geomspace(1e6, 1e9, 8)
    study = {
        "compute": {"mlp": axis(np.geomspace(1, 1e3, 8), 0.11, 0.13, 0.98, seed=9)},
        "data": {
            "vertical": axis(data_x, 0.07, 0.16, 0.97, seed=1),
            "horizontal": axis(data_x, 0.07, 0.12, 0.97, seed=2),
            "overarch": axis(data_x, 0.07, 0.08, 0.97, seed=3),
            "mlp": axis(data_x, 0.07, 0.04, 0.97, seed=4),
        },
        "parameter": {
            "vertical": axis(params_x, 0.5, 2.0, 0.97, seed=5, seeds_per_x=3),
            "horizontal": axis(params_x, 0.5, 2.0, 0.97, seed=6),
        },
    }
    return seed_table(study, n_resamples=60)


def test_rows_come_in_seed_order_with_recovered_ranges(table):
    assert [row.kind for row in table.rows] == ["data", "parameter", "compute"]
    data = table.rows[0]
    assert data.alpha[0] == pytest.approx(0.07, abs=0.01) and data.alpha[1] == pytest.approx(0.07, abs=0.01)
    assert data.beta[0] == pytest.approx(0.04, rel=0.15) and data.beta[1] == pytest.approx(0.16, rel=0.15)
    assert data.gamma[0] == pytest.approx(0.97, abs=0.005)
    assert data.r2[0] > 0.99


def test_saturation_and_best_approach_columns(table):
    data, parameter, compute = table.rows
    assert data.saturated == "no"
    assert data.best_approach == "V > H > O > M"
    assert parameter.saturated == "yes"
    assert parameter.best_approach == "V ~ H"
    assert compute.saturated == "no" and compute.best_approach == "-"


def test_replicated_axis_uses_seed_spread_as_noise_floor(table):
    replicated = [r for r in table.axes if r.kind == "parameter" and r.axis == "vertical"][0]
    assert replicated.saturation.threshold_source == "noise"
    assert replicated.bootstrap.grouped


def test_markdown_and_records(table):
    lines = table.markdown().strip().splitlines()
    assert lines[0] == "| scaling | alpha | beta | gamma | R^2 | saturated | best approach |"
    assert len(lines) == 5
    assert lines[2].startswith("| data | 0.0")
    assert lines[2].endswith("| no | V > H > O > M |")
    records = table.records()
    assert [r["scaling"] for r in records] == ["data", "parameter", "compute"]
    assert records[0]["axes"] == "V,H,O,M"
    assert records[1]["saturated"] == "yes"
    assert set(records[0]) >= {"alpha_min", "alpha_max", "beta_min", "gamma_max", "r2_min", "best_approach"}


def test_bad_axis_is_named_in_the_error():
    with pytest.raises(FitError, match="data / vertical: too few points"):
        seed_table({"data": {"vertical": AxisData(x=[1, 2, 3], y=[3, 2, 1])}})
