"""Scaling-law fitting on arrays: NumPy/SciPy only, no I/O."""

from scaling.bootstrap import Bootstrap, bootstrap
from scaling.compute_optimal import ComputeOptimal, compute_optimal
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

__all__ = [
    "AXIS_CODES",
    "ApproachRanking",
    "AxisData",
    "AxisGain",
    "AxisResult",
    "LAWS",
    "Bootstrap",
    "ComputeFrontier",
    "ComputeOptimal",
    "ExtrapolationCheck",
    "FitError",
    "IsoFlopAnalysis",
    "IsoFlopParabola",
    "JointBootstrap",
    "JointFit",
    "LawComparison",
    "LogLinearFit",
    "PowerLawFit",
    "Saturation",
    "SeedRow",
    "SeedTable",
    "aic",
    "assess_saturation",
    "axis_code",
    "bic",
    "bootstrap",
    "bootstrap_joint",
    "check_extrapolation",
    "compare_laws",
    "compute_frontier",
    "compute_optimal",
    "fit_joint_law",
    "fit_law",
    "fit_log_linear",
    "fit_power_law",
    "fit_pure_power_law",
    "isoflop_analysis",
    "r_squared",
    "rank_axes",
    "rmse",
    "seed_spread",
    "seed_table",
]
