"""The seed table: one row per kind of scaling (data, parameter, compute).

Input, per row kind, the axes scaled under it, each as arrays ``AxisData(x, y, x_name)``
(``x_name`` says what x is: examples, dense parameters, FLOPs...). Every axis is analysed
by :func:`scaling.axis_analysis.analyse_axis`: three laws compared by AICc and
leave-largest-out error, the chosen law, the three-valued saturation verdict with the
share of resamples below ``min_gain``, and the measured gain over the last step of x.

Per row: the x of its axes; the chosen law of each axis; the range across axes of the
chosen laws' alpha, beta, gamma (only laws that have them: a pure power law has no floor,
a log-linear law no exponent) and R^2; an axis with no identified law appears as
``not identified`` with its reason, never as numbers; the verdict (``saturated``,
``not saturated`` or ``undetermined`` with the range of ``P(gain < min)`` when every axis
agrees, else each axis' verdict); the range of the measured gains per doubling; and the
best approach (:func:`scaling.ranking.order_gains` on the gain per doubling of each axis
at its own largest x with the verdict's interval; ``-`` with a single axis).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scaling.axis_analysis import N_RESAMPLES, AxisAnalysis, analyse_axis
from scaling.evidence import LAW_LABELS
from scaling.ranking import AxisGain, axis_code, order_gains
from scaling.validation import FitError
from scaling.verdict import LEVEL, MIN_GAIN

ROW_ORDER = ("data", "parameter", "compute")
COLUMNS = ("scaling", "x", "law", "alpha", "beta", "gamma", "R^2", "saturated? [P(gain < min)]",
           "measured gain/doubling", "best approach")


@dataclass(frozen=True)
class AxisData:
    """One axis of a study: x, the metric y (one entry per trial, seeds repeat x), and what x is."""

    x: ArrayLike
    y: ArrayLike
    x_name: str = "x"


@dataclass(frozen=True)
class AxisResult:
    """Everything the table says about one axis."""

    kind: str
    axis: str
    analysis: AxisAnalysis


@dataclass(frozen=True)
class SeedRow:
    """One row of the seed table, every cell as text (``cells``) and the row's verdict."""

    kind: str
    axes: tuple[str, ...]
    cells: dict[str, str]
    verdict: str  # saturated / not saturated / undetermined, or "mixed"
    verdicts: tuple[str, ...] = ()  # per axis, in the order of ``axes``

    def record(self) -> dict[str, object]:
        """The row as a flat dict of strings (one record of a data frame)."""
        return {"axes": ",".join(axis_code(a) for a in self.axes), **self.cells, "verdict": self.verdict}


