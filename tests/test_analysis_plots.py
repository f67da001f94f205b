"""Figure functions on synthetic records: panels, lines, bands and labels (Agg backend, no files)."""

import io

import matplotlib
import pytest
from matplotlib.collections import PolyCollection
from test_analysis_study import BAYES, study_records, two_archs

from analysis import compare, compute, fits, plots, plots_compute, study, synthetic

matplotlib.use("Agg")


def _visible(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def _fit_lines(ax):
    def is_fit(label):
        return label.startswith("fit ") or ": fit " in label or ": law " in label

    return [line for line in ax.get_lines() if is_fit(line.get_label())]


def _bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def _renders(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def built():
    return study.build_study(study_records(), n_resamples=30)


def test_parameter_panels_are_the_seed_four_with_fits_and_bands(built):
    fig = plots.parameter_panels(built.row_fits("parameter"), floor_ne=BAYES)
    axes = _visible(fig)
    assert [ax.get_title() for ax in axes] == ["overall / over-arch", "MLP", "horizontal embedding", "vertical embedding"]
    # each panel names its x: dense parameters for the dense axes, total for the embedding axes
    assert [ax.get_xlabel() for ax in axes] == ["dense parameters", "dense parameters", "total parameters",
                                                "total parameters"]
    for ax in axes:
        assert ax.get_ylabel() == "NE" and ax.get_xscale() == "log"
        assert len(_fit_lines(ax)) == 1 and len(_bands(ax)) == 1
        assert any(line.get_label().startswith("floor NE 0.5000") for line in ax.get_lines())
    # The chosen law with its exponent and the verdict are in the legend: alpha 1, saturated.
    label = _fit_lines(axes[1])[0].get_label()
    assert label.startswith("fit power law + floor: ") and "saturated (P(gain < min) = 1.00)" in label
    alpha = float(label.split("x^-")[1].split()[0])
    assert alpha == pytest.approx(1.0, abs=0.15)
    assert _renders(fig)


def test_parameter_panels_draw_overall_and_overarch_together_and_say_what_is_missing(built):
    params = dict(built.row_fits("parameter"))
    overall = study.build_study(synthetic.axis_records("overall", [1, 2, 4, 8, 16], alpha=0.5, beta=3.0, gamma=0.7),
                                n_resamples=20).row_fits("parameter")["overall"]
    fig = plots.parameter_panels({"overall": overall, "overarch": params["overarch"], "mlp": params["mlp"]})
    top_left, _, horizontal, _ = _visible(fig)
    assert len(_fit_lines(top_left)) == 2
    assert {line.get_label().split(":")[0] for line in _fit_lines(top_left)} == {"overall", "overarch"}
    assert [t.get_text() for t in horizontal.texts] == ["not in this study"] and not horizontal.get_lines()


def test_law_figure_draws_one_fit_per_approach(built):
    fig = plots.law_figure(built.row_fits("compute"), title="compute scaling", floor_ne=BAYES)
    (ax,) = _visible(fig)
    assert ax.get_title() == "compute scaling" and ax.get_xlabel() == "training FLOPs"
    assert sorted(line.get_label().split(":")[0] for line in _fit_lines(ax)) == ["horizontal", "mlp"]
    assert len(_bands(ax)) == 2


def test_scaling_panels_one_per_axis_with_band_when_bootstrapped():
    recs = study_records()
    axis_fits = fits.fit_axes(recs, n_boot=20)
    fig = plots.scaling_panels(axis_fits, floor_ne=BAYES, title="synthetic")
    axes = _visible(fig)
    assert [ax.get_title() for ax in axes] == ["horizontal", "vertical", "overarch", "mlp", "data", "compute"]
    assert [ax.get_xlabel() for ax in axes] == ["total parameters", "total parameters", "dense parameters",
                                                "dense parameters", "training examples", "training FLOPs"]
    assert all(len(_fit_lines(ax)) == 1 and len(_bands(ax)) == 1 for ax in axes)
    assert fig._suptitle.get_text() == "synthetic"
    own = plots.scaling_panels(fits.fit_axes(recs, n_boot=20, x="scale"))
    assert _visible(own)[0].get_xlabel() == "embedding dimension"


def test_learning_curves_one_line_per_trial_one_panel_per_axis():
    recs = synthetic.axis_records("horizontal", [1, 2, 4], alpha=0.3, beta=1.0, gamma=0.6, seeds=(0, 1))
    recs += synthetic.axis_records("data", [2**15, 2**16], alpha=0.3, beta=1.0, gamma=0.6, seeds=(0,))
    fig = plots.learning_curves(recs, metric="ne")
    h, d = _visible(fig)
    assert (h.get_title(), d.get_title()) == ("horizontal", "data")
    assert len(h.get_lines()) == 6 and len(d.get_lines()) == 2
    assert h.get_xlabel() == "training examples"
    assert [t.get_text() for t in h.get_legend().get_texts()] == ["horizontal=1", "horizontal=2", "horizontal=4"]
    first = h.get_lines()[0]
    assert list(first.get_ydata())[-1] == pytest.approx(recs[0].final_metrics["ne"])


def test_isoflop_figure_has_a_parabola_per_budget_and_the_optimal_size_law():
    (_, mlp), _ = compute.isoflops(study_records(), metric="ne")
    fig = plots_compute.isoflop_figure(mlp)
    left, right = _visible(fig)
    parabolas = [line for line in left.get_lines() if line.get_label().startswith("C = ")]
    assert len(parabolas) == 5
    law = [line for line in right.get_lines() if line.get_label().startswith("N_opt")]
    assert len(law) == 1 and float(law[0].get_label().split("C^")[1].split()[0]) == pytest.approx(0.5, abs=0.05)
    assert right.get_yscale() == "log" and fig._suptitle.get_text() == "dlrm:mlp"


def test_isoflop_figure_without_any_optimum_still_renders():
    flat = synthetic.axis_records("mlp", [1, 2, 4], alpha=0.3, beta=1.0, gamma=0.6, seeds=(0,))
    iso = [synthetic.record(sweep="s", arch="dlrm", seed=0, axes={"compute": 1e10, "mlp": s}, params=1000 * s,
                            examples=1000, metrics={"ne": r.final_metrics["ne"]}) for s, r in zip([1, 2, 4], flat)]
    iso += [synthetic.record(sweep="s", arch="dlrm", seed=0, axes={"compute": 1e10, "mlp": 8}, params=8000,
                             examples=1000, metrics={"ne": 0.1})]  # falls throughout: the parabola opens downward
    (st,), _ = compute.isoflops(iso, metric="ne")
    assert not st.analysis.parabolas
    fig = plots_compute.isoflop_figure(st)
    assert [t.get_text() for t in _visible(fig)[1].texts] == ["no budget has an optimum"] and _renders(fig)


def test_comparison_figure_puts_both_architectures_and_the_crossing_on_each_panel():
    cmps = compare.compare_archs(two_archs(), n_boot=20)
    fig = plots_compute.comparison_figure(cmps)
    flops_ax, params_ax = _visible(fig)
    assert flops_ax.get_xlabel() == "training FLOPs" and params_ax.get_xlabel() == "parameters"
    assert flops_ax.get_title() == "NE against training FLOPs"
    for ax, cmp in ((flops_ax, cmps["flops"]), (params_ax, cmps["params"])):
        laws = _fit_lines(ax)
        assert sorted(line.get_label().split(":")[0] for line in laws) == ["dlrm", "hstu_rank"]
        cross = [line for line in ax.get_lines() if line.get_label().startswith("laws cross")]
        assert len(cross) == 1 and cross[0].get_xdata()[0] == pytest.approx(cmp.crossings[0].x)
    assert _renders(fig)


def test_frontier_figure_marks_frontier_points():
    fr = compute.frontier(two_archs(), metric="ne", n_boot=0)
    fig = plots_compute.frontier_figure([fr])
    (ax,) = _visible(fig)
    front = [line for line in ax.get_lines() if line.get_label().endswith("frontier")]
    assert len(front) == 1 and len(front[0].get_xdata()) == len(fr.frontier.flops)
