"""Least-squares fits of the three per-axis laws to many weightings of one axis at once.

Laws, in error units ``e`` (``e = y``, or ``1 - y`` for a higher-is-better metric), with
``u = x / x_ref`` (``x_ref``: the geometric mean of the axis' distinct x):

* ``power_law``      ``e = b * u**-alpha + gamma``  (power law + floor, 3 parameters)
* ``pure_power_law`` ``e = b * u**-alpha``          (2 parameters)
* ``log_linear``     ``e = a + c * ln u``           (2 parameters)

Every law is fitted by weighted least squares in the metric's units: the Gaussian maximum
likelihood that AICc (:mod:`scaling.evidence`) assumes, so the criteria compare like with
like. The exponent is profiled over the log grid ``ALPHA_GRID`` on
``[ALPHA_MIN, ALPHA_MAX]``: at each alpha the linear parameters solve their box-constrained
least-squares problem exactly (``b >= 0``, ``gamma_lo <= gamma <= gamma_hi``; a convex
quadratic, so its minimum is the unconstrained one when feasible, else the best of the
edge minimisers), and the grid minimum is refined by the vertex of the parabola through
it and its neighbours in ``ln alpha``. An exponent whose grid minimum is the first or last
grid point sits at a search limit (``at_limit``).

Rows: every row of the weight matrix is one data set over the same points: a bootstrap
resample is a row of multiplicities, leave-largest-out a row with zero weight at the
largest x. Nothing here loops over rows, so a thousand resamples cost a few array passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from scaling.blas_threads import one_blas_thread

ALPHA_MIN = 1e-3
ALPHA_MAX = 10.0
ALPHA_GRID = np.geomspace(ALPHA_MIN, ALPHA_MAX, 121)  # steps of 8% in alpha
LAW_NAMES = ("power_law", "pure_power_law", "log_linear")
N_PARAMS = {"power_law": 3, "pure_power_law": 2, "log_linear": 2}
_CHUNK = 128  # rows per block: bounds the (rows x grid x points) temporaries to ~15 MB at 14 points


@dataclass(frozen=True, eq=False)
class BatchFit:
    """One law fitted to every row: parameter arrays of shape (rows,), in error units.

    ``alpha`` is NaN for the log-linear law, ``gamma`` 0 for the pure power law; for the
    log-linear law ``b`` is ``a`` and ``c`` the slope per ``ln u``.
    """

    law: str
    x_ref: float
    alpha: NDArray[np.float64]
    b: NDArray[np.float64]
    gamma: NDArray[np.float64]
    c: NDArray[np.float64]
    rss: NDArray[np.float64]
    at_limit: NDArray[np.bool_]

    @property
    def n_params(self) -> int:
        return N_PARAMS[self.law]

    def error(self, x: NDArray[np.float64] | float) -> NDArray[np.float64]:
        """Fitted error units at x, shape (rows, len(x))."""
        log_u = np.log(np.atleast_1d(np.asarray(x, dtype=float)) / self.x_ref)[None, :]
        if self.law == "log_linear":
            return self.b[:, None] + self.c[:, None] * log_u
        return self.b[:, None] * np.exp(-self.alpha[:, None] * log_u) + self.gamma[:, None]

    def gain_per_doubling(self, x: float) -> NDArray[np.float64]:
        """Improvement of the metric from x to 2x in every row (positive: the metric gets better)."""
        e = self.error([x, 2.0 * x])
        return e[:, 0] - e[:, 1]

    def select(self, rows: slice) -> BatchFit:
        """The fits of some rows only."""
        return BatchFit(self.law, self.x_ref, self.alpha[rows], self.b[rows], self.gamma[rows], self.c[rows],
                        self.rss[rows], self.at_limit[rows])

    def beta(self) -> NDArray[np.float64]:
        """The coefficient in the x units of the data, ``b * x_ref**alpha``."""
        return self.b * self.x_ref ** self.alpha


def fit_batch(law: str, x: NDArray[np.float64], e: NDArray[np.float64], weights: NDArray[np.float64], *,
              gamma_lo: float | NDArray[np.float64] = 0.0,
              gamma_hi: float | NDArray[np.float64] | None = None) -> BatchFit:
    """Fit ``law`` at ``x`` (points) to ``e`` (points, or rows x points) under ``weights`` (rows x points).

    ``gamma_lo``/``gamma_hi`` bound the floor (scalars or one per row); ``gamma_hi`` defaults
    to each row's largest ``e`` (a floor above every point is meaningless). Rows need two
    distinct weighted x (three for the power law + floor); callers check.
    """
    if law not in LAW_NAMES:
        raise ValueError(f"unknown law {law!r}; choose one of {LAW_NAMES}")
    x_ref = float(np.exp(np.mean(np.log(np.unique(x)))))
    log_u = np.log(np.asarray(x, dtype=float) / x_ref)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    ea = np.broadcast_to(np.asarray(e, dtype=float), w.shape)
    lo = np.broadcast_to(np.asarray(gamma_lo, dtype=float), w.shape[:1])
    hi = np.max(ea, axis=1) if gamma_hi is None else np.broadcast_to(np.asarray(gamma_hi, dtype=float), w.shape[:1])
    with one_blas_thread():
        parts = [_fit_rows(law, log_u, ea[i:i + _CHUNK], w[i:i + _CHUNK], lo[i:i + _CHUNK], hi[i:i + _CHUNK])
                 for i in range(0, w.shape[0], _CHUNK)]
    cols = [np.concatenate([p[k] for p in parts]) for k in range(6)]
    return BatchFit(law, x_ref, *cols[:5], cols[5].astype(bool))


def _fit_rows(law, log_u, e, w, lo, hi):
    rows = w.shape[0]
    if law == "log_linear":
        sw = w.sum(1)
        mu, me = (w @ log_u) / sw, np.sum(w * e, 1) / sw
        du, de = log_u[None, :] - mu[:, None], e - me[:, None]
        c = np.sum(w * du * de, 1) / np.sum(w * du * du, 1)
        a = me - c * mu
        rss = np.sum(w * (e - a[:, None] - c[:, None] * log_u[None, :]) ** 2, 1)
        return np.full(rows, np.nan), a, np.zeros(rows), c, rss, np.zeros(rows)
    floor = law == "power_law"
    lo, hi = lo[:, None], hi[:, None]
    ss = _solve(ALPHA_GRID, log_u, e, w, lo, hi, floor)[2]
    i = np.argmin(ss, axis=1)
    at_limit = (i == 0) | (i == ALPHA_GRID.size - 1)
    # second stage: a fine grid between the neighbours of the coarse minimum, then a parabola
    j = np.clip(i, 1, ALPHA_GRID.size - 2)
    fine = np.exp(np.linspace(np.log(ALPHA_GRID[j - 1]), np.log(ALPHA_GRID[j + 1]), _FINE, axis=1))
    ss_fine = _solve(fine, log_u, e, w, lo, hi, floor)[2]
    k = np.clip(np.argmin(ss_fine, axis=1), 1, _FINE - 2)
    r = np.arange(rows)
    s0, s1, s2 = ss_fine[r, k - 1], ss_fine[r, k], ss_fine[r, k + 1]
    curv = s2 - 2 * s1 + s0
    step = np.log(fine[:, 1] / fine[:, 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curv > 0, -0.5 * step * (s2 - s0) / curv, 0.0)
    candidates = np.stack([fine[r, k] * np.exp(np.clip(shift, -step, step)), fine[r, np.argmin(ss_fine, axis=1)],
                           ALPHA_GRID[i]], axis=1)
    b, g, s = _solve(candidates, log_u, e, w, lo, hi, floor)
    best = np.argmin(s, axis=1)
    alpha, b, g = candidates[r, best], b[r, best], g[r, best]
    pred = b[:, None] * np.exp(-alpha[:, None] * log_u[None, :]) + g[:, None]
    rss = np.sum(w * (e - pred) ** 2, 1)
    return alpha, b, g, np.full(rows, np.nan), rss, at_limit.astype(float)


_FINE = 9


def _solve(alpha, log_u, e, w, lo, hi, floor):
    """Exact box-constrained least squares of (b, gamma) at each alpha: a shared grid (k,)
    or one per row (rows x k). Returns b, gamma and the sum of squares, each rows x k."""
    if floor:  # centre e on each row's weighted mean so the expanded sums keep their precision
        sw = w.sum(1)[:, None]
        m = np.sum(w * e, 1)[:, None] / sw
    else:
        m = np.zeros((w.shape[0], 1))
    ec = e - m
    we = w * ec
    if alpha.ndim == 1:
        f = np.exp(-alpha[:, None] * log_u[None, :])
        sf, sff, sfe = w @ f.T, w @ (f * f).T, we @ f.T
    else:
        f = np.exp(-alpha[:, :, None] * log_u[None, None, :])
        sf, sff, sfe = (np.einsum("rn,rkn->rk", a, b) for a, b in ((w, f), (w, f * f), (we, f)))
    see = np.sum(we * ec, 1)[:, None]
    if not floor:
        b = np.maximum(sfe / sff, 0.0)
        return b, np.zeros_like(b), see - 2 * b * sfe + b * b * sff
    glo, ghi = lo - m, hi - m

    def ss(b, g):  # the weighted sum of e (centred) is 0
        return see - 2 * b * sfe + b * b * sff + 2 * b * g * sf + g * g * sw

    det = sw * sff - sf * sf
    with np.errstate(divide="ignore", invalid="ignore"):
        b_free = sw * sfe / det
        g_free = -b_free * sf / sw
    free_ok = (det > 1e-12 * sw * sff) & (b_free >= 0) & (g_free >= glo) & (g_free <= ghi)
    best_b = np.where(free_ok, b_free, 0.0)
    best_g = np.where(free_ok, g_free, 0.0)
    best_ss = np.where(free_ok, ss(best_b, best_g), np.inf)
    edges = [(np.maximum((sfe - g * sf) / sff, 0.0), np.broadcast_to(g, sff.shape)) for g in (glo, ghi)]
    edges.append((np.zeros_like(sff), np.broadcast_to(np.clip(0.0, glo, ghi), sff.shape)))
    for b, g in edges:
        s = ss(b, g)
        take = s < best_ss
        best_b, best_g, best_ss = np.where(take, b, best_b), np.where(take, g, best_g), np.where(take, s, best_ss)
    return best_b, best_g + m, best_ss
