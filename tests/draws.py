"""Random test inputs drawn by NumPy.

An eager ``jax.random.normal`` compiles a program for every new shape (about 0.45 s of CPU
each), and so does eager arithmetic on its result; tests that need unit-normal float32
inputs, or parameters moved off their initial values, draw them here and compile nothing.
"""

import jax
import numpy as np


def normal(seed: int, *shapes):
    """One float32 standard-normal array per shape, in order, from one NumPy stream."""
    rng = np.random.default_rng(seed)
    arrays = [jax.device_put(rng.standard_normal(shape, dtype=np.float32)) for shape in shapes]
    return arrays[0] if len(shapes) == 1 else arrays


def perturbed(params, seed: int, scale: float):
    """``params`` (a tree of float32 arrays) plus ``scale`` times a unit normal per element."""
    rng = np.random.default_rng(seed)
    step = np.float32(scale)
    return jax.tree.map(lambda p: jax.device_put(np.asarray(p) + step * rng.standard_normal(p.shape, dtype=np.float32)), params)
