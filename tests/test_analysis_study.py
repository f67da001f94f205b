"""The seed-table study, compute frontier, isoFLOP and architecture comparison on records
made from known laws (analysis.synthetic): fitted values are checked against the truth."""

import numpy as np
import pytest
from scipy.optimize import brentq

from analysis import compare, compute, study, synthetic
from scaling import FitError, SeedRow, SeedTable

BAYES = 0.5
PARAM_AXES = {"vertical": (1.0, 60.0), "horizontal": (1.0, 50.0), "overarch": (1.0, 40.0), "mlp": (1.0, 30.0)}
JOINT = dict(E=0.55, A=7.2, a=0.3, B=20.0, b=0.3)  # N_opt grows as C^(b/(a+b)) = C^0.5


def study_records(arch="dlrm", sweep="synthetic"):
    kw = dict(seeds=(0, 1), noise=0.001, floor_ne=BAYES, arch=arch, sweep=sweep)
    recs = synthetic.axis_records("data", 2 ** np.arange(15, 22), alpha=0.25, beta=5.0, gamma=0.55, **kw)
    for i, (axis, (alpha, beta)) in enumerate(PARAM_AXES.items()):
        recs += synthetic.axis_records(axis, [4, 8, 16, 32, 64, 128, 256], alpha=alpha, beta=beta, gamma=0.7,
                                       rng_seed=i + 1, **kw)
    budgets = [1e10, 3e10, 1e11, 3e11, 1e12]
    recs += synthetic.isoflop_records("mlp", budgets, [2, 4, 8, 16, 32, 64, 128, 256], **JOINT, **kw)
    recs += synthetic.isoflop_records("horizontal", budgets, [2, 4, 8, 16, 32, 64, 128, 256],
                                      **{**JOINT, "B": 40.0}, **kw)
    return recs


@pytest.fixture(scope="module")
def built():
    return study.build_study(study_records(), n_resamples=40)


def test_seed_table_recovers_the_laws_and_the_form(built):
    table = built.table
    assert [row.kind for row in table.rows] == ["data", "parameter", "compute"]
    data, parameter, compute_row = table.rows
    laws = {(r.kind, r.axis): r.analysis for r in table.axes}
    assert laws[("data", "data")].chosen == "power_law"
    assert laws[("data", "data")].fit.params["alpha"] == pytest.approx(0.25, abs=0.02)
    assert laws[("data", "data")].fit.params["gamma"] == pytest.approx(0.55, abs=0.01)
    # true gain per doubling at 2^21 examples: 0.021, twenty times the threshold
    assert data.verdict == "not saturated"
    # alpha 1: a doubling at the largest size buys ~1e-4, a tenth of the threshold, at noise 0.1%
    assert parameter.verdict == "saturated"
    assert set(parameter.axes) == set(PARAM_AXES)
    for axis in PARAM_AXES:
        assert laws[("parameter", axis)].fit.params["alpha"] == pytest.approx(1.0, abs=0.15)
    assert parameter.cells["x"] == "total parameters (H, V); dense parameters (O, M)"  # axes in canonical order
    assert compute_row.axes == ("horizontal", "mlp") and compute_row.verdict == "not saturated"
    # The ranking is by gain per doubling: the approach with the larger data term (B = 40 for
    # horizontal) sits further above its floor at equal compute, so a doubling buys more there.
    assert compute_row.cells["best approach"] == "H > M"
    assert not built.skipped


def test_study_fits_hold_points_in_the_rows_units(built):
    params = built.row_fits("parameter")
    assert set(params) == set(PARAM_AXES)
    # MLP and over-arch grow the dense part: their x is dense parameters (half of these records' total)
    assert params["mlp"].points.x_kind == "dense_params" and params["mlp"].points.x.max() == 128_000
    assert params["vertical"].points.x_kind == "params" and params["vertical"].points.x.max() == 256_000
    assert built.row_fits("data")["data"].points.x_kind == "examples"
    comp = built.row_fits("compute")["mlp"].points
    assert comp.x_kind == "flops" and len(comp.x_mean) == 5
    one_x = study.build_study(study_records(), n_resamples=20, x="params").row_fits("parameter")
    assert one_x["mlp"].points.x_kind == "params"


