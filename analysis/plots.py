"""Figures: data in, ``matplotlib.figure.Figure`` out; saving is the caller's job."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from analysis.fits import AxisFit, curve

AXIS_LABELS = {
    "horizontal": "embedding dimension",
    "vertical": "embedding rows per table",
    "overarch": "over-arch width",
    "mlp": "MLP width",
    "overall": "overall scale",
    "data": "training examples",
    "compute": "training FLOPs",
}


def scaling_panels(fits: dict[str, AxisFit], *, bayes_ne: float | None = None, title: str = "") -> Figure:
    """One panel per axis: the metric against the axis on log x, points, fit and floor."""
    n = max(1, len(fits))
    cols = min(n, 2 if n <= 4 else 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(5 * cols, 3.8 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (name, af) in zip(axes, fits.items()):
        p = af.points
        ax.scatter(p.x, p.y, s=14, alpha=0.45, color="C0", label="trials")
        ax.errorbar(p.x_mean, p.y_mean, yerr=p.y_spread, fmt="o", color="C0", ms=5, label="mean over seeds")
        if af.fit is not None:
            f = af.fit
            xs, ys = curve(f, p.x_mean.min(), p.x_mean.max())
            ax.plot(xs, ys, color="C1", label=f"fit: {f.beta:.3g}·x^-{f.alpha:.3f} + {f.gamma:.4f} (R²={f.r2:.3f})")
        if bayes_ne is not None and p.metric == "ne":
            ax.axhline(bayes_ne, color="k", ls="--", lw=1, label=f"Bayes NE {bayes_ne:.4f}")
        ax.set_xscale("log")
        axis = name.split(":")[-1]
        xlabel = AXIS_LABELS.get(axis, axis) if p.x_kind == "scale" else p.x_kind
        ax.set_xlabel(xlabel)
        ax.set_ylabel(p.metric.upper() if p.metric == "ne" else p.metric)
        ax.set_title(name)
        ax.legend(fontsize=7)
    for ax in axes[len(fits):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig
