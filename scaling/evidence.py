"""Which law an axis follows, chosen by evidence, and when a fit is not identified.

The candidates are the laws of :mod:`scaling.batch_fit` (power law + floor, pure power
law, log-linear), each fitted by least squares to every trial (seeds included).

**AICc** (Hurvich & Tsai 1989), for least squares with Gaussian errors of unknown variance::

    AICc = n ln(RSS / n) + 2K + 2K(K + 1) / (n - K - 1),   K = p + 1

with n the number of trials and K the law's p parameters plus the noise variance. At
n = 10-14 the correction is 2-8 units for the 3-parameter law: it is what keeps a free
floor from winning on 5-7 points by fitting noise. AICc is infinite (the law cannot be
judged) when n <= K + 1. Laws whose AICc is within ``CLOSE_AICC = 2`` of the best are
*close* (Burnham & Anderson 2002: such models have substantial support).

**Leave-largest-out**: each law is fitted without the trials at the largest x and
predicts the mean metric there; the error is prediction minus observed mean, in metric
units. It tests what a scaling law is for: extrapolation.

**Identified.** A fit is *not identified*, and never shown as numbers in a headline row,
when (reason given in ``LawFit.reason``):

* its exponent sits at a search limit (``ALPHA_MIN`` or ``ALPHA_MAX``);
* its floor is not identified: the ``level`` bootstrap interval of gamma is wider than
  the span of the per-x means of the data (the data do not locate the floor within
  their own range);
* AICc is infinite (too few trials for the law's parameters).

**Choice**: among identified laws, those close to the best AICc; of these, the one with
the smallest absolute leave-largest-out error (ties: the lower AICc). ``close`` lists the
other laws within ``CLOSE_AICC``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from scaling.batch_fit import ALPHA_MAX, ALPHA_MIN, BatchFit

CLOSE_AICC = 2.0
LAW_LABELS = {"power_law": "power law + floor", "pure_power_law": "pure power law", "log_linear": "log-linear"}


def aicc(rss: NDArray[np.float64] | float, n: int, n_params: int) -> NDArray[np.float64]:
    """AICc of least-squares fits with ``n_params`` law parameters (see the module docstring)."""
    k = n_params + 1
    rss = np.maximum(np.asarray(rss, dtype=float), np.finfo(float).tiny)
    if n - k - 1 <= 0:
        return np.full(rss.shape, np.inf)
    return n * np.log(rss / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


@dataclass(frozen=True, eq=False)
class LawFit:
    """One law fitted to all trials of an axis, with its evidence.

    ``params`` are in the metric's conventions: ``alpha, beta, gamma`` of
    ``e = beta * x**-alpha + gamma`` (e = y, or 1 - y when higher is better; gamma 0 for the
    pure power law), or ``a, b`` of ``y = a + b ln x``. ``intervals`` are their bootstrap
    percentile intervals.
    """

    law: str
    params: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    n_points: int
    rss: float
    r2: float
    aicc: float
    llo_error: float
    identified: bool
    reason: str
    higher_is_better: bool
    batch: BatchFit = field(repr=False)
    delta_aicc: float = float("nan")

    @property
    def label(self) -> str:
        return LAW_LABELS[self.law]

    def predict(self, x) -> NDArray[np.float64]:
        """The metric predicted at x."""
        e = self.batch.error(x)[0]
        return 1.0 - e if self.higher_is_better else e

    def formula(self) -> str:
        """The fitted law as text, e.g. ``0.42·x^-0.31 + 0.71``."""
        p = self.params
        if self.law == "log_linear":
            return f"{p['a']:.4g} {'+' if p['b'] >= 0 else '-'} {abs(p['b']):.3g}·ln x"
        head = "1 - y = " if self.higher_is_better else ""
        floor = f" + {p['gamma']:.4g}" if self.law == "power_law" else ""
        return f"{head}{p['beta']:.3g}·x^-{p['alpha']:.3f}{floor}"


def law_params(batch: BatchFit, higher_is_better: bool) -> dict[str, NDArray[np.float64]]:
    """Per-row parameters of a batch fit in the conventions of :class:`LawFit`."""
    if batch.law == "log_linear":
        a = batch.b - batch.c * np.log(batch.x_ref)
        return {"a": 1.0 - a, "b": -batch.c} if higher_is_better else {"a": a, "b": batch.c}
    out = {"alpha": batch.alpha, "beta": batch.beta()}
    if batch.law == "power_law":
        out["gamma"] = batch.gamma
    return out


def not_identified_reason(point: BatchFit, boot: BatchFit, usable: NDArray[np.bool_], *, span: float,
                          n_points: int, level: float) -> str:
    """Why the full-data fit (row 0 of ``point``) is not identified, or ``""`` when it is."""
    if not np.isfinite(aicc(point.rss[0], n_points, point.n_params)):
        return f"too few trials ({n_points}) for AICc with {point.n_params} parameters"
    if point.law == "log_linear":
        return ""
    if point.at_limit[0]:
        limit = ALPHA_MAX if point.alpha[0] > 1.0 else ALPHA_MIN
        return f"exponent at its search limit ({limit:g})"
    if point.law == "power_law" and usable.sum() >= 2:
        tail = 50.0 * (1.0 - level)
        lo, hi = np.percentile(boot.gamma[usable], [tail, 100.0 - tail])
        if hi - lo > span:
            return (f"floor not identified ({level:.0%} interval of gamma [{lo:.3g}, {hi:.3g}] is wider than "
                    f"the span of the data, {span:.2g})")
    return ""


def choose(laws: list[LawFit]) -> tuple[str | None, tuple[str, ...]]:
    """The chosen law and the other close laws, by the rule of the module docstring."""
    candidates = [f for f in laws if f.identified]
    if not candidates:
        return None, ()
    best = min(f.aicc for f in candidates)
    close = [f for f in candidates if f.aicc - best <= CLOSE_AICC]
    llo = lambda f: abs(f.llo_error) if np.isfinite(f.llo_error) else np.inf
    chosen = min(close, key=lambda f: (llo(f), f.aicc))
    return chosen.law, tuple(f.law for f in close if f is not chosen)