def test_an_axis_that_cannot_be_fitted_is_skipped_not_fatal():
    recs = study_records() + synthetic.axis_records("overall", [1, 2, 4], alpha=0.5, beta=1.0, gamma=0.7, seeds=(0,))
    s = study.build_study(recs, n_resamples=20)
    assert ("parameter", "overall") in s.skipped and "too few" in s.skipped[("parameter", "overall")]
    assert s.table is not None and "overall" not in s.table.rows[1].axes
    with pytest.raises(FitError):
        study.study_table(recs, n_resamples=20)


def _row(kind, verdicts, best):
    cells = {"saturated? [P(gain < min)]": "/".join(verdicts), "best approach": best}
    verdict = verdicts[0] if len(set(verdicts)) == 1 else "mixed"
    return SeedRow(kind, tuple(f"a{i}" for i in range(len(verdicts))), cells, verdict, tuple(verdicts))


def test_form_comparison_with_the_published_table():
    table = SeedTable(rows=(_row("data", ["not saturated"], "-"),
                            _row("parameter", ["saturated", "saturated"], "H ~ V ~ M ~ O"),
                            _row("compute", ["saturated"], "O > M > H")), axes=())
    rows = {r["scaling"]: r for r in study.compare_form(table)}
    assert rows["data"]["saturation"] == "agrees" and rows["data"]["approaches"] == "not measured"
    assert rows["parameter"]["saturation"] == "agrees" and rows["parameter"]["approaches"] == "agrees"
    assert rows["compute"]["saturation"] == "differs" and rows["compute"]["approaches"] == "differs"
    partial = SeedTable(rows=(_row("compute", ["not saturated", "undetermined"], "M ~ H"),), axes=())
    by_kind = {r["scaling"]: r for r in study.compare_form(partial)}
    assert by_kind["compute"]["approaches"] == "differs"  # published: M > H, strictly
    assert by_kind["compute"]["saturation"] == "undetermined"  # one axis agrees firmly, the other is not firm
    assert by_kind["parameter"]["saturation"] == "not measured"
    mixed = SeedTable(rows=(_row("parameter", ["undetermined", "not saturated"], "-"),), axes=())
    assert study.compare_form(mixed)[1]["saturation"] == "differs"  # a firm "not saturated" against "yes"
    assert "compute: saturation undetermined" in study.form_summary(study.compare_form(partial))
    assert study.published_markdown().count("\n") == 5


def test_isoflop_recovers_the_compute_optimal_exponent():
    recs = study_records()
    studies, notes = compute.isoflops(recs, metric="ne")
    assert not notes and [s.label for s in studies] == ["dlrm:horizontal", "dlrm:mlp"]
    mlp = studies[1].analysis
    assert all(p.interior for p in mlp.parabolas) and len(mlp.parabolas) == 5
    assert mlp.exponent == pytest.approx(0.5, abs=0.05)


def test_compute_frontier_is_monotone_with_a_law():
    fr = compute.frontier(study_records(), metric="ne", n_boot=20)
    assert np.all(np.diff(fr.frontier.flops) > 0) and np.all(np.diff(fr.frontier.values) < 0)
    assert fr.fit is not None and fr.boot is not None and fr.label == "dlrm"


def two_archs():
    values = [1, 2, 4, 8, 16, 32, 64, 128]
    return (synthetic.axis_records("horizontal", values, alpha=0.3, beta=0.5, gamma=0.60, arch="dlrm", seeds=(0,))
            + synthetic.axis_records("horizontal", values, alpha=0.5, beta=5.0, gamma=0.55, arch="hstu_rank", seeds=(0,)))


