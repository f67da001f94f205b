"""Data axes grown from labelled bases: the grammar labels the trials, the seed table's data
row ranks the bases (which growth gains most from data)."""

import numpy as np
import pytest

from analysis import fits, load, study, synthetic
from sweeps import plan, spec as spec_mod
from sweeps.errors import SpecError

SPEC = {
    "name": "dfrom",
    "arch": "dlrm",
    "seeds": [0],
    "base": {"model": {"embed_dim": 8, "rows": 512, "top_mlp": [32, 16]}, "data.examples": 8192},
    "axes": {"data": {"from": {"vertical": 64, "horizontal": 16, "overarch": 64}, "values": [8192, 16384]}},
    "chain": [{"axes": {"data": [8192, 16384]}}],
}


def test_data_axes_from_labelled_bases_expand_to_labelled_trials():
    trials = spec_mod.expand(spec_mod.parse(SPEC))
    got = {(a, v): t.config for t in trials for a, v in t.axes.items()}
    assert set(got) == {(a, v) for a in ("data@vertical", "data@horizontal", "data@overarch", "data")
                        for v in (8192, 16384)}
    for v in (8192, 16384):
        assert (got["data@vertical", v].model.rows, got["data@vertical", v].model.embed_dim) == (64, 8)
        assert (got["data@horizontal", v].model.rows, got["data@horizontal", v].model.embed_dim) == (512, 16)
        assert got["data@overarch", v].model.top_mlp == (64, 32)  # widest layer 64, proportions kept
        assert (got["data", v].model.rows, got["data", v].model.embed_dim) == (512, 8)
        assert {c.data.examples for (a, x), c in got.items() if x == v} == {v}
    assert len(trials) == 8 and len({t.trial_id for t in trials}) == 8
    assert "data@vertical=16384" in plan.format_plan(plan.plan(trials))


def test_a_labelled_base_that_is_the_base_lies_on_both_curves():
    raw = {**SPEC, "axes": {"data": {"from": {"vertical": 512}, "values": [8192]}}}
    (t,) = spec_mod.expand(spec_mod.parse({**raw, "chain": [{"axes": {"data": [8192]}}]}))
    assert t.axes == {"data@vertical": 8192, "data": 8192}


@pytest.mark.parametrize("data,field", [
    ({"from": {"vertical": 64}}, "axes.data.values"),
    ({"values": [8192]}, "axes.data.from"),
    ({"from": {}, "values": [8192]}, "axes.data.from"),
    ({"from": {"vertical": 64}, "values": [8192, -1]}, "axes.data.values[1]"),
    ({"from": {"vertical": -64}, "values": [8192]}, "axes.data.from.vertical"),
    ({"from": {"data": 64}, "values": [8192]}, "axes.data.from.data"),
    ({"from": {"diagonal": 64}, "values": [8192]}, "axes.data.from.diagonal"),
    ({"from": {"vertical": 64}, "values": [8192], "by": 1}, "axes.data.by"),
])
def test_data_from_errors_name_the_field(data, field):
    with pytest.raises(SpecError) as e:
        spec_mod.expand(spec_mod.parse({**SPEC, "axes": {"data": data}}))
    assert e.value.field == field


# Data laws per base, NE = beta * D^-0.25 + gamma: at 2^21 examples a doubling buys
# 0.0042 * beta, so the gains are 0.034 (V), 0.025 (H), 0.021 (D), 0.017 (O), 0.008 (M),
# each at least 0.004 from the next against a 0.1% noise (~0.0006 NE).
BETAS = {"data@vertical": 8.0, "data@horizontal": 6.0, "data": 5.0, "data@overarch": 4.0, "data@mlp": 2.0}


def data_records(betas):
    recs = []
    for i, (axis, beta) in enumerate(betas.items()):
        recs += synthetic.axis_records(axis, 2 ** np.arange(15, 22), alpha=0.25, beta=beta, gamma=0.6, seeds=(0, 1),
                                       noise=0.001, floor_ne=0.5, rng_seed=i)
    return recs


def test_the_data_row_ranks_the_bases_and_compares_with_the_published_order():
    built = study.build_study(data_records(BETAS), n_resamples=40)
    (row,) = built.table.rows
    assert row.kind == "data" and set(row.axes) == {"vertical", "horizontal", "data", "overarch", "mlp"}
    assert row.cells["best approach"] == "V > H > D > O > M"
    assert built.row_fits("data")["vertical"].points.x_kind == "examples"
    (form,) = [f for f in study.compare_form(built.table) if f["scaling"] == "data"]
    assert form["approaches"] == "agrees"  # on the codes both rank: V > H > O > M
    swapped = study.build_study(data_records({**BETAS, "data@vertical": 2.0, "data@mlp": 8.0}), n_resamples=40)
    (form,) = [f for f in study.compare_form(swapped.table) if f["scaling"] == "data"]
    assert swapped.table.rows[0].cells["best approach"] == "M > H > D > O > V" and form["approaches"] == "differs"


def test_labelled_data_axes_are_axes_of_their_own_for_fits_and_tables():
    recs = data_records({"data": 5.0, "data@vertical": 8.0})
    assert load.axes_of(recs) == ["data", "data@vertical"]
    table = load.trial_table(recs)
    assert table["x.data@vertical"].notna().sum() == 14 and table["x.data"].notna().sum() == 14
    axis_fits = fits.fit_axes(recs, n_boot=20)
    assert axis_fits["data@vertical"].points.x_kind == "examples"
    assert axis_fits["data@vertical"].analysis.fit.params["alpha"] == pytest.approx(0.25, abs=0.03)
