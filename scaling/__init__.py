"""Scaling-law fitting on arrays: NumPy/SciPy only, no I/O."""

from scaling.power_law import PowerLawFit, fit_power_law, fit_pure_power_law
from scaling.validation import FitError

__all__ = [
    "FitError",
    "PowerLawFit",
    "fit_power_law",
    "fit_pure_power_law",
]