def test_architecture_comparison_finds_where_the_laws_cross():
    cmps = compare.compare_archs(two_archs(), n_boot=30)
    assert set(cmps) == {"flops", "params"}
    truth = brentq(lambda n: 0.5 * n**-0.3 + 0.60 - 5.0 * n**-0.5 - 0.55, 1e3, 1e6)  # in parameters
    (cross,) = cmps["params"].crossings
    assert cross.x == pytest.approx(truth, rel=1e-3)
    assert (cross.better_below, cross.better_above, cross.observed) == ("dlrm", "hstu_rank", True)
    (cross_f,) = cmps["flops"].crossings
    assert cross_f.x == pytest.approx(6 * truth * 2**19, rel=1e-3)  # FLOPs = 6 N D at fixed D
    text = compare.conclusion(cmps["flops"])
    assert "hstu_rank is ahead" in text and "cross at" in text and "below it dlrm is better" in text


def test_comparison_of_laws_that_never_cross_says_so():
    values = [1, 2, 4, 8, 16, 32]
    recs = (synthetic.axis_records("mlp", values, alpha=0.3, beta=0.5, gamma=0.60, arch="a", seeds=(0,))
            + synthetic.axis_records("mlp", values, alpha=0.3, beta=0.5, gamma=0.65, arch="b", seeds=(0,)))
    cmp = compare.compare(recs, x="flops", n_boot=0)
    assert cmp.crossings == ()
    assert "do not cross" in compare.conclusion(cmp) and "a is ahead" in compare.conclusion(cmp)


def test_common_metric_prefers_ne_and_refuses_disjoint_metrics():
    recs = two_archs()
    assert compare.common_metric(recs) == "ne"
    hr = synthetic.axis_records("horizontal", [1, 2], alpha=0.3, beta=0.5, gamma=0.1, arch="hstu", metric="hr@10", seeds=(0,))
    with pytest.raises(FitError, match="share no metric"):
        compare.common_metric(recs + hr)


def test_isoflop_window_keeps_the_sizes_around_each_budgets_best():
    sizes = np.array([1, 2, 4, 8, 16, 32] * 2, dtype=float)
    budgets = np.repeat([1e9, 1e10], 6)
    values = np.array([0.9, 0.8, 0.85, 0.9, 0.95, 0.99, 0.99, 0.95, 0.9, 0.85, 0.8, 0.7])
    keep = compute.window_mask(sizes, values, budgets, higher=False, window=5)
    assert sizes[keep & (budgets == 1e9)].tolist() == [1, 2, 4, 8, 16]  # best at 2: shifted in from the edge
    assert sizes[keep & (budgets == 1e10)].tolist() == [2, 4, 8, 16, 32]
    assert compute.window_mask(sizes, values, budgets, higher=False, window=0).all()
    higher = compute.window_mask(sizes, values, budgets, higher=True, window=3)
    assert sizes[higher & (budgets == 1e9)].tolist() == [8, 16, 32]  # higher is better: the best is 0.99 at 32


def test_without_laws_the_conclusion_compares_the_best_trials():
    recs = (synthetic.axis_records("mlp", [1, 2, 4], alpha=0.3, beta=0.5, gamma=0.60, arch="a", seeds=(0,))
            + synthetic.axis_records("mlp", [1, 2, 4, 8], alpha=0.3, beta=0.5, gamma=0.50, arch="b", seeds=(0,)))
    cmp = compare.compare(recs, x="params", n_boot=0)
    assert cmp.frontiers["a"].fit is None and cmp.frontiers["b"].fit is not None  # a: 3 points, too few for a law
    best_b_at_4000 = 0.5 * 4000**-0.3 + 0.50
    assert f"at or below 4e+03 parameters: b {best_b_at_4000:.4g}" in compare.conclusion(cmp)
    assert compare.conclusion(cmp).endswith("b is ahead.")
