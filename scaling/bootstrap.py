"""Bootstrap confidence intervals for per-axis laws.

Method: nonparametric bootstrap. Each resample draws the points with replacement (or,
when ``groups`` is given, draws whole replicate groups such as seeds with replacement and
keeps every point of each drawn group); it is expressed as per-point weights, so the
refit sums the loss over the resampled multiset exactly as the full fit does. Power-law
refits are warm-started from the full-data optimum (one L-BFGS-B run each). Resamples
with fewer distinct x values than the law has parameters are redrawn; refits that do not
converge are dropped and counted in ``n_failed``. Intervals are percentile intervals at
``level`` for every parameter and for the prediction at each requested x.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scaling.laws import ParametricFit
from scaling.log_linear import LogLinearFit, log_linear_resampler
from scaling.power_law import PowerLawFit, power_law_resampler
from scaling.validation import FitError

MAX_REDRAWS = 100


@dataclass(frozen=True, eq=False)
class Bootstrap:
    """Bootstrap distribution of a fit's parameters (rows of ``samples``) and predictions."""

    fit: ParametricFit
    level: float
    n_resamples: int
    n_failed: int
    grouped: bool
    samples: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    x_pred: NDArray[np.float64]
    pred_samples: NDArray[np.float64]
    pred_lower: NDArray[np.float64]
    pred_upper: NDArray[np.float64]

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.fit.param_names

    def interval(self, name: str) -> tuple[float, float]:
        """The ``level`` percentile interval of parameter ``name``."""
        i = self.param_names.index(name)
        return float(self.lower[i]), float(self.upper[i])

    def std(self, name: str) -> float:
        """Bootstrap standard error of parameter ``name``."""
        return float(np.std(self.samples[:, self.param_names.index(name)], ddof=1))

    def predict_samples(self, x: ArrayLike) -> NDArray[np.float64]:
        """Metric predictions at x for every bootstrap sample (rows: samples)."""
        return self.fit.predict_many(self.samples, np.atleast_1d(np.asarray(x, dtype=float)))

    def gain_per_doubling_samples(self, x: float) -> NDArray[np.float64]:
        """Improvement in the metric from x to 2x for every bootstrap sample."""
        pred = self.predict_samples([x, 2.0 * x])
        sign = 1.0 if self.fit.higher_is_better else -1.0
        return sign * (pred[:, 1] - pred[:, 0])


def percentile_interval(samples: NDArray[np.float64], level: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Lower and upper ``level`` percentile bounds along axis 0."""
    tail = 50.0 * (1.0 - level)
    return np.percentile(samples, tail, axis=0), np.percentile(samples, 100.0 - tail, axis=0)


def resample_weights(n_points: int, groups: NDArray | None, rng: np.random.Generator) -> NDArray[np.float64]:
    """Per-point multiplicities of one bootstrap resample (of points, or of whole groups)."""
    if groups is None:
        return np.bincount(rng.integers(0, n_points, n_points), minlength=n_points).astype(float)
    labels, index = np.unique(groups, return_inverse=True)
    counts = np.bincount(rng.integers(0, labels.size, labels.size), minlength=labels.size)
    return counts[index].astype(float)


def _resampler(fit: ParametricFit, x: NDArray[np.float64], y: NDArray[np.float64]
               ) -> Callable[[NDArray[np.float64]], NDArray[np.float64] | None]:
    if isinstance(fit, PowerLawFit):
        return power_law_resampler(fit, x, y)
    if isinstance(fit, LogLinearFit):
        return log_linear_resampler(fit, x, y)
    raise TypeError(f"no bootstrap for {type(fit).__name__}")


def collect_refits(refit: Callable[[NDArray[np.float64]], NDArray[np.float64] | None],
                   draw: Callable[[], NDArray[np.float64]], n_resamples: int) -> tuple[NDArray[np.float64], int]:
    """Refit ``n_resamples`` drawn weightings; the converged parameter rows and the failure count."""
    rows, failed = [], 0
    for _ in range(n_resamples):
        params = refit(draw())
        if params is None:
            failed += 1
        else:
            rows.append(params)
    if len(rows) < 2:
        raise FitError(f"only {len(rows)} of {n_resamples} bootstrap refits converged")
    return np.array(rows), failed


def bootstrap(fit: ParametricFit, x: ArrayLike, y: ArrayLike, *, groups: ArrayLike | None = None,
              n_resamples: int = 1000, level: float = 0.95, x_pred: ArrayLike | None = None,
              seed: int | None = 0) -> Bootstrap:
    """Bootstrap ``fit`` (made from exactly these x, y) and return percentile intervals.

    ``groups`` holds a replicate id per point (e.g. the seed); with it, whole groups are
    resampled, which keeps seed-correlated errors together. Predictions are evaluated at
    ``x_pred`` (default: the distinct observed x).
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.shape != ya.shape or xa.size != fit.n_points:
        raise FitError(f"bootstrap needs the {fit.n_points} points the fit was made from, got {xa.size}")
    if not 0.0 < level < 1.0:
        raise FitError(f"level must lie in (0, 1), got {level}")
    if n_resamples < 2:
        raise FitError(f"n_resamples must be at least 2, got {n_resamples}")
    g = None if groups is None else np.asarray(groups)
    if g is not None and (g.shape != xa.shape or np.unique(g).size < 2):
        raise FitError("groups must give one replicate id per point and contain at least 2 distinct ids")
    xp = np.unique(xa) if x_pred is None else np.atleast_1d(np.asarray(x_pred, dtype=float))

    refit = _resampler(fit, xa, ya)
    rng = np.random.default_rng(seed)
    samples, failed = collect_refits(refit, lambda: _draw_identifiable(xa, g, fit.n_params, rng), n_resamples)
    lower, upper = percentile_interval(samples, level)
    pred = fit.predict_many(samples, xp)
    pred_lower, pred_upper = percentile_interval(pred, level)
    return Bootstrap(fit=fit, level=level, n_resamples=n_resamples, n_failed=failed, grouped=g is not None,
                     samples=samples, lower=lower, upper=upper, x_pred=xp, pred_samples=pred,
                     pred_lower=pred_lower, pred_upper=pred_upper)


def _draw_identifiable(x: NDArray[np.float64], groups: NDArray | None, n_params: int,
                       rng: np.random.Generator) -> NDArray[np.float64]:
    for _ in range(MAX_REDRAWS):
        weights = resample_weights(x.size, groups, rng)
        if np.unique(x[weights > 0]).size >= n_params:
            return weights
    raise FitError(f"resamples rarely contain {n_params} distinct x values; too few points or groups to bootstrap")
