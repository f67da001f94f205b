"""Analyse every axis of a sweep (:func:`scaling.analyse_axis`) and render the per-axis table.

The x of each axis defaults to the quantity its growth changes (``DEFAULT_X``): examples
for data, dense parameters for the MLP and over-arch axes (their growth is in the dense
part; against total parameters, which the embeddings dominate, the MLP axis spans only
76k-95k and its fit runs to the exponent's search limit), total parameters for the
embedding axes and the overall axis (embeddings dominate them), FLOPs for compute.
Every table states its x; ``x=`` overrides for every axis.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

import numpy as np

from analysis.load import AxisPoints, axes_of, axis_points
from scaling import AxisAnalysis, FitError, LawFit, analyse_axis
from scaling.evidence import LAW_LABELS
from scaling.fit_status import fit_status, gamma_at_lower_bound
from scaling.verdict import MIN_GAIN
from sweeps.selection import higher_is_better
from sweeps.store import TrialRecord, split_axis

DEFAULT_X = {"data": "examples", "horizontal": "params", "vertical": "params", "overall": "params",
             "overarch": "dense_params", "mlp": "dense_params", "compute": "flops"}
X_NAMES = {"scale": "the axis' own value", "params": "total parameters", "dense_params": "dense parameters",
           "embedding_params": "embedding parameters", "flops": "training FLOPs", "examples": "training examples"}


@dataclasses.dataclass(frozen=True)
class AxisFit:
    """The points of one axis and their analysis (None, with ``error``, when no law could be fitted)."""

    points: AxisPoints
    analysis: AxisAnalysis | None
    error: str = ""
    x_name: str = ""  # what x is, for tables and figures (a column name for tabular input)

    @property
    def fit(self) -> LawFit | None:
        """The chosen law, or None."""
        return self.analysis.fit if self.analysis is not None else None


def x_label(kind: str) -> str:
    """What an x read from records is, in words (``X_NAMES``), or the name itself."""
    return X_NAMES.get(kind, kind)


def record_floor(records: Iterable[TrialRecord]) -> float | None:
    """The floor NE the records carry (``TrialRecord.floor_ne``; the lowest if several), or None."""
    floors = {r.floor_ne for r in records if r.floor_ne is not None}
    return min(floors) if floors else None


def x_of(axis: str, x: str | None) -> str:
    """The x an axis is measured in: ``x`` when given, else its default (``DEFAULT_X``, or its
    own value); a data axis grown from a labelled base (``data@vertical``) as the data axis."""
    return x if x is not None else DEFAULT_X.get(split_axis(axis)[0], "scale")


def analyse_points(pts: AxisPoints, *, higher: bool, floor: float | None, n_boot: int, seed: int,
                   min_gain: float, x_name: str | None = None) -> AxisFit:
    """Analyse the trials of ``pts``; an axis no law can use comes back with its reason.
    ``x_name`` defaults to the name of the record field x was read from (``X_NAMES``)."""
    name = x_label(pts.x_kind) if x_name is None else x_name
    try:
        analysis = analyse_axis(pts.x, pts.y, higher_is_better=higher, gamma_min=floor, min_gain=min_gain,
                                n_resamples=max(n_boot, 2), seed=seed, x_name=name)
    except FitError as e:
        return AxisFit(pts, None, str(e), name)
    return AxisFit(pts, analysis, "", name)


def fit_axes(records: list[TrialRecord], *, metric: str = "ne", x: str | None = None, n_boot: int = 200,
             seed: int = 0, min_gain: float = MIN_GAIN) -> dict[str, AxisFit]:
    """One analysis per axis (per architecture and axis when there are several), on every
    trial (seeds included), gamma bounded below by the Bayes NE; x per :func:`x_of`."""
    floor = record_floor(records) if metric == "ne" else None
    higher = higher_is_better(metric)
    archs = sorted({r.arch for r in records})
    out = {}
    for arch in archs:
        mine = [r for r in records if r.arch == arch]
        for axis in axes_of(mine):
            key = axis if len(archs) == 1 else f"{arch}:{axis}"
            pts = axis_points(mine, axis, metric=metric, x=x_of(axis, x))
            out[key] = analyse_points(pts, higher=higher, floor=floor, n_boot=n_boot, seed=seed, min_gain=min_gain)
    return out


def law_text(fit: LawFit | None) -> str:
    """The chosen law and its numbers, or ``not identified``."""
    return "not identified" if fit is None else f"{fit.label}: {fit.formula()}"


def notes(a: AxisAnalysis) -> list[str]:
    """Close alternatives, laws not identified (with why), and fit warnings."""
    out = [f"close: {', '.join(LAW_LABELS[c] for c in a.close)}"] if a.close else []
    out += [f"{f.label}: {f.reason}" for f in a.laws if not f.identified]
    if gamma_at_lower_bound(a):
        out.append("gamma at its lower bound")
    return out + list(a.warnings)


def format_table(fits: dict[str, AxisFit], floor_ne: float | None, *, x: str | None = None) -> str:
    """The per-axis table as fixed-width text: x, chosen law, R^2, verdict, measured gain, notes,
    and below each axis whose law cannot be read as one, its reading (flat / not identified,
    :mod:`scaling.fit_status`) with the reason."""
    w = max([11, *(len(k) for k in fits)])
    head = (f"{'axis':<{w}} {'n':>3} {'x':<20} {'x range':>17}  {'law (chosen by AICc and leave-largest-out)':<46} "
            f"{'R^2':>6}  {'saturated? [P(gain < min)]':<32} {'measured gain/doubling':<24} notes")
    lines = [head, "-" * len(head)]
    min_gain = MIN_GAIN
    for axis, af in fits.items():
        p = af.points
        xr = f"{p.x_mean.min():.3g}-{p.x_mean.max():.3g}" if len(p.x_mean) else "-"
        xn = af.x_name or x_label(p.x_kind)
        if af.analysis is None:
            lines.append(f"{axis:<{w}} {len(p.x):>3} {xn:<20} {xr:>17}  not fitted: {af.error}")
            continue
        a = af.analysis
        min_gain = a.verdict.min_gain
        r2 = f"{a.fit.r2:.3f}" if a.fit is not None else "-"
        lines.append(f"{axis:<{w}} {len(p.x):>3} {xn:<20} {xr:>17}  {law_text(a.fit):<46} {r2:>6}  "
                     f"{a.verdict.text:<32} {a.measured.text:<24} {'; '.join(notes(a))}")
        status = fit_status(a)
        if status.status != "fits":
            lines.append(f"{'':<{w}}     -> {status.text}")
    lines.append(f"Verdicts: bootstrap gain per doubling at the largest x against min gain {min_gain:g} "
                 "(metric units); P(gain < min) is the share of resamples below it.")
    if floor_ne is not None:
        lines.append(f"floor NE of the eval set (no model does better; the CTR world's Bayes NE): {floor_ne:.4f}")
    return "\n".join(lines)


def _md(cols: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def params_text(fit: LawFit) -> str:
    """``alpha 0.31 [0.22, 0.47], beta ...``: the law's parameters with their bootstrap intervals."""
    parts = []
    for name, value in fit.params.items():
        lo, hi = fit.intervals.get(name, (np.nan, np.nan))
        parts.append(f"{name} {value:.4g} [{lo:.3g}, {hi:.3g}]")
    return ", ".join(parts)


