"""Joint law in model size and data, ``L(N, D) = E + A / N**a + B / D**b``.

Method (Hoffmann et al. 2022, approach 3, as replicated by Besiroglu et al. 2024):
``log L_pred = logsumexp(log A - a ln N, log B - b ln D, log E)``; the Huber loss
(``delta`` = 1e-3) of ``log L_pred - log L`` is SUMMED over points and minimised with
L-BFGS-B (analytic gradient; exponents a, b >= 0). Initialisations: the Chinchilla grid
a, b in {0, 0.5, ..., 2}, log E in {-1, -0.5, ..., 1}, log A, log B in {0, 5, ..., 25}
(4500 points, in the caller's units of N and D). The summed loss is evaluated at every
grid point and L-BFGS-B is run from the ``n_starts`` best; the lowest final loss wins.
Optimisation runs in coordinates centred on the mean ln N and ln D (log A and log B
shifted accordingly), which only improves conditioning. A fit whose optimiser neither
reported success nor stopped at a stationary point carries ``converged=False``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import product
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import OptimizeResult
from scipy.special import logsumexp, softmax

from scaling.goodness import r_squared, rmse
from scaling.huber import huber_slope, huber_terms
from scaling.power_law import multistart_lbfgs
from scaling.validation import FitError

GRID_EXPONENT = np.arange(0.0, 2.01, 0.5)
GRID_LOG_E = np.arange(-1.0, 1.01, 0.5)
GRID_LOG_AB = np.arange(0.0, 25.1, 5.0)
EXPONENT_MAX = 10.0
LOG_E_SPAN = 30.0
GRID_CHUNK = 500
_LBFGS_OPTIONS = {"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10}


@dataclass(frozen=True)
class JointFit:
    """Result of :func:`fit_joint_law`: ``L = E + A / N**a + B / D**b``."""

    param_names: ClassVar[tuple[str, ...]] = ("E", "A", "B", "a", "b")

    E: float
    A: float
    B: float
    a: float
    b: float
    r2: float
    rmse: float
    n_points: int
    converged: bool
    warnings: tuple[str, ...]
    loss: float
    delta: float
    n_params: int = 5

    @property
    def params(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.param_names}

    @property
    def param_vector(self) -> NDArray[np.float64]:
        return np.array([self.E, self.A, self.B, self.a, self.b])

    def predict(self, n: ArrayLike, d: ArrayLike) -> NDArray[np.float64]:
        n, d = np.asarray(n, dtype=float), np.asarray(d, dtype=float)
        return self.E + self.A * n ** (-self.a) + self.B * d ** (-self.b)

    @property
    def n_opt_exponent(self) -> float:
        """``b / (a + b)``: N_opt grows as C to this power when FLOPs per example are ∝ N."""
        return self.b / (self.a + self.b)

    @property
    def d_opt_exponent(self) -> float:
        """``a / (a + b)``: D_opt grows as C to this power when FLOPs per example are ∝ N."""
        return self.a / (self.a + self.b)


class JointProblem:
    """Summed Huber loss in centred coordinates ``(log A', log B', log E, a, b)``."""

    def __init__(self, n: NDArray[np.float64], d: NDArray[np.float64], loss: NDArray[np.float64], delta: float):
        self.ln_n_mean, self.ln_d_mean = float(np.mean(np.log(n))), float(np.mean(np.log(d)))
        self.ln_n = np.log(n) - self.ln_n_mean
        self.ln_d = np.log(d) - self.ln_d_mean
        self.log_loss = np.log(loss)
        self.delta = delta
        log_e_bounds = (float(self.log_loss.min()) - LOG_E_SPAN, float(self.log_loss.max()))
        self.bounds = [(None, None), (None, None), log_e_bounds, (0.0, EXPONENT_MAX), (0.0, EXPONENT_MAX)]

    def _terms(self, theta: NDArray[np.float64]) -> NDArray[np.float64]:
        """The three log-terms, shape (starts, points, 3)."""
        t = np.atleast_2d(theta)
        la, lb, le, a, b = (t[:, i:i + 1] for i in range(5))
        e = np.broadcast_to(le, (t.shape[0], self.ln_n.size))
        return np.stack([la - a * self.ln_n, lb - b * self.ln_d, e], axis=-1)

    def objective(self, theta: NDArray[np.float64], weights: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        z = self._terms(theta)[0]
        r = logsumexp(z, axis=-1) - self.log_loss
        p = softmax(z, axis=-1)
        s = weights * huber_slope(r, self.delta) / self.delta
        grad = np.array([np.sum(s * p[:, 0]), np.sum(s * p[:, 1]), np.sum(s * p[:, 2]),
                         -np.sum(s * p[:, 0] * self.ln_n), -np.sum(s * p[:, 1] * self.ln_d)])
        return float(np.sum(weights * huber_terms(r, self.delta))) / self.delta, grad

    def centre(self, raw: NDArray[np.float64]) -> NDArray[np.float64]:
        """Raw ``(log A, log B, log E, a, b)`` rows to centred coordinates."""
        out = np.array(raw, dtype=float)
        out[..., 0] -= out[..., 3] * self.ln_n_mean
        out[..., 1] -= out[..., 4] * self.ln_d_mean
        return out

    def to_params(self, theta: NDArray[np.float64]) -> NDArray[np.float64]:
        """Centred coordinates to ``(E, A, B, a, b)``."""
        la, lb, le, a, b = theta
        return np.array([np.exp(le), np.exp(la + a * self.ln_n_mean), np.exp(lb + b * self.ln_d_mean), a, b])

    def grid_starts(self, n_starts: int) -> NDArray[np.float64]:
        raw = np.array([(la, lb, le, a, b) for a, b, le, la, lb in
                        product(GRID_EXPONENT, GRID_EXPONENT, GRID_LOG_E, GRID_LOG_AB, GRID_LOG_AB)])
        theta = self.centre(raw)
        theta[:, 2] = np.clip(theta[:, 2], *self.bounds[2])
        losses = np.concatenate([
            np.sum(huber_terms(logsumexp(self._terms(chunk), axis=-1) - self.log_loss[None, :], self.delta), axis=1)
            for chunk in np.array_split(theta, max(1, theta.shape[0] // GRID_CHUNK))
        ])
        return theta[np.argsort(losses, kind="stable")[:n_starts]]

    def solve(self, starts: NDArray[np.float64], weights: NDArray[np.float64]) -> tuple[OptimizeResult, bool]:
        return multistart_lbfgs(self.objective, starts, weights, self.bounds, _LBFGS_OPTIONS)


def as_joint_data(n: ArrayLike, d: ArrayLike, loss: ArrayLike) -> tuple[NDArray[np.float64], ...]:
    """Validate (N, D, L) arrays for the joint law; FitError naming the problem."""
    arrays = [np.asarray(v, dtype=float) for v in (n, d, loss)]
    if any(a.ndim != 1 for a in arrays) or len({a.size for a in arrays}) != 1:
        raise FitError(f"n, d and loss must be 1-D arrays of one length, got sizes {[a.size for a in arrays]}")
    if arrays[0].size < 6:
        raise FitError(f"too few points: {arrays[0].size} given, the joint law has 5 parameters and needs at least 6")
    for name, a in zip(("n", "d", "loss"), arrays):
        if not np.all(np.isfinite(a)):
            raise FitError(f"{name} has non-finite values at indices {np.flatnonzero(~np.isfinite(a)).tolist()}")
        if np.any(a <= 0):
            raise FitError(f"{name} must be positive; non-positive values at indices {np.flatnonzero(a <= 0).tolist()}")
    if np.unique(arrays[0]).size < 2 or np.unique(arrays[1]).size < 2:
        raise FitError("the joint law needs at least 2 distinct values of both n and d")
    if np.ptp(arrays[2]) == 0:
        raise FitError("all loss values are equal; there is no trend to fit")
    return tuple(arrays)


def fit_joint_law(n: ArrayLike, d: ArrayLike, loss: ArrayLike, *, delta: float = 1e-3,
                  n_starts: int = 16) -> JointFit:
    """Fit ``L(N, D) = E + A / N**a + B / D**b`` to losses (lower is better) by the module's method."""
    na, da, la = as_joint_data(n, d, loss)
    problem = JointProblem(na, da, la, delta)
    weights = np.ones_like(la)
    res, converged = problem.solve(problem.grid_starts(n_starts), weights)
    return _joint_fit(problem, res, converged, na, da, la)


