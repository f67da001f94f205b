"""Huber loss on residuals and its derivative, elementwise (callers sum them)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def huber_terms(r: NDArray[np.float64], delta: float) -> NDArray[np.float64]:
    """Huber loss per residual: r^2/2 inside [-delta, delta], delta*(|r| - delta/2) outside."""
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def huber_slope(r: NDArray[np.float64], delta: float) -> NDArray[np.float64]:
    """Derivative of the Huber loss with respect to r, elementwise."""
    return np.clip(r, -delta, delta)