def axes_markdown(items: Iterable[tuple[str, str, AxisAnalysis]]) -> str:
    """One row per ``(row kind, axis, analysis)``: x, the chosen law and its parameters with
    intervals, R^2, whether the law can be read as one (``fits``, or flat / not identified
    with the reason: :mod:`scaling.fit_status`), the verdict with P(gain < min), the fitted
    gain per doubling at the largest x with its interval, the measured gain, and notes."""
    cols = ["row", "axis", "x", "n", "law", "parameters [95% CI]", "R^2", "reading", "saturated? [P(gain < min)]",
            "gain/doubling at largest x [95%]", "measured gain/doubling", "notes"]
    rows = []
    for kind, axis, a in items:
        v = a.verdict
        gain = f"{v.gain:.2g} [{v.lower:.2g}, {v.upper:.2g}]" if v.n_resamples else "-"
        law = a.fit.label if a.fit is not None else "not identified"
        rows.append([kind, axis, a.x_name, str(a.x.size), law, params_text(a.fit) if a.fit is not None else "-",
                     f"{a.fit.r2:.3f}" if a.fit is not None else "-", fit_status(a).text, v.text, gain, a.measured.text,
                     "; ".join(notes(a))])
    return _md(cols, rows)


def evidence_markdown(items: Iterable[tuple[str, str, AxisAnalysis]]) -> str:
    """One row per axis and law: the fitted law (or why it is not identified), AICc, its
    distance to the best, and the leave-largest-out error; the chosen law is marked."""
    cols = ["row", "axis", "law", "fit", "AICc", "ΔAICc", "leave-largest-out error", "chosen"]
    rows = []
    for kind, axis, a in items:
        for f in a.laws:
            fit = f.formula() if f.identified else f"not identified: {f.reason}"
            mark = "chosen" if f.law == a.chosen else "close" if f.law in a.close else ""
            rows.append([kind, axis, f.label, fit, f"{f.aicc:.1f}", f"{f.delta_aicc:.1f}",
                         f"{f.llo_error:+.2g}" if np.isfinite(f.llo_error) else "-", mark])
    return _md(cols, rows)


