"""Fit the power law of every axis of a sweep and render the scaling table."""

from __future__ import annotations

import dataclasses
from typing import Iterable

import numpy as np

from analysis.load import AxisPoints, axes_of, axis_points
from scaling import FitError, PowerLawFit, fit_power_law
from sweeps.store import TrialRecord


@dataclasses.dataclass(frozen=True)
class AxisFit:
    points: AxisPoints
    fit: PowerLawFit | None
    error: str = ""


def bayes_floor(records: Iterable[TrialRecord]) -> float | None:
    floors = {r.bayes_ne for r in records if r.bayes_ne is not None}
    return min(floors) if floors else None


def fit_axes(records: list[TrialRecord], *, metric: str = "ne", x: str = "scale") -> dict[str, AxisFit]:
    """One fit per axis, on the mean over seeds at each x; gamma bounded below by the Bayes NE."""
    floor = bayes_floor(records) if metric == "ne" else None
    out = {}
    for axis in axes_of(records):
        pts = axis_points(records, axis, metric=metric, x=x)
        try:
            fit = fit_power_law(pts.x_mean, pts.y_mean, gamma_min=floor)
            out[axis] = AxisFit(pts, fit)
        except FitError as e:
            out[axis] = AxisFit(pts, None, str(e))
    return out


def format_table(fits: dict[str, AxisFit], bayes_ne: float | None) -> str:
    head = f"{'axis':<11} {'n':>3} {'x range':>17} {'alpha':>7} {'beta':>9} {'gamma':>8} {'R^2':>6}  note"
    lines = [head, "-" * len(head)]
    for axis, af in fits.items():
        p = af.points
        xr = f"{p.x_mean.min():.3g}-{p.x_mean.max():.3g}" if len(p.x_mean) else "-"
        if af.fit is None:
            lines.append(f"{axis:<11} {len(p.x_mean):>3} {xr:>17} {'':>7} {'':>9} {'':>8} {'':>6}  not fitted: {af.error}")
            continue
        f = af.fit
        notes = []
        if f.gamma_at_bound:
            notes.append("gamma at the Bayes floor")
        if not f.converged:
            notes.append("NOT CONVERGED")
        notes += list(f.warnings)
        lines.append(
            f"{axis:<11} {f.n_points:>3} {xr:>17} {f.alpha:>7.3f} {f.beta:>9.4g} {f.gamma:>8.4f} {f.r2:>6.3f}  {'; '.join(notes)}"
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
        else:
            row["error"] = af.error
        rows.append(row)
    return rows


def curve(fit: PowerLawFit, x_min: float, x_max: float, n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    xs = np.geomspace(x_min, x_max, n)
    return xs, fit.predict(xs)
