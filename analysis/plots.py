"""Figures of per-axis laws: data in, ``matplotlib.figure.Figure`` out; saving is the caller's job.

Every fitted curve is drawn with its bootstrap band when the fit carries one. Compute
figures (frontier, isoFLOP, architecture comparison) are in :mod:`analysis.plots_compute`.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.fits import AxisFit, band, curve, law_text, x_label
from sweeps.store import TrialRecord

AXIS_LABELS = {
    "horizontal": "embedding dimension",
    "vertical": "embedding rows per table",
    "overarch": "over-arch width",
    "mlp": "MLP width",
    "overall": "overall scale",
    "data": "training examples",
    "compute": "training FLOPs",
}

# The seed's parameter-scaling figure (Ardalani et al. 2022): one panel per scheme.
PARAMETER_PANELS = (
    ("overall / over-arch", ("overall", "overarch")),
    ("MLP", ("mlp",)),
    ("horizontal embedding", ("horizontal",)),
    ("vertical embedding", ("vertical",)),
)


def metric_label(metric: str) -> str:
    return "NE" if metric == "ne" else metric


def fit_label(af: AxisFit) -> str:
    """The chosen law with its numbers and R^2, and the verdict with its probability."""
    a = af.analysis
    r2 = f" (R²={af.fit.r2:.3f})" if af.fit is not None else ""
    return f"{law_text(af.fit)}{r2}\n{a.verdict.text}"


def draw_law(ax: Axes, af: AxisFit, *, color: str = "C0", label: str = "", trials: bool = True) -> None:
    """Trials, means over seeds with their spread, the chosen law and its bootstrap band on ``ax``."""
    p = af.points
    prefix = f"{label}: " if label else ""
    if trials:
        ax.scatter(p.x, p.y, s=12, alpha=0.35, color=color, label=f"{prefix}trials")
    ax.errorbar(p.x_mean, p.y_mean, yerr=p.y_spread, fmt="o", color=color, ms=5, label=f"{prefix}mean over seeds")
    if af.fit is None:
        return
    lo, hi = p.x_mean.min(), p.x_mean.max()
    xs, ys = curve(af.fit, lo, hi)
    ax.plot(xs, ys, color=color, label=f"{prefix}fit {fit_label(af)}")
    bx, blo, bhi = band(af.analysis, lo, hi)
    draw_band(ax, bx, blo, bhi, np.concatenate([p.y, ys]), color=color,
              label=f"{prefix}{af.analysis.verdict.level:.0%} band")


def draw_band(ax: Axes, bx: np.ndarray, blo: np.ndarray, bhi: np.ndarray, reference: np.ndarray, *, color: str,
              label: str) -> None:
    """A bootstrap band (lower ``blo``, upper ``bhi`` at ``bx``), clipped to the span of ``reference`` (the
    points and the curve) plus half that span each way: a poorly constrained fit has a band
    orders of magnitude wide, which would otherwise flatten every point into one line."""
    ref = np.asarray(reference, dtype=float)
    ref = ref[np.isfinite(ref)]
    pad = 0.5 * max(float(np.ptp(ref)), 1e-12)
    bottom, top = ref.min() - pad, ref.max() + pad
    ax.fill_between(bx, np.clip(blo, bottom, top), np.clip(bhi, bottom, top), color=color, alpha=0.18, lw=0, label=label)


def _floor(ax: Axes, floor_ne: float | None, metric: str) -> None:
    if floor_ne is not None and metric == "ne":
        ax.axhline(floor_ne, color="k", ls="--", lw=1, label=f"floor NE {floor_ne:.4f}")


def _grid(n: int, *, width: float = 5.0, height: float = 3.8, max_cols: int | None = None) -> tuple[Figure, np.ndarray]:
    cols = min(n, max_cols or (2 if n <= 4 else 3))
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def scaling_panels(fits: dict[str, AxisFit], *, floor_ne: float | None = None, title: str = "") -> Figure:
    """One panel per axis: the metric against the axis on log x, points, fit (and band) and floor."""
    fig, axes = _grid(max(1, len(fits)))
    for ax, (name, af) in zip(axes, fits.items()):
        p = af.points
        draw_law(ax, af, color="C0")
        _floor(ax, floor_ne, p.metric)
        ax.set_xscale("log")
        axis = name.split(":")[-1]
        ax.set_xlabel(AXIS_LABELS.get(axis, axis) if p.x_kind == "scale" else af.x_name or x_label(p.x_kind))
        ax.set_ylabel(metric_label(p.metric))
        ax.set_title(name)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def parameter_panels(fits: dict[str, AxisFit], *, floor_ne: float | None = None, title: str = "") -> Figure:
    """The seed's four-panel parameter-scaling figure: overall / over-arch, MLP, horizontal
    and vertical embedding, each the metric against its axis' x (dense parameters for MLP and
    over-arch, total parameters for the others, by default) with the chosen law and band.

    ``fits`` maps axis names to fits (``Study.row_fits("parameter")``);
    a scheme the study lacks gets an empty panel that says so.
    """
    fig = Figure(figsize=(10, 7.6), layout="constrained")
    axes = fig.subplots(2, 2, squeeze=False).ravel()
    for ax, (panel, names) in zip(axes, PARAMETER_PANELS):
        present = [n for n in names if n in fits]
        for i, name in enumerate(present):
            draw_law(ax, fits[name], color=f"C{i}", label=name if len(names) > 1 else "")
        metric = fits[present[0]].points.metric if present else "ne"
        if present:
            _floor(ax, floor_ne, metric)
            ax.set_xscale("log")
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "not in this study", ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_title(panel)
        ax.set_xlabel(", ".join(sorted({x_label(fits[n].points.x_kind) for n in present}))
                      or "parameters")
        ax.set_ylabel(metric_label(metric))
    fig.suptitle(title or "parameter scaling")
    return fig


def law_figure(fits: dict[str, AxisFit], *, xlabel: str = "", title: str = "", floor_ne: float | None = None) -> Figure:
    """Several laws on one set of axes (e.g. data scaling, or compute scaling per approach)."""
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    metric = "ne"
    for i, (name, af) in enumerate(fits.items()):
        draw_law(ax, af, color=f"C{i}", label=name)
        metric = af.points.metric
        xlabel = xlabel or x_label(af.points.x_kind)
    _floor(ax, floor_ne, metric)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(metric_label(metric))
    ax.set_title(title)
    if fits:
        ax.legend(fontsize=7)
    return fig


def learning_curves(records: Iterable[TrialRecord], *, metric: str = "ne", x: str = "examples",
                    title: str = "") -> Figure:
    """The learning curve of every trial, one panel per (architecture,) axis, one line per
    trial coloured by its position on the axis (light: small, dark: large)."""
    from analysis.load import axes_of

    recs = [r for r in records if r.curve and any(metric in c for c in r.curve)]
    archs = sorted({r.arch for r in recs})
    groups: dict[str, list[TrialRecord]] = {}
    for arch in archs:
        mine = [r for r in recs if r.arch == arch]
        for axis in axes_of(mine, include_compute_only=False):
            key = axis if len(archs) == 1 else f"{arch}:{axis}"
            groups[key] = [r for r in mine if axis in r.axes]
    fig, axes = _grid(max(1, len(groups)))
    for ax, (name, group) in zip(axes, groups.items()):
        axis = name.split(":")[-1]
        values = sorted({float(r.axes[axis]) for r in group})
        labelled = set()
        for r in sorted(group, key=lambda r: (float(r.axes[axis]), r.seed)):
            pts = [c for c in r.curve if metric in c and x in c]
            v = float(r.axes[axis])
            shade = 0.25 + 0.75 * (values.index(v) / max(1, len(values) - 1))
            # One legend entry per axis value: the seeds of a point share its colour.
            ax.plot([c[x] for c in pts], [c[metric] for c in pts], color=(0.1, 0.3, 0.7, shade), lw=1.2,
                    label=None if v in labelled else f"{axis}={v:g}")
            labelled.add(v)
        ax.set_xscale("log")
        ax.set_xlabel(x_label(x))
        ax.set_ylabel(metric_label(metric))
        ax.set_title(name)
        if len(values) <= 12:
            ax.legend(fontsize=6)
    if title:
        fig.suptitle(title)
    return fig