def fit_rows(fits: dict[str, AxisFit]) -> list[dict]:
    """The table as plain rows (for JSON / notebooks). Top-level ``alpha, beta, gamma`` (and
    ``*_ci``) are those of the power law + floor whenever it could be fitted, with
    ``power_law_identified`` and ``power_law_reason`` beside them; the chosen law is
    ``law``, and every law's numbers, evidence and identification are under ``laws``.
    Numbers that do not exist (an infinite AICc, a NaN interval) are None."""
    rows = []
    for axis, af in fits.items():
        row: dict = {"axis": axis, "x": af.points.x_kind, "n_points": int(len(af.points.x))}
        if af.analysis is None:
            row["error"] = af.error
            rows.append(row)
            continue
        a = af.analysis
        row["law"] = a.chosen
        row["close"] = list(a.close)
        row["laws"] = {f.law: {"params": f.params, "intervals": {k: list(v) for k, v in f.intervals.items()},
                               "aicc": f.aicc, "delta_aicc": f.delta_aicc, "llo_error": f.llo_error, "r2": f.r2,
                               "identified": f.identified, "reason": f.reason} for f in a.laws}
        floor = a.law("power_law")
        if floor.params:
            row.update(floor.params, r2=floor.r2, power_law_identified=floor.identified, power_law_reason=floor.reason)
            row.update({f"{k}_ci": list(v) for k, v in floor.intervals.items()})
        row["verdict"] = a.verdict.record()
        row["reading"] = fit_status(a).record()
        row["measured"] = a.measured.record()
        rows.append(row)
    return _json_safe(rows)


def _json_safe(value):
    """NaN and infinities (an AICc that cannot be computed, a missing interval) become None: strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def curve(fit: LawFit, x_min: float, x_max: float, n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    xs = np.geomspace(x_min, x_max, n)
    return xs, fit.predict(xs)


def band(analysis: AxisAnalysis, x_min: float, x_max: float, n: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pointwise interval of the bootstrap curve (each resample under the law it used) over [x_min, x_max]."""
    xs = np.geomspace(x_min, x_max, n)
    lo, hi = analysis.band(xs)
    return xs, lo, hi
