"""Fit the power law of every axis of a sweep and render the scaling table."""

from __future__ import annotations

import dataclasses
from typing import Iterable

import numpy as np

from analysis.load import AxisPoints, axes_of, axis_points
from scaling import Bootstrap, FitError, PowerLawFit, bootstrap, fit_power_law
from scaling.bootstrap import percentile_interval
from sweeps.store import TrialRecord


@dataclasses.dataclass(frozen=True)
class AxisFit:
    points: AxisPoints
    fit: PowerLawFit | None
    error: str = ""
    boot: Bootstrap | None = None  # resamples the per-x means


def bayes_floor(records: Iterable[TrialRecord]) -> float | None:
    floors = {r.bayes_ne for r in records if r.bayes_ne is not None}
    return min(floors) if floors else None


def higher_is_better(metric: str) -> bool:
    """AUC, HR@K, NDCG@K and MRR improve upwards; NE, log loss and NLL downwards."""
    return metric == "auc" or metric == "mrr" or metric.startswith(("hr@", "ndcg@"))


def fit_axes(
    records: list[TrialRecord], *, metric: str = "ne", x: str = "scale", n_boot: int = 1000, seed: int = 0
) -> dict[str, AxisFit]:
    """One fit per axis (per architecture and axis when there are several), on the mean over
    seeds at each x; gamma bounded below by the Bayes NE.

    With ``n_boot`` > 0, confidence intervals come from a bootstrap over the points.
    """
    floor = bayes_floor(records) if metric == "ne" else None
    higher = higher_is_better(metric)
    archs = sorted({r.arch for r in records})
    out = {}
    for arch in archs:
        mine = [r for r in records if r.arch == arch]
        for axis in axes_of(mine):
            key = axis if len(archs) == 1 else f"{arch}:{axis}"
            out[key] = _fit_one(mine, axis, metric, x, floor, higher, n_boot, seed)
    return out


def _fit_one(records, axis, metric, x, floor, higher, n_boot, seed) -> AxisFit:
    pts = axis_points(records, axis, metric=metric, x=x)
    try:
        fit = fit_power_law(pts.x_mean, pts.y_mean, gamma_min=floor, higher_is_better=higher)
    except FitError as e:
        return AxisFit(pts, None, str(e))
    boot = None
    if n_boot:
        try:
            boot = bootstrap(fit, pts.x_mean, pts.y_mean, n_resamples=n_boot, seed=seed)
        except FitError:
            boot = None
    return AxisFit(pts, fit, boot=boot)


def _ci(af: AxisFit, name: str, fmt: str) -> str:
    if af.boot is None:
        return ""
    lo, hi = af.boot.interval(name)
    return f"[{lo:{fmt}}, {hi:{fmt}}]"


def format_table(fits: dict[str, AxisFit], bayes_ne: float | None) -> str:
    w = max([11, *(len(k) for k in fits)])
    head = (
        f"{'axis':<{w}} {'n':>3} {'x range':>17} {'alpha':>7} {'95% CI':>16} {'beta':>9} "
        f"{'gamma':>8} {'95% CI':>18} {'R^2':>6}  note"
    )
    lines = [head, "-" * len(head)]
    for axis, af in fits.items():
        p = af.points
        xr = f"{p.x_mean.min():.3g}-{p.x_mean.max():.3g}" if len(p.x_mean) else "-"
        if af.fit is None:
            lines.append(f"{axis:<{w}} {len(p.x_mean):>3} {xr:>17} {'':>7} {'':>16} {'':>9} {'':>8} {'':>18} {'':>6}  not fitted: {af.error}")
            continue
        f = af.fit
        notes = []
        if f.gamma_at_bound:
            notes.append("gamma at the Bayes floor")
        if not f.converged:
            notes.append("NOT CONVERGED")
        notes += list(f.warnings)
        lines.append(
            f"{axis:<{w}} {f.n_points:>3} {xr:>17} {f.alpha:>7.3f} {_ci(af, 'alpha', '.3f'):>16} {f.beta:>9.4g} "
            f"{f.gamma:>8.4f} {_ci(af, 'gamma', '.4f'):>18} {f.r2:>6.3f}  {'; '.join(notes)}"
        )
    if bayes_ne is not None:
        lines.append(f"Bayes-optimal NE of the eval set (the floor): {bayes_ne:.4f}")
    return "\n".join(lines)


def fit_rows(fits: dict[str, AxisFit]) -> list[dict]:
    """The table as plain rows (for JSON / notebooks)."""
    rows = []
    for axis, af in fits.items():
        row = {"axis": axis, "n_points": int(len(af.points.x_mean))}
        if af.fit is not None:
            f = af.fit
            row.update(alpha=f.alpha, beta=f.beta, gamma=f.gamma, r2=f.r2, gamma_at_bound=f.gamma_at_bound, converged=f.converged)
            if af.boot is not None:
                for name in ("alpha", "beta", "gamma"):
                    row[f"{name}_ci"] = list(af.boot.interval(name))
        else:
            row["error"] = af.error
        rows.append(row)
    return rows


def curve(fit: PowerLawFit, x_min: float, x_max: float, n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    xs = np.geomspace(x_min, x_max, n)
    return xs, fit.predict(xs)


def band(boot: Bootstrap, x_min: float, x_max: float, n: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pointwise ``boot.level`` interval of the fitted curve over [x_min, x_max] (log-spaced)."""
    xs = np.geomspace(x_min, x_max, n)
    lo, hi = percentile_interval(boot.predict_samples(xs), boot.level)
    return xs, lo, hi
