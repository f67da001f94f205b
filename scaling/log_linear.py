"""Log-linear law ``y = a + b ln x`` (the form the HSTU paper reports, e.g. HR@100 vs ln C).

Fitted by (weighted) ordinary least squares in the metric's units, with ln x centred on
its mean internally; rescaling x changes only ``a``. There is no floor or ceiling, so the
law says nothing about saturation beyond the sign and size of ``b``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scaling.goodness import r_squared, rmse
from scaling.validation import as_xy, direction_warnings


@dataclass(frozen=True)
class LogLinearFit:
    """Result of :func:`fit_log_linear`: ``y = a + b ln x``."""

    param_names: ClassVar[tuple[str, ...]] = ("a", "b")

    a: float
    b: float
    r2: float
    rmse: float
    n_points: int
    warnings: tuple[str, ...]
    higher_is_better: bool
    x_min: float
    x_max: float
    n_params: int = 2
    converged: bool = True

    @property
    def params(self) -> dict[str, float]:
        return {"a": self.a, "b": self.b}

    @property
    def param_vector(self) -> NDArray[np.float64]:
        return np.array([self.a, self.b])

    def predict(self, x: ArrayLike) -> NDArray[np.float64]:
        return self.a + self.b * np.log(np.asarray(x, dtype=float))

    def predict_many(self, params: NDArray[np.float64], x: ArrayLike) -> NDArray[np.float64]:
        """Predictions (rows: parameter vectors ``(a, b)``, columns: x)."""
        p = np.atleast_2d(params)
        return p[:, :1] + p[:, 1:2] * np.log(np.asarray(x, dtype=float))[None, :]

    def gain_per_doubling(self, x: ArrayLike) -> NDArray[np.float64]:
        """Improvement in the metric from x to 2x: ``±b ln 2``, the same at every x."""
        sign = 1.0 if self.higher_is_better else -1.0
        return np.full(np.shape(x), sign * self.b * np.log(2.0))


def solve_log_linear(log_x: NDArray[np.float64], y: NDArray[np.float64],
                     weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weighted least-squares ``(a, b)`` of y on ln x."""
    w = weights / np.sum(weights)
    mx, my = np.sum(w * log_x), np.sum(w * y)
    b = np.sum(w * (log_x - mx) * (y - my)) / np.sum(w * (log_x - mx) ** 2)
    return np.array([my - b * mx, b])


def fit_log_linear(x: ArrayLike, y: ArrayLike, *, higher_is_better: bool = False) -> LogLinearFit:
    """Fit ``y = a + b ln x`` by least squares; FitError on unusable data or a contradicted direction."""
    xa, ya = as_xy(x, y, n_params=2)
    notes = direction_warnings(xa, ya, higher_is_better=higher_is_better)
    a, b = solve_log_linear(np.log(xa), ya, np.ones_like(xa))
    pred = a + b * np.log(xa)
    return LogLinearFit(a=float(a), b=float(b), r2=r_squared(ya, pred), rmse=rmse(ya, pred),
                        n_points=int(xa.size), warnings=notes, higher_is_better=higher_is_better,
                        x_min=float(xa.min()), x_max=float(xa.max()))


def log_linear_resampler(fit: LogLinearFit, x: ArrayLike, y: ArrayLike
                         ) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """A function mapping per-point weights to the refitted ``(a, b)``."""
    log_x = np.log(np.asarray(x, dtype=float))
    ya = np.asarray(y, dtype=float)
    return lambda weights: solve_log_linear(log_x, ya, weights)
