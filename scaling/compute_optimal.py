"""Compute-optimal allocation from a joint law: N_opt(C), D_opt(C).

Training compute is ``C = flops_per_example(N) * D``, with ``flops_per_example`` supplied
by the caller, either as a callable mapping N to FLOPs per example or as measured arrays
``(n_values, flops_values)`` (e.g. from trial records), which are interpolated linearly
in log-log space and extrapolated along the end segments. For each budget C the loss
``L(N, C / flops_per_example(N))`` is minimised over ln N: a dense grid over ``n_bounds``
locates the minimum and a bounded Brent search refines it. The growth exponents of
N_opt and D_opt in C are least-squares slopes in log-log space over the budgets; with
``flops_per_example ∝ N`` they equal ``b / (a + b)`` and ``a / (a + b)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize_scalar

from scaling.joint import JointFit
from scaling.validation import FitError

FlopsPerExample = Callable[[NDArray[np.float64]], NDArray[np.float64]] | tuple[ArrayLike, ArrayLike]
GRID_SIZE = 4001


@dataclass(frozen=True, eq=False)
class ComputeOptimal:
    """Loss-minimising model size and data per compute budget, and their growth exponents."""

    budgets: NDArray[np.float64]
    n_opt: NDArray[np.float64]
    d_opt: NDArray[np.float64]
    loss_opt: NDArray[np.float64]
    n_exponent: float
    d_exponent: float
    warnings: tuple[str, ...]


def flops_function(flops_per_example: FlopsPerExample) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """A callable N -> FLOPs per example, from a callable or from measured ``(n, flops)`` arrays."""
    if callable(flops_per_example):
        return lambda n: np.asarray(flops_per_example(n), dtype=float)
    n_values, flops_values = (np.asarray(v, dtype=float) for v in flops_per_example)
    if n_values.shape != flops_values.shape or n_values.ndim != 1 or n_values.size < 2:
        raise FitError("flops_per_example arrays must be two 1-D arrays of one length, at least 2 entries")
    if np.any(n_values <= 0) or np.any(flops_values <= 0) or not np.all(np.isfinite(flops_values)):
        raise FitError("flops_per_example arrays must be positive and finite")
    order = np.argsort(n_values)
    ln_n, ln_f = np.log(n_values[order]), np.log(flops_values[order])
    ln_n, first = np.unique(ln_n, return_index=True)
    ln_f = ln_f[first]
    if ln_n.size < 2:
        raise FitError("flops_per_example arrays need at least 2 distinct n values")
    lo_slope = (ln_f[1] - ln_f[0]) / (ln_n[1] - ln_n[0])
    hi_slope = (ln_f[-1] - ln_f[-2]) / (ln_n[-1] - ln_n[-2])

    def interpolate(n: NDArray[np.float64]) -> NDArray[np.float64]:
        x = np.log(np.asarray(n, dtype=float))
        inside = np.interp(x, ln_n, ln_f)
        below = ln_f[0] + lo_slope * (x - ln_n[0])
        above = ln_f[-1] + hi_slope * (x - ln_n[-1])
        return np.exp(np.where(x < ln_n[0], below, np.where(x > ln_n[-1], above, inside)))

    return interpolate


def compute_optimal(fit: JointFit, budgets: ArrayLike, flops_per_example: FlopsPerExample, *,
                    n_bounds: tuple[float, float] = (1.0, 1e15)) -> ComputeOptimal:
    """N_opt, D_opt and the loss at each compute budget under ``fit`` (see module docstring)."""
    c = np.atleast_1d(np.asarray(budgets, dtype=float))
    if c.ndim != 1 or np.any(~np.isfinite(c)) or np.any(c <= 0):
        raise FitError("budgets must be positive finite numbers")
    if not 0 < n_bounds[0] < n_bounds[1]:
        raise FitError(f"n_bounds must satisfy 0 < low < high, got {n_bounds}")
    flops = flops_function(flops_per_example)
    s_grid = np.linspace(np.log(n_bounds[0]), np.log(n_bounds[1]), GRID_SIZE)
    f_grid = flops(np.exp(s_grid))
    if np.any(~np.isfinite(f_grid)) or np.any(f_grid <= 0):
        raise FitError("flops_per_example must return positive finite FLOPs over n_bounds")

    def loss_at(s: NDArray[np.float64] | float, budget: float) -> NDArray[np.float64]:
        n = np.exp(s)
        return fit.predict(n, budget / flops(n))

    n_opt, notes = np.empty_like(c), []
    for i, budget in enumerate(c):
        k = int(np.argmin(loss_at(s_grid, budget)))
        if k in (0, GRID_SIZE - 1):
            notes.append(f"optimum for budget {budget:.3g} lies at the n_bounds edge; widen n_bounds")
            n_opt[i] = np.exp(s_grid[k])
            continue
        res = minimize_scalar(lambda s, budget=budget: float(loss_at(s, budget)), bounds=(s_grid[k - 1], s_grid[k + 1]),
                              method="bounded", options={"xatol": 1e-10})
        n_opt[i] = np.exp(res.x)
    d_opt = c / flops(n_opt)
    if c.size >= 2 and np.unique(c).size >= 2:
        n_exp, d_exp = (float(np.polyfit(np.log(c), np.log(v), 1)[0]) for v in (n_opt, d_opt))
    else:
        n_exp = d_exp = float("nan")
    return ComputeOptimal(budgets=c, n_opt=n_opt, d_opt=d_opt, loss_opt=fit.predict(n_opt, d_opt),
                          n_exponent=n_exp, d_exponent=d_exp, warnings=tuple(notes))