def _joint_fit(problem: JointProblem, res: OptimizeResult, converged: bool, n: NDArray[np.float64],
               d: NDArray[np.float64], loss: NDArray[np.float64]) -> JointFit:
    E, A, B, a, b = (float(v) for v in problem.to_params(res.x))
    notes = [] if converged else [f"L-BFGS-B did not converge: {res.message}"]
    notes += [f"exponent {name} reached its search limit {EXPONENT_MAX}" for name, v in (("a", a), ("b", b))
              if v >= EXPONENT_MAX * (1 - 1e-9)]
    notes += [f"exponent {name} is ~0: that term is not identified" for name, v in (("a", a), ("b", b)) if v <= 1e-6]
    if np.log(E) <= problem.bounds[2][0] + 1e-9:
        notes.append("E reached its lower search limit: the data show no floor")
    fit = JointFit(E=E, A=A, B=B, a=a, b=b, r2=0.0, rmse=0.0, n_points=int(loss.size), converged=converged,
                   warnings=tuple(notes), loss=float(res.fun) * problem.delta, delta=problem.delta)
    pred = fit.predict(n, d)
    return replace(fit, r2=r_squared(loss, pred), rmse=rmse(loss, pred))


def joint_resampler(fit: JointFit, n: ArrayLike, d: ArrayLike, loss: ArrayLike
                    ) -> Callable[[NDArray[np.float64]], NDArray[np.float64] | None]:
    """Per-point weights to refitted ``(E, A, B, a, b)`` (warm-started), or None if not converged."""
    na, da, la = (np.asarray(v, dtype=float) for v in (n, d, loss))
    problem = JointProblem(na, da, la, fit.delta)
    start = problem.centre(np.array([np.log(fit.A), np.log(fit.B), np.log(fit.E), fit.a, fit.b]))

    def refit(weights: NDArray[np.float64]) -> NDArray[np.float64] | None:
        res, converged = problem.solve(start, weights)
        return problem.to_params(res.x) if converged else None

    return refit
