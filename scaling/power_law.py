"""Power law plus constant, ``y = beta * x**(-alpha) + gamma``, fitted robustly.

Method (after Hoffmann et al. 2022, approach 3, and Besiroglu et al. 2024):

* the Huber loss (``delta``, default 1e-3) of the log residuals ``log(pred) - log(y)`` is
  SUMMED over all points (replicate seeds included) and minimised with L-BFGS-B using
  analytic gradients;
* parameters are ``(alpha, log b, gamma / s)`` with ``b = beta * x_ref**(-alpha)``, where
  ``x_ref`` is the geometric mean of x and ``s`` the smallest fitted value. This keeps the
  problem well conditioned and makes alpha and gamma invariant to rescaling x (only beta
  changes, as it must);
* the optimiser starts from the best few points of a grid over alpha and gamma (log b set
  to its conditional median) and the lowest final loss wins;
* convergence is checked: a fit whose optimiser did not report success, or whose
  parameters sit on a search limit, carries ``converged=False`` or a warning.

Metrics where higher is better (AUC, HR@K, NDCG@K, all bounded above by 1) are fitted on
the error ``e = 1 - y``: ``1 - y = beta * x**(-alpha) + gamma``, so y rises towards the
ceiling ``1 - gamma``. With ``higher_is_better=True``, alpha, beta, gamma and the gamma
bounds all refer to ``1 - y``; ``predict`` and ``r2``/``rmse`` are in the metric's own units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import OptimizeResult, minimize

from scaling.blas_threads import one_blas_thread
from scaling.goodness import r_squared, rmse
from scaling.huber import huber_slope, huber_terms
from scaling.validation import FitError, as_xy, direction_warnings

ALPHA_MAX = 10.0
LOG_B_SPAN = 40.0
GRID_ALPHA = np.array([0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0])
GRID_GAMMA_FRACTION = np.array([0.0, 0.25, 0.5, 0.75, 0.9, 0.97, 0.99, 0.999])
N_STARTS = 4
_LBFGS_OPTIONS = {"maxiter": 3000, "ftol": 1e-15, "gtol": 1e-10}
STATIONARY_GTOL = 1e-5


@dataclass(frozen=True)
class PowerLawFit:
    """Result of :func:`fit_power_law`; alpha, beta, gamma describe ``y`` (or ``1 - y``)."""

    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma")

    alpha: float
    beta: float
    gamma: float
    r2: float
    rmse: float
    n_points: int
    converged: bool
    gamma_at_bound: bool
    warnings: tuple[str, ...]
    higher_is_better: bool
    n_params: int
    loss: float
    x_min: float
    x_max: float
    gamma_min: float
    gamma_max: float | None
    delta: float
    x_ref: float

    def error(self, x: ArrayLike) -> NDArray[np.float64]:
        """The fitted law in its own units: y, or 1 - y for a higher-is-better metric."""
        u = np.asarray(x, dtype=float) / self.x_ref
        return self.beta * self.x_ref ** (-self.alpha) * u ** (-self.alpha) + self.gamma

    def predict(self, x: ArrayLike) -> NDArray[np.float64]:
        """Predicted metric at x, in the metric's own units."""
        e = self.error(x)
        return 1.0 - e if self.higher_is_better else e

    @property
    def asymptote(self) -> float:
        """The limit of the metric as x grows: the floor gamma, or the ceiling 1 - gamma."""
        return 1.0 - self.gamma if self.higher_is_better else self.gamma

    def gain_per_doubling(self, x: ArrayLike) -> NDArray[np.float64]:
        """Improvement in the metric from x to 2x (positive when the metric gets better)."""
        return (self.error(x) - self.gamma) * (1.0 - 2.0 ** (-self.alpha))

    @property
    def params(self) -> dict[str, float]:
        return {"alpha": self.alpha, "beta": self.beta, "gamma": self.gamma}

    @property
    def param_vector(self) -> NDArray[np.float64]:
        return np.array([self.alpha, self.beta, self.gamma])

    def predict_many(self, params: NDArray[np.float64], x: ArrayLike) -> NDArray[np.float64]:
        """Metric predictions (rows: parameter vectors ``(alpha, beta, gamma)``, columns: x)."""
        p = np.atleast_2d(params)
        alpha, log_b = p[:, 0:1], np.log(p[:, 1:2]) - p[:, 0:1] * np.log(self.x_ref)
        log_u = np.log(np.asarray(x, dtype=float) / self.x_ref)[None, :]
        e = np.exp(log_b - alpha * log_u) + p[:, 2:3]
        return 1.0 - e if self.higher_is_better else e


