"""IsoFLOP analysis (Hoffmann et al. 2022, approach 2).

Trials are grouped by their compute budget (exact value: pass the nominal budget of
each trial). Within a budget, the metric is fitted by least squares as a parabola in
``s = ln N``; its vertex ``s* = -c1 / (2 c2)`` gives the optimal size ``N_opt = exp(s*)``
(the minimum for a loss, the maximum when ``higher_is_better``). A budget with fewer than 3
distinct sizes, or whose parabola opens the wrong way, is skipped with a warning; a vertex
outside the sampled sizes is kept but marked ``interior=False`` and left out of the law.
The law ``N_opt = k * C**e`` is a least-squares line in log-log space over the interior
optima (at least 2 budgets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scaling.goodness import r_squared
from scaling.validation import FitError


@dataclass(frozen=True)
class IsoFlopParabola:
    """One budget's parabola ``y = c0 + c1 s + c2 s**2`` in ``s = ln N`` and its optimum."""

    budget: float
    coefficients: tuple[float, float, float]
    n_opt: float
    value_opt: float
    n_points: int
    interior: bool


@dataclass(frozen=True)
class IsoFlopAnalysis:
    """Per-budget optima and the law ``N_opt = coefficient * C**exponent`` fitted to them."""

    parabolas: tuple[IsoFlopParabola, ...]
    exponent: float
    coefficient: float
    r2: float
    warnings: tuple[str, ...]

    def n_opt(self, budget: ArrayLike) -> NDArray[np.float64]:
        return self.coefficient * np.asarray(budget, dtype=float) ** self.exponent


def isoflop_analysis(sizes: ArrayLike, values: ArrayLike, budgets: ArrayLike, *,
                     higher_is_better: bool = False) -> IsoFlopAnalysis:
    """Fit a parabola in ln N per compute budget and a power law of the optimal size in C."""
    n, y, c = (np.asarray(v, dtype=float) for v in (sizes, values, budgets))
    if not (n.ndim == y.ndim == c.ndim == 1 and n.size == y.size == c.size):
        raise FitError(f"sizes, values and budgets must be 1-D arrays of one length, got {n.size}, {y.size}, {c.size}")
    for name, a in (("sizes", n), ("values", y), ("budgets", c)):
        if not np.all(np.isfinite(a)):
            raise FitError(f"{name} has non-finite values at indices {np.flatnonzero(~np.isfinite(a)).tolist()}")
    if np.any(n <= 0) or np.any(c <= 0):
        raise FitError("sizes and budgets must be positive")
    sign = -1.0 if higher_is_better else 1.0
    parabolas, notes = [], []
    for budget in np.unique(c):
        mask = c == budget
        s, v = np.log(n[mask]), y[mask]
        if np.unique(s).size < 3:
            notes.append(f"budget {budget:.3g}: {np.unique(s).size} distinct sizes, a parabola needs 3; skipped")
            continue
        c2, c1, c0 = np.polyfit(s, v, 2)
        if sign * c2 <= 0:
            notes.append(f"budget {budget:.3g}: the parabola has no {'maximum' if higher_is_better else 'minimum'}; skipped")
            continue
        vertex = -c1 / (2.0 * c2)
        interior = bool(s.min() <= vertex <= s.max())
        if not interior:
            notes.append(f"budget {budget:.3g}: optimum lies outside the sampled sizes; excluded from the law")
        parabolas.append(IsoFlopParabola(budget=float(budget), coefficients=(float(c0), float(c1), float(c2)),
                                         n_opt=float(np.exp(vertex)), value_opt=float(c0 + c1 * vertex + c2 * vertex ** 2),
                                         n_points=int(mask.sum()), interior=interior))
    usable = [p for p in parabolas if p.interior]
    if len(usable) < 2:
        notes.append(f"{len(usable)} budgets with an interior optimum; the law of N_opt in C needs 2")
        return IsoFlopAnalysis(parabolas=tuple(parabolas), exponent=float("nan"), coefficient=float("nan"),
                               r2=float("nan"), warnings=tuple(notes))
    log_c = np.log([p.budget for p in usable])
    log_n = np.log([p.n_opt for p in usable])
    exponent, intercept = np.polyfit(log_c, log_n, 1)
    r2 = r_squared(log_n, intercept + exponent * log_c) if len(usable) > 2 else 1.0
    return IsoFlopAnalysis(parabolas=tuple(parabolas), exponent=float(exponent), coefficient=float(np.exp(intercept)),
                           r2=float(r2), warnings=tuple(notes))
