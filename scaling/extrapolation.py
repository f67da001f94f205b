"""Extrapolation check: fit on all but the largest x values, predict the held-out ones.

The law is fitted to the points whose x is below the ``holdout`` largest distinct x
values and bootstrapped (``n_resamples``, grouped when ``groups`` is given). The
prediction interval at each held-out x is the percentile interval of the bootstrap
curve plus one residual of the kept fit (metric units, inflated by sqrt(n / (n - k)) for
the k fitted parameters) drawn per sample, so it covers a new observation, not only the
mean curve. Reported: predictions, relative errors ``(pred - y) / |y|``, and whether each
held-out observation falls inside its interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scaling.bootstrap import bootstrap, percentile_interval
from scaling.laws import ParametricFit, fit_law
from scaling.validation import FitError


@dataclass(frozen=True, eq=False)
class ExtrapolationCheck:
    """Held-out points, their predictions and prediction intervals from the kept fit."""

    fit: ParametricFit
    level: float
    x_held: NDArray[np.float64]
    y_held: NDArray[np.float64]
    y_pred: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    rel_error: NDArray[np.float64]
    within: NDArray[np.bool_]

    @property
    def max_abs_rel_error(self) -> float:
        return float(np.max(np.abs(self.rel_error)))

    @property
    def fraction_within(self) -> float:
        return float(np.mean(self.within))


def check_extrapolation(x: ArrayLike, y: ArrayLike, *, holdout: int = 1, law: str = "power_law",
                        higher_is_better: bool = False, groups: ArrayLike | None = None,
                        n_resamples: int = 500, level: float = 0.95, seed: int | None = 0,
                        **fit_options) -> ExtrapolationCheck:
    """Fit ``law`` without the ``holdout`` largest distinct x values and test its predictions there."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xa.shape != ya.shape:
        raise FitError(f"x and y have mismatched lengths: {xa.size} and {ya.size}")
    distinct = np.unique(xa)
    if not 1 <= holdout < distinct.size:
        raise FitError(f"holdout must be between 1 and {distinct.size - 1}, got {holdout}")
    held = xa >= distinct[-holdout]
    fit = fit_law(law, xa[~held], ya[~held], higher_is_better=higher_is_better, **fit_options)
    g = None if groups is None else np.asarray(groups)[~held]
    boot = bootstrap(fit, xa[~held], ya[~held], groups=g, n_resamples=n_resamples, level=level,
                     x_pred=xa[held], seed=seed)
    residuals = ya[~held] - fit.predict(xa[~held])
    inflate = np.sqrt(residuals.size / max(residuals.size - fit.n_params, 1))
    rng = np.random.default_rng(seed)
    noise = inflate * rng.choice(residuals, size=boot.pred_samples.shape)
    lower, upper = percentile_interval(boot.pred_samples + noise, level)
    y_pred = fit.predict(xa[held])
    return ExtrapolationCheck(fit=fit, level=level, x_held=xa[held], y_held=ya[held], y_pred=y_pred,
                              lower=lower, upper=upper, rel_error=(y_pred - ya[held]) / np.abs(ya[held]),
                              within=(lower <= ya[held]) & (ya[held] <= upper))