@dataclass(frozen=True)
class SeedTable:
    """The table's rows, the per-axis results behind them, and the threshold used."""

    rows: tuple[SeedRow, ...]
    axes: tuple[AxisResult, ...]
    min_gain: float = MIN_GAIN
    level: float = LEVEL

    def records(self) -> list[dict[str, object]]:
        return [row.record() for row in self.rows]

    def markdown(self) -> str:
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
        lines += ["| " + " | ".join(row.cells[c].replace("|", "/") for c in COLUMNS) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"

    def caption(self) -> str:
        return (f"Verdicts: gain per doubling at the largest x against min gain {self.min_gain:g} (metric units), "
                f"{self.level:.0%} bootstrap intervals; P(gain < min) is the share of resamples below it.")


def _span(values: list[float], fmt: str = ".3g") -> str:
    if not values:
        return "-"
    lo, hi = (f"{v:{fmt}}" for v in (min(values), max(values)))
    return lo if lo == hi else f"{lo} - {hi}"


def _grouped(results: list[AxisResult], key) -> str:
    """``a (V, H); b (M)``, or just ``a`` when every axis shares it."""
    groups: dict[str, list[str]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(axis_code(r.axis))
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{k} ({', '.join(v)})" for k, v in groups.items())


def _law_cell(r: AxisResult) -> str:
    a = r.analysis
    if a.fit is None:
        reasons = "; ".join(f"{LAW_LABELS[f.law]}: {f.reason}" for f in a.laws)
        return f"not identified ({reasons})"
    close = f", close: {', '.join(LAW_LABELS[c] for c in a.close)}" if a.close else ""
    slope = f" {a.fit.formula()}" if a.fit.law == "log_linear" else ""  # its numbers have no column of their own
    return a.fit.label + slope + close


def _verdict_cell(results: list[AxisResult]) -> tuple[str, str]:
    verdicts = {r.analysis.verdict.verdict for r in results}
    if len(verdicts) == 1:
        verdict = verdicts.pop()
        probs = [r.analysis.verdict.p_below for r in results if np.isfinite(r.analysis.verdict.p_below)]
        return verdict, f"{verdict} [{_span(probs, '.2f')}]" if probs else verdict
    parts = [f"{axis_code(r.axis)} {v.verdict} [{v.p_below:.2f}]" if v.n_resamples else
             f"{axis_code(r.axis)} {v.verdict} ({v.reason})" for r in results for v in [r.analysis.verdict]]
    return "mixed", "mixed: " + "; ".join(parts)


def _row(kind: str, results: list[AxisResult]) -> SeedRow:
    chosen = [(r, r.analysis.fit) for r in results]
    cells = {"scaling": kind, "x": _grouped(results, lambda r: r.analysis.x_name),
             "law": _grouped(results, _law_cell)}
    for name in ("alpha", "beta", "gamma"):
        cells[name] = _span([f.params[name] for _, f in chosen if f is not None and name in f.params],
                            ".4g" if name == "gamma" else ".3g")
    cells["R^2"] = _span([f.r2 for _, f in chosen if f is not None])
    verdict, cells["saturated? [P(gain < min)]"] = _verdict_cell(results)
    cells["measured gain/doubling"] = _span([r.analysis.measured.per_doubling for r in results], "+.2g")
    gains = [AxisGain(axis=r.axis, code=axis_code(r.axis), gain=r.analysis.verdict.gain,
                      lower=r.analysis.verdict.lower, upper=r.analysis.verdict.upper)
             for r in results if np.isfinite(r.analysis.verdict.gain)]
    cells["best approach"] = order_gains(gains).text if len(results) > 1 and len(gains) > 1 else "-"
    return SeedRow(kind=kind, axes=tuple(r.axis for r in results), cells=cells, verdict=verdict,
                   verdicts=tuple(r.analysis.verdict.verdict for r in results))


def seed_table(study: Mapping[str, Mapping[str, AxisData]], *, higher_is_better: bool = False,
               n_resamples: int = N_RESAMPLES, level: float = LEVEL, min_gain: float = MIN_GAIN,
               seed: int | None = 0, gamma_min: float | None = None) -> SeedTable:
    """Build the seed table from ``{row kind: {axis name: AxisData}}`` (see module docstring).

    ``gamma_min`` is a known floor of every curve (e.g. the Bayes-optimal value of a
    synthetic task), passed to each fit as gamma's lower bound. FitError names the first
    axis whose data no law can use.
    """
    results: dict[str, list[AxisResult]] = {}
    for kind, axes in study.items():
        if not axes:
            raise FitError(f"row {kind!r} has no axes")
        for axis, data in axes.items():
            try:
                analysis = analyse_axis(data.x, data.y, higher_is_better=higher_is_better, gamma_min=gamma_min,
                                        min_gain=min_gain, n_resamples=n_resamples, level=level, seed=seed,
                                        x_name=data.x_name)
            except FitError as err:
                raise FitError(f"{kind} / {axis}: {err}") from err
            results.setdefault(kind, []).append(AxisResult(kind=kind, axis=axis, analysis=analysis))
    return assemble(results, min_gain=min_gain, level=level)


def assemble(results: Mapping[str, list[AxisResult]], *, min_gain: float = MIN_GAIN, level: float = LEVEL) -> SeedTable:
    """The table of analysed axes ``{row kind: [AxisResult...]}``; rows in the order data,
    parameter, compute, then any other kinds as given."""
    kinds = [k for k in ROW_ORDER if k in results] + [k for k in results if k not in ROW_ORDER]
    rows = tuple(_row(kind, list(results[kind])) for kind in kinds if results[kind])
    axes = tuple(r for kind in kinds for r in results[kind])
    return SeedTable(rows=rows, axes=axes, min_gain=min_gain, level=level)
