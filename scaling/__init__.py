"""Scaling-law fitting on arrays (NumPy/SciPy only, no I/O).

Per-axis laws: :func:`fit_power_law` (``y = beta * x**-alpha + gamma``, Huber on log
residuals, L-BFGS-B), :func:`fit_pure_power_law`, :func:`fit_log_linear`
(``y = a + b ln x``); :func:`compare_laws` by AIC/BIC. Higher-is-better metrics are fitted
on ``1 - y``. Uncertainty: :func:`bootstrap` (points or replicate groups).
Evidence and verdicts: :func:`analyse_axis` fits the power law + floor, the pure power
law and the log-linear law by least squares to many bootstrap resamples at once
(:mod:`scaling.batch_fit`), chooses the law by AICc and leave-largest-out error
(:mod:`scaling.evidence`), and judges saturation three ways with its probability
(:mod:`scaling.verdict`); :func:`seed_table` puts the axes in rows. Older point
diagnostics: :func:`assess_saturation`, :func:`check_extrapolation`, :func:`rank_axes`. Compute: :func:`fit_joint_law` (``E + A/N**a + B/D**b``) with
:func:`bootstrap_joint` and :func:`compute_optimal`, :func:`isoflop_analysis`,
:func:`compute_frontier`. Bad input raises :class:`FitError`.
"""

from scaling.axis_analysis import AxisAnalysis, analyse_axis
from scaling.bootstrap import Bootstrap, bootstrap
from scaling.compute_optimal import ComputeOptimal, compute_optimal
from scaling.evidence import LawFit, aicc
from scaling.extrapolation import ExtrapolationCheck, check_extrapolation
from scaling.frontier import ComputeFrontier, compute_frontier
from scaling.goodness import aic, bic, r_squared, rmse
from scaling.isoflop import IsoFlopAnalysis, IsoFlopParabola, isoflop_analysis
from scaling.joint import JointFit, fit_joint_law
from scaling.joint_bootstrap import JointBootstrap, bootstrap_joint
from scaling.laws import LAWS, LawComparison, compare_laws, fit_law
from scaling.log_linear import LogLinearFit, fit_log_linear
from scaling.power_law import PowerLawFit, fit_power_law, fit_pure_power_law
from scaling.ranking import AXIS_CODES, ApproachRanking, AxisGain, axis_code, rank_axes
from scaling.saturation import Saturation, assess_saturation, seed_spread
from scaling.table import AxisData, AxisResult, SeedRow, SeedTable, seed_table
from scaling.validation import FitError
from scaling.verdict import MIN_GAIN, MeasuredGain, Verdict, judge, measured_gain

__all__ = [
    "aicc",
    "analyse_axis",
    "AxisAnalysis",
    "judge",
    "LawFit",
    "measured_gain",
    "MeasuredGain",
    "MIN_GAIN",
    "Verdict",
    "aic",
    "ApproachRanking",
    "assess_saturation",
    "axis_code",
    "AXIS_CODES",
    "AxisData",
    "AxisGain",
    "AxisResult",
    "bic",
    "Bootstrap",
    "bootstrap",
    "bootstrap_joint",
    "check_extrapolation",
    "compare_laws",
    "compute_frontier",
    "compute_optimal",
    "ComputeFrontier",
    "ComputeOptimal",
    "ExtrapolationCheck",
    "fit_joint_law",
    "fit_law",
    "fit_log_linear",
    "fit_power_law",
    "fit_pure_power_law",
    "FitError",
    "isoflop_analysis",
    "IsoFlopAnalysis",
    "IsoFlopParabola",
    "JointBootstrap",
    "JointFit",
    "LawComparison",
    "LAWS",
    "LogLinearFit",
    "PowerLawFit",
    "r_squared",
    "rank_axes",
    "rmse",
    "Saturation",
    "seed_spread",
    "seed_table",
    "SeedRow",
    "SeedTable",
]
