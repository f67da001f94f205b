"""The seed table: one row per kind of scaling (data, parameter, compute).

Input, per row kind, the axes scaled under it, each as arrays ``AxisData(x, y, groups)``
(x in that row's unit: examples, parameters or FLOPs). Per axis: a power law plus
constant (:func:`scaling.fit_power_law`), its bootstrap (grouped when ``groups`` is
given), and the saturation verdict of :mod:`scaling.saturation` with the seed spread
of replicated x values as the noise floor when there are replicates, else the relative
threshold. Per row: the range across axes of alpha, beta, gamma and R^2; saturated
"yes" (every axis), "no" (none) or "mixed (codes of the saturated axes)"; and the best
approach from :func:`scaling.rank_axes` (``-`` with a single axis).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from numpy.typing import ArrayLike

from scaling.bootstrap import Bootstrap, bootstrap
from scaling.power_law import PowerLawFit, fit_power_law
from scaling.ranking import axis_code, rank_axes
from scaling.saturation import REL_THRESHOLD, Saturation, assess_saturation, seed_spread
from scaling.validation import FitError

ROW_ORDER = ("data", "parameter", "compute")
COLUMNS = ("scaling", "alpha", "beta", "gamma", "R^2", "saturated", "best approach")


@dataclass(frozen=True)
class AxisData:
    """One axis of a study: x, the metric y, and optional replicate (seed) ids per point."""

    x: ArrayLike
    y: ArrayLike
    groups: ArrayLike | None = None


@dataclass(frozen=True)
class AxisResult:
    """Everything the table says about one axis."""

    kind: str
    axis: str
    fit: PowerLawFit
    bootstrap: Bootstrap
    saturation: Saturation


@dataclass(frozen=True)
class SeedRow:
    """One row of the seed table; ranges are (min, max) across the row's axes."""

    kind: str
    axes: tuple[str, ...]
    alpha: tuple[float, float]
    beta: tuple[float, float]
    gamma: tuple[float, float]
    r2: tuple[float, float]
    saturated: str
    best_approach: str

    def record(self) -> dict[str, object]:
        """The row as a flat dict of numbers and strings (one record of a data frame)."""
        out: dict[str, object] = {"scaling": self.kind, "axes": ",".join(axis_code(a) for a in self.axes)}
        for name in ("alpha", "beta", "gamma", "r2"):
            lo, hi = getattr(self, name)
            out[f"{name}_min"], out[f"{name}_max"] = lo, hi
        out["saturated"] = self.saturated
        out["best_approach"] = self.best_approach
        return out


@dataclass(frozen=True)
class SeedTable:
    """The table's rows and the per-axis results behind them."""

    rows: tuple[SeedRow, ...]
    axes: tuple[AxisResult, ...]

    def records(self) -> list[dict[str, object]]:
        return [row.record() for row in self.rows]

    def markdown(self) -> str:
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
        for row in self.rows:
            cells = [row.kind, _span(row.alpha), _span(row.beta), _span(row.gamma), _span(row.r2),
                     row.saturated, row.best_approach]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


def _span(bounds: tuple[float, float]) -> str:
    lo, hi = (f"{v:.3g}" for v in bounds)
    return lo if lo == hi else f"{lo} - {hi}"


def _axis_result(kind: str, axis: str, data: AxisData, *, higher_is_better: bool, n_resamples: int,
                 level: float, rel_threshold: float, seed: int | None, gamma_min: float | None) -> AxisResult:
    try:
        fit = fit_power_law(data.x, data.y, higher_is_better=higher_is_better, gamma_min=gamma_min)
        boot = bootstrap(fit, data.x, data.y, groups=data.groups, n_resamples=n_resamples, level=level, seed=seed)
    except FitError as err:
        raise FitError(f"{kind} / {axis}: {err}") from err
    saturation = assess_saturation(fit, noise=seed_spread(data.x, data.y) or None, rel_threshold=rel_threshold)
    return AxisResult(kind=kind, axis=axis, fit=fit, bootstrap=boot, saturation=saturation)


def _row(kind: str, results: list[AxisResult]) -> SeedRow:
    def span(name: str) -> tuple[float, float]:
        values = [getattr(r.fit, name) for r in results]
        return float(min(values)), float(max(values))

    saturated = [axis_code(r.axis) for r in results if r.saturation.saturated]
    verdict = "yes" if len(saturated) == len(results) else "no" if not saturated else f"mixed ({', '.join(saturated)})"
    best = rank_axes({r.axis: r.bootstrap for r in results}).text if len(results) > 1 else "-"
    return SeedRow(kind=kind, axes=tuple(r.axis for r in results), alpha=span("alpha"), beta=span("beta"),
                   gamma=span("gamma"), r2=span("r2"), saturated=verdict, best_approach=best)


def seed_table(study: Mapping[str, Mapping[str, AxisData]], *, higher_is_better: bool = False,
               n_resamples: int = 200, level: float = 0.95, rel_threshold: float = REL_THRESHOLD,
               seed: int | None = 0, gamma_min: float | None = None) -> SeedTable:
    """Build the seed table from ``{row kind: {axis name: AxisData}}`` (see module docstring).

    ``gamma_min`` is a known floor of every curve (e.g. the Bayes-optimal value of a
    synthetic task), passed to each fit as gamma's lower bound.

    Rows come in the order data, parameter, compute, then any other kinds as given.
    """
    kinds = [k for k in ROW_ORDER if k in study] + [k for k in study if k not in ROW_ORDER]
    rows, axes = [], []
    for kind in kinds:
        if not study[kind]:
            raise FitError(f"row {kind!r} has no axes")
        results = [_axis_result(kind, axis, data, higher_is_better=higher_is_better, n_resamples=n_resamples,
                                level=level, rel_threshold=rel_threshold, seed=seed, gamma_min=gamma_min)
                   for axis, data in study[kind].items()]
        rows.append(_row(kind, results))
        axes.extend(results)
    return SeedTable(rows=tuple(rows), axes=tuple(axes))
