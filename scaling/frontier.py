"""Compute frontier: the best metric reached at or below each training-FLOP count.

The frontier keeps, in order of increasing FLOPs, every trial that beats all trials with
no more FLOPs (strictly lower loss, or strictly higher when ``higher_is_better``); at
equal FLOPs only the best trial counts. A law (default: power law plus constant) is then
fitted to the frontier points; when that is impossible the fit is None and the reason
is in ``warnings``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scaling.laws import ParametricFit, fit_law
from scaling.validation import FitError


@dataclass(frozen=True, eq=False)
class ComputeFrontier:
    """Frontier points (sorted by FLOPs), their indices in the input, and the law fitted to them."""

    flops: NDArray[np.float64]
    values: NDArray[np.float64]
    indices: NDArray[np.int64]
    fit: ParametricFit | None
    warnings: tuple[str, ...]


def frontier_indices(flops: NDArray[np.float64], values: NDArray[np.float64], *,
                     higher_is_better: bool = False) -> NDArray[np.int64]:
    """Indices of the frontier trials, in order of increasing FLOPs."""
    score = -values if higher_is_better else values
    order = np.lexsort((score, flops))
    kept, best = [], np.inf
    for i in order:
        if score[i] < best:
            kept.append(i)
            best = score[i]
    return np.array(kept, dtype=np.int64)


def compute_frontier(flops: ArrayLike, values: ArrayLike, *, higher_is_better: bool = False,
                     law: str = "power_law") -> ComputeFrontier:
    """The lower (upper, when higher is better) envelope of the metric over FLOPs, and its law."""
    f, y = np.asarray(flops, dtype=float), np.asarray(values, dtype=float)
    if f.ndim != 1 or f.shape != y.shape:
        raise FitError(f"flops and values must be 1-D arrays of one length, got shapes {f.shape} and {y.shape}")
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(y))):
        raise FitError("flops and values must be finite")
    if np.any(f <= 0):
        raise FitError("flops must be positive")
    idx = frontier_indices(f, y, higher_is_better=higher_is_better)
    fit, notes = None, []
    try:
        fit = fit_law(law, f[idx], y[idx], higher_is_better=higher_is_better)
    except FitError as err:
        notes.append(f"no law fitted to the {idx.size} frontier points: {err}")
    return ComputeFrontier(flops=f[idx], values=y[idx], indices=idx, fit=fit, warnings=tuple(notes))
