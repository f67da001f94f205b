"""Goodness of fit in the metric's own units: R^2, RMSE, AIC and BIC.

AIC and BIC use the Gaussian log-likelihood of the residuals in metric units,
``n ln(RSS / n) + 2k`` and ``n ln(RSS / n) + k ln n`` (k = number of free law parameters),
so laws fitted to the same points can be compared: lower is better.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def r_squared(y: ArrayLike, pred: ArrayLike) -> float:
    """Coefficient of determination, 1 - RSS / TSS."""
    ya, pa = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    tss = float(np.sum((ya - ya.mean()) ** 2))
    return 1.0 - float(np.sum((ya - pa) ** 2)) / tss if tss > 0 else float("nan")


def rmse(y: ArrayLike, pred: ArrayLike) -> float:
    """Root mean squared error."""
    ya, pa = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    return float(np.sqrt(np.mean((ya - pa) ** 2)))


def _log_rss_term(y: ArrayLike, pred: ArrayLike) -> tuple[int, float]:
    ya, pa = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    rss = max(float(np.sum((ya - pa) ** 2)), np.finfo(float).tiny)
    return ya.size, ya.size * float(np.log(rss / ya.size))


def aic(y: ArrayLike, pred: ArrayLike, n_params: int) -> float:
    """Akaike information criterion from Gaussian residuals: n ln(RSS/n) + 2k."""
    _, term = _log_rss_term(y, pred)
    return term + 2.0 * n_params


def bic(y: ArrayLike, pred: ArrayLike, n_params: int) -> float:
    """Bayesian information criterion from Gaussian residuals: n ln(RSS/n) + k ln n."""
    n, term = _log_rss_term(y, pred)
    return term + n_params * float(np.log(n))
