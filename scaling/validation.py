"""Input checks shared by every fit, and the error they raise."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

DIRECTION_P_VALUE = 0.01


class FitError(ValueError):
    """Raised when the data cannot support the requested fit."""


def as_xy(x: ArrayLike, y: ArrayLike, *, n_params: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return x and y as 1-D float arrays, or raise FitError naming what is wrong.

    A law with ``n_params`` free parameters needs at least ``n_params + 1`` points
    (so that something is left to judge the fit by) and at least ``n_params``
    distinct x values. Repeated x values (replicate seeds) are allowed.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.ndim != 1 or ya.ndim != 1:
        raise FitError(f"x and y must be 1-D arrays, got shapes {xa.shape} and {ya.shape}")
    if xa.shape != ya.shape:
        raise FitError(f"x and y have mismatched lengths: {xa.size} and {ya.size}")
    needed = n_params + 1
    if xa.size < needed:
        raise FitError(
            f"too few points: {xa.size} given, a law with {n_params} parameters needs at least {needed}"
        )
    if not np.all(np.isfinite(xa)):
        raise FitError(f"x has non-finite values at indices {np.flatnonzero(~np.isfinite(xa)).tolist()}")
    if not np.all(np.isfinite(ya)):
        raise FitError(f"y has non-finite values at indices {np.flatnonzero(~np.isfinite(ya)).tolist()}")
    if np.any(xa <= 0):
        raise FitError(f"x must be positive; non-positive values at indices {np.flatnonzero(xa <= 0).tolist()}")
    if np.ptp(ya) == 0:
        raise FitError(f"all y values are equal ({ya[0]!r}); there is no trend to fit")
    n_distinct = np.unique(xa).size
    if n_distinct < n_params:
        raise FitError(
            f"too few distinct x values: {n_distinct}, a law with {n_params} parameters needs at least {n_params}"
        )
    return xa, ya


def direction_warnings(x: NDArray[np.float64], y: NDArray[np.float64], *, higher_is_better: bool) -> tuple[str, ...]:
    """Check that y moves the way the metric direction says it should as x grows.

    The trend is the least-squares slope of y on ln x. A slope of the wrong sign with
    p < ``DIRECTION_P_VALUE`` contradicts the stated direction and raises FitError; a
    wrong-sign slope that is not significant (a flat, saturated curve) returns a warning.
    """
    if np.unique(x).size < 2:
        return ()
    result = stats.linregress(np.log(x), y)
    improving = result.slope > 0 if higher_is_better else result.slope < 0
    if improving:
        return ()
    direction = "higher_is_better=True" if higher_is_better else "higher_is_better=False (lower is better)"
    trend = "falls" if result.slope < 0 else "rises"
    if result.pvalue < DIRECTION_P_VALUE:
        raise FitError(
            f"metric direction contradicts the data: {direction} but y {trend} with x "
            f"(slope {result.slope:.3g} per ln x, p = {result.pvalue:.2g}); check higher_is_better"
        )
    return (f"y does not improve with x under {direction} (slope {result.slope:.3g} per ln x, not significant)",)
