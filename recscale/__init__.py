"""recscale: scaling-law experimentation harness for recommendation models."""

__version__ = "0.1.0"
