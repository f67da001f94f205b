"""The per-axis laws by name, and their comparison by AIC/BIC on the same points."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from numpy.typing import ArrayLike

from scaling.goodness import aic, bic
from scaling.log_linear import LogLinearFit, fit_log_linear
from scaling.power_law import PowerLawFit, fit_power_law, fit_pure_power_law
from scaling.validation import FitError

ParametricFit = PowerLawFit | LogLinearFit  # one law fitted to one set of points

LAWS: dict[str, Callable[..., ParametricFit]] = {
    "power_law": fit_power_law,
    "pure_power_law": fit_pure_power_law,
    "log_linear": fit_log_linear,
}


def fit_law(law: str, x: ArrayLike, y: ArrayLike, *, higher_is_better: bool = False, **options) -> ParametricFit:
    """Fit the law named ``law`` (a key of ``LAWS``); ``options`` go to its fit function."""
    if law not in LAWS:
        raise FitError(f"unknown law {law!r}; choose one of {sorted(LAWS)}")
    return LAWS[law](x, y, higher_is_better=higher_is_better, **options)


@dataclass(frozen=True)
class LawComparison:
    """One law fitted to the points, with its information criteria (lower is better)."""

    law: str
    fit: ParametricFit
    aic: float
    bic: float


def compare_laws(x: ArrayLike, y: ArrayLike, *, laws: Sequence[str] = tuple(LAWS),
                 higher_is_better: bool = False) -> tuple[LawComparison, ...]:
    """Fit each law to the same points; return them sorted by AIC (best first).

    AIC and BIC are computed from the residuals in the metric's units (see
    :mod:`scaling.goodness`) with k = the law's number of free parameters.
    """
    rows = []
    for law in laws:
        fit = fit_law(law, x, y, higher_is_better=higher_is_better)
        pred = fit.predict(x)
        rows.append(LawComparison(law=law, fit=fit, aic=aic(y, pred, fit.n_params), bic=bic(y, pred, fit.n_params)))
    return tuple(sorted(rows, key=lambda row: row.aic))
