"""Compute figures: the compute frontier, isoFLOP parabolas and the architecture comparison.
Data in, ``matplotlib.figure.Figure`` out; saving is the caller's job."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.compare import Comparison
from analysis.compute import X_LABELS, Frontier, IsoFlop
from analysis.plots import draw_band, metric_label
from scaling.bootstrap import percentile_interval


def draw_frontier(ax: Axes, fr: Frontier, *, color: str = "C0", label: str = "") -> None:
    """Every trial (faint), the frontier trials (joined), the law fitted to them and its band."""
    name = label or fr.label
    ax.scatter(fr.x, fr.y, s=10, alpha=0.25, color=color, label=f"{name}: trials")
    f = fr.frontier
    ax.plot(f.flops, f.values, "o", color=color, ms=5, label=f"{name}: frontier")
    if fr.fit is None:
        return
    lo, hi = f.flops.min(), f.flops.max()
    xs = np.geomspace(lo, hi, 100)
    ys = fr.fit.predict(xs)
    ax.plot(xs, ys, color=color, label=f"{name}: law (R²={fr.fit.r2:.3f})")
    if fr.boot is not None:
        blo, bhi = percentile_interval(fr.boot.predict_samples(xs), fr.boot.level)
        draw_band(ax, xs, blo, bhi, np.concatenate([f.values, ys]), color=color, label=f"{name}: {fr.boot.level:.0%} band")


def frontier_figure(frontiers: Sequence[Frontier], *, title: str = "compute frontier") -> Figure:
    """One or several frontiers (e.g. one per architecture) on shared axes."""
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    for i, fr in enumerate(frontiers):
        draw_frontier(ax, fr, color=f"C{i}")
    kind = frontiers[0].x_kind if frontiers else "flops"
    ax.set_xscale("log")
    ax.set_xlabel(X_LABELS.get(kind, kind))
    ax.set_ylabel(metric_label(frontiers[0].metric if frontiers else "ne"))
    ax.set_title(title)
    ax.legend(fontsize=7)
    return fig


def isoflop_figure(study: IsoFlop, *, title: str = "") -> Figure:
    """Left: the metric against model size for each budget, with its parabola in ln N and
    the optimum. Right: the optimal size against the budget, with the fitted power law."""
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    a = study.analysis
    by_budget = {p.budget: p for p in a.parabolas}
    for i, budget in enumerate(np.unique(study.budgets)):
        mask = study.budgets == budget
        color = f"C{i % 10}"
        left.scatter(study.sizes[mask], study.values[mask], s=14, color=color, alpha=0.6)
        left.scatter(study.sizes[mask & ~study.used], study.values[mask & ~study.used], s=30, facecolors="none",
                     edgecolors=color)  # hollow rings: outside the window its parabola was fitted to
        p = by_budget.get(float(budget))
        if p is None:
            continue
        fitted = study.sizes[mask & study.used]
        s = np.linspace(np.log(fitted.min()), np.log(fitted.max()), 100)
        c0, c1, c2 = p.coefficients
        left.plot(np.exp(s), c0 + c1 * s + c2 * s**2, color=color, label=f"C = {budget:.2g}")
        left.plot([p.n_opt], [p.value_opt], marker="*" if p.interior else "x", ms=11, color=color, ls="none")
    left.set_xscale("log")
    left.set_xlabel(X_LABELS.get(study.x_kind, study.x_kind))
    left.set_ylabel(metric_label(study.metric))
    left.set_title(f"isoFLOP parabolas ({study.approach})")
    if a.parabolas:
        left.legend(fontsize=7)
    right.set_xlabel("training FLOPs (budget)")
    right.set_ylabel(f"optimal {X_LABELS.get(study.x_kind, study.x_kind)}")
    right.set_title("compute-optimal size")
    if not a.parabolas:
        # Every budget was skipped (no minimum): say so rather than draw empty log axes.
        right.text(0.5, 0.5, "no budget has an optimum", ha="center", va="center", transform=right.transAxes, color="0.4")
        fig.suptitle(title or study.label)
        return fig
    usable = [p for p in a.parabolas if p.interior]
    right.plot([p.budget for p in usable], [p.n_opt for p in usable], "o", color="C0", label="interior optima")
    outside = [p for p in a.parabolas if not p.interior]
    if outside:
        right.plot([p.budget for p in outside], [p.n_opt for p in outside], "x", color="C3", label="optimum off the grid")
    if np.isfinite(a.exponent):
        cs = np.geomspace(min(p.budget for p in usable), max(p.budget for p in usable), 50)
        right.plot(cs, a.n_opt(cs), color="C1", label=f"N_opt ∝ C^{a.exponent:.2f} (R²={a.r2:.2f})")
    right.set_xscale("log")
    right.set_yscale("log")
    right.legend(fontsize=7)
    fig.suptitle(title or study.label)
    return fig


def comparison_figure(comparisons: dict[str, Comparison], *, title: str = "architecture comparison") -> Figure:
    """One panel per x (training FLOPs, parameters): every architecture's trials, frontier,
    fitted law and band on the same axes, and a dashed line where two laws cross."""
    fig = Figure(figsize=(6 * len(comparisons), 4.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(comparisons)))
    for ax, (x_kind, cmp) in zip(axes, comparisons.items()):
        for i, fr in enumerate(cmp.frontiers.values()):
            draw_frontier(ax, fr, color=f"C{i}")
        for c in cmp.crossings:
            ax.axvline(c.x, color="k", ls="--" if c.observed else ":", lw=1,
                       label=f"laws cross at {c.x:.3g}" + ("" if c.observed else " (extrapolated)"))
        ax.set_xscale("log")
        ax.set_xlabel(X_LABELS.get(x_kind, x_kind))
        ax.set_ylabel(metric_label(cmp.metric))
        ax.set_title(f"{metric_label(cmp.metric)} against {X_LABELS.get(x_kind, x_kind)}")
        ax.legend(fontsize=7)
    fig.suptitle(title)
    return fig