class PowerLawProblem:
    """The optimisation problem in normalised coordinates, reusable across resamples.

    ``theta = (alpha, log b, gamma / s)``; per-point ``weights`` (resample counts) multiply
    the summed loss, so a bootstrap resample is a weight vector.
    """

    def __init__(self, x: NDArray[np.float64], t: NDArray[np.float64], *, gamma_lo: float, gamma_hi: float,
                 delta: float):
        self.x_ref = float(np.exp(np.mean(np.log(x))))
        self.t_scale = float(np.min(t))
        self.log_u = np.log(x / self.x_ref)
        self.log_t = np.log(t / self.t_scale)
        self.delta = delta
        g_lo, g_hi = gamma_lo / self.t_scale, gamma_hi / self.t_scale
        lb_mid = float(np.log(np.max(t) / self.t_scale))
        self.bounds = [(0.0, ALPHA_MAX), (lb_mid - LOG_B_SPAN, lb_mid + LOG_B_SPAN), (g_lo, g_hi)]

    def objective(self, theta: NDArray[np.float64], weights: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        alpha, lb, g = theta
        power = np.exp(lb - alpha * self.log_u)
        pred = power + g
        r = np.log(pred) - self.log_t
        s = weights * huber_slope(r, self.delta) / (self.delta * pred)
        grad = np.array([-np.sum(s * self.log_u * power), np.sum(s * power), np.sum(s)])
        return float(np.sum(weights * huber_terms(r, self.delta))) / self.delta, grad

    def grid_starts(self, weights: NDArray[np.float64]) -> NDArray[np.float64]:
        g_lo, g_hi = self.bounds[2]
        t_min = float(np.exp(np.min(self.log_t)))
        gammas = np.unique(np.clip(GRID_GAMMA_FRACTION * t_min, g_lo, g_hi))
        alpha, gamma = (a.ravel() for a in np.meshgrid(GRID_ALPHA, gammas))
        excess = np.exp(self.log_t)[None, :] - gamma[:, None]
        log_excess = np.log(np.where(excess > 0, excess, np.nan))
        lb = np.nanmedian(log_excess + alpha[:, None] * self.log_u[None, :], axis=1)
        lb = np.clip(np.nan_to_num(lb, nan=self.bounds[1][0]), *self.bounds[1])
        theta = np.stack([alpha, lb, gamma], axis=1)
        pred = np.exp(theta[:, 1:2] - theta[:, 0:1] * self.log_u[None, :]) + theta[:, 2:3]
        losses = np.sum(huber_terms(np.log(pred) - self.log_t[None, :], self.delta) * weights, axis=1)
        return theta[np.argsort(losses)[:N_STARTS]]

    def solve(self, starts: NDArray[np.float64], weights: NDArray[np.float64]) -> tuple[OptimizeResult, bool]:
        """Run L-BFGS-B from each start; return the lowest-loss result and whether it converged.

        Converged means L-BFGS-B reported success, or it stopped in the line search at a
        point whose projected gradient is below ``STATIONARY_GTOL`` (the tight tolerances
        used here routinely end that way at the optimum, at the limit of float precision).
        """
        return multistart_lbfgs(self.objective, starts, weights, self.bounds, _LBFGS_OPTIONS)

    def to_params(self, theta: NDArray[np.float64]) -> tuple[float, float, float]:
        alpha, lb, g = (float(v) for v in theta)
        return alpha, float(np.exp(lb) * self.t_scale * self.x_ref ** alpha), g * self.t_scale

    def to_theta(self, alpha: float, beta: float, gamma: float) -> NDArray[np.float64]:
        return np.array([alpha, np.log(beta * self.x_ref ** (-alpha) / self.t_scale), gamma / self.t_scale])


def fit_power_law(x: ArrayLike, y: ArrayLike, *, gamma_min: float | None = None, gamma_max: float | None = None,
                  delta: float = 1e-3, higher_is_better: bool = False) -> PowerLawFit:
    """Fit ``y = beta * x**(-alpha) + gamma`` (or ``1 - y = ...`` when higher is better).

    ``gamma`` is bounded to ``[gamma_min, gamma_max]``: ``gamma_min`` defaults to 0 and
    must be >= 0; ``gamma_max`` defaults to the largest observation (a floor above every
    point is meaningless). ``gamma_min == gamma_max`` fixes gamma and leaves 2 free
    parameters. Raises FitError on data that cannot support the fit (see
    :func:`scaling.validation.as_xy`), including a metric direction the data contradict.
    """
    lo = 0.0 if gamma_min is None else float(gamma_min)
    fixed = gamma_max is not None and float(gamma_max) == lo
    n_params = 2 if fixed else 3
    xa, ya = as_xy(x, y, n_params=n_params)
    if lo < 0:
        raise FitError(f"gamma_min must be >= 0 (the floor of a positive quantity), got {lo}")
    if delta <= 0:
        raise FitError(f"delta must be positive, got {delta}")
    t = 1.0 - ya if higher_is_better else ya
    if np.any(t <= 0):
        what = "higher_is_better fits the error 1 - y, which needs every y < 1" if higher_is_better \
            else "log residuals need every y > 0"
        raise FitError(f"{what}; offending indices {np.flatnonzero(t <= 0).tolist()}")
    hi = float(np.max(t)) if gamma_max is None else float(gamma_max)
    if hi < lo:
        raise FitError(f"gamma_max ({hi}) is below gamma_min ({lo})")
    notes = list(direction_warnings(xa, ya, higher_is_better=higher_is_better))

    problem = PowerLawProblem(xa, t, gamma_lo=lo, gamma_hi=hi, delta=delta)
    weights = np.ones_like(xa)
    res, converged = problem.solve(problem.grid_starts(weights), weights)
    alpha, beta, gamma = problem.to_params(res.x)
    if not converged:
        notes.append(f"L-BFGS-B did not converge: {res.message}")
    notes.extend(_limit_warnings(problem, res.x, fixed))
    tol = 1e-6 * max(hi, float(np.max(t)))
    fit = PowerLawFit(
        alpha=alpha, beta=beta, gamma=gamma, r2=0.0, rmse=0.0, n_points=int(xa.size), converged=converged,
        gamma_at_bound=(not fixed) and abs(gamma - lo) <= tol, warnings=(), higher_is_better=higher_is_better,
        n_params=n_params, loss=float(res.fun) * delta, x_min=float(xa.min()), x_max=float(xa.max()),
        gamma_min=lo, gamma_max=gamma_max if gamma_max is None else float(gamma_max), delta=delta,
        x_ref=problem.x_ref,
    )
    pred = fit.predict(xa)
    return replace(fit, r2=r_squared(ya, pred), rmse=rmse(ya, pred), warnings=tuple(notes))


def fit_pure_power_law(x: ArrayLike, y: ArrayLike, *, delta: float = 1e-3,
                       higher_is_better: bool = False) -> PowerLawFit:
    """Fit ``y = beta * x**(-alpha)`` (gamma fixed at 0), same method as :func:`fit_power_law`."""
    return fit_power_law(x, y, gamma_min=0.0, gamma_max=0.0, delta=delta, higher_is_better=higher_is_better)


def multistart_lbfgs(objective, starts: NDArray[np.float64], weights: NDArray[np.float64],
                     bounds: list[tuple[float | None, float | None]], options: dict) -> tuple[OptimizeResult, bool]:
    """L-BFGS-B (one BLAS thread) from each start; the lowest-loss result and whether it
    converged: reported success, or stationary (projected gradient below ``STATIONARY_GTOL``)."""
    best = None
    with one_blas_thread():
        for start in np.atleast_2d(starts):
            res = minimize(objective, start, args=(weights,), jac=True, method="L-BFGS-B", bounds=bounds, options=options)
            if best is None or res.fun < best.fun:
                best = res
    finite = [(-np.inf if lo is None else lo, np.inf if hi is None else hi) for lo, hi in bounds]
    return best, bool(best.success) or projected_gradient_norm(best, finite) < STATIONARY_GTOL


def projected_gradient_norm(res: OptimizeResult, bounds: list[tuple[float, float]]) -> float:
    """Largest gradient component that is not pushing against an active bound."""
    g = np.array(res.jac, dtype=float)
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    g[(res.x <= lo) & (g > 0)] = 0.0
    g[(res.x >= hi) & (g < 0)] = 0.0
    return float(np.max(np.abs(g)))


def _limit_warnings(problem: PowerLawProblem, theta: NDArray[np.float64], fixed: bool) -> list[str]:
    alpha, lb, g = theta
    notes = []
    if alpha >= ALPHA_MAX * (1 - 1e-9):
        notes.append(f"alpha reached its search limit {ALPHA_MAX}")
    if alpha <= 1e-6:
        notes.append("alpha is ~0: the curve is flat over the data and the floor is not identified")
    if lb <= problem.bounds[1][0] + 1e-9 or lb >= problem.bounds[1][1] - 1e-9:
        notes.append("beta reached its search limit")
    if not fixed and g >= problem.bounds[2][1] * (1 - 1e-9) and problem.bounds[2][1] > 0:
        notes.append("gamma reached its upper bound")
    return notes



def power_law_resampler(fit: PowerLawFit, x: ArrayLike, y: ArrayLike
                        ) -> Callable[[NDArray[np.float64]], NDArray[np.float64] | None]:
    """A function mapping per-point weights to refitted ``(alpha, beta, gamma)``, or None.

    Each refit is one L-BFGS-B run warm-started from ``fit``'s optimum, with the same
    bounds, delta and normalisation; None marks a refit that did not converge.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    t = 1.0 - ya if fit.higher_is_better else ya
    hi = float(np.max(t)) if fit.gamma_max is None else fit.gamma_max
    problem = PowerLawProblem(xa, t, gamma_lo=fit.gamma_min, gamma_hi=hi, delta=fit.delta)
    start = np.clip(problem.to_theta(fit.alpha, fit.beta, fit.gamma),
                    [b[0] for b in problem.bounds], [b[1] for b in problem.bounds])

    def refit(weights: NDArray[np.float64]) -> NDArray[np.float64] | None:
        res, converged = problem.solve(start, weights)
        return np.array(problem.to_params(res.x)) if converged else None

    return refit
