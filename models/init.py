"""Parameter initialisers whose compiled programs do not depend on the parameter's shape.

An eager ``jax.random`` call (and even ``jnp.zeros`` or ``jnp.asarray`` of a NumPy array)
compiles a program for every new shape: on a CPU, a small model's initialisers cost more
start-up time than its training program. With JAX's partitionable threefry (the
default), a draw is elementwise in the flat index: element ``i`` of ``uniform(key, S)``
depends on ``key`` and ``i`` only, so a draw of shape ``S`` is the first ``prod(S)``
elements of a flat draw of any greater length. The initialisers here draw flat vectors of
power-of-two lengths (one compiled program per distribution and length, whatever the
shapes), cut and reshape them in NumPy, scale them there (one float32 product, rounded as
XLA rounds it) and make zeros and ones in NumPy. The values are the bits of the
``jax.nn.initializers`` each one names (``tests/test_init.py`` checks every one on many
shapes). Called inside a trace (``jit``, ``nnx.eval_shape``), each one is that
``jax.nn.initializers`` function itself.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

# Every tensor of up to 2^14 elements is cut from one draw of that length, so a small model
# compiles one program per distribution (a sequential model's first init: 3.2 s -> 1.4 s).
_MIN_LENGTH = 1 << 14
_JAX = jax.nn.initializers


@functools.partial(jax.jit, static_argnames=("kind", "n", "dtype", "lo", "hi"))
def _flat(key, *, kind: str, n: int, dtype, lo: float, hi: float) -> jax.Array:
    if kind == "uniform":
        return jax.random.uniform(key, (n,), dtype, lo, hi)
    if kind == "truncated_normal":
        return jax.random.truncated_normal(key, lo, hi, (n,), dtype)
    return jax.random.normal(key, (n,), dtype)


def _length(size: int) -> int:
    return max(_MIN_LENGTH, 1 << max(size - 1, 0).bit_length())


def _initializer(reference: Callable, kind: str, lo: float = 0.0, hi: float = 1.0, scale: Callable | None = None):
    """``reference`` (a ``jax.nn.initializers`` function) computed as a flat ``kind`` draw
    on ``[lo, hi)``, times ``scale(shape, dtype)`` if given."""

    def init(key, shape, dtype=jnp.float32):
        if isinstance(key, jax.core.Tracer):
            return reference(key, shape, dtype)
        shape, dtype = tuple(int(d) for d in shape), jnp.dtype(dtype)
        size = math.prod(shape)
        flat = np.asarray(_flat(key, kind=kind, n=_length(size), dtype=dtype, lo=float(lo), hi=float(hi)))[:size]
        if scale is not None:
            flat = flat * np.asarray(scale(shape, dtype), dtype)
        return jax.device_put(flat.reshape(shape))

    return init


def _constant(reference: Callable, fill: Callable):
    def init(key, shape, dtype=jnp.float32):
        if isinstance(key, jax.core.Tracer):
            return reference(key, shape, dtype)
        return jax.device_put(fill(shape, jnp.dtype(dtype)))

    return init


zeros = _constant(_JAX.zeros, np.zeros)
ones = _constant(_JAX.ones, np.ones)


def uniform(bound: float):
    """Uniform on ``[-bound, bound)``: ``jax.random.uniform(key, shape, dtype, -bound, bound)``."""

    def reference(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return _initializer(reference, "uniform", -bound, bound)


def normal(stddev: float):
    """``jax.nn.initializers.normal(stddev)``."""
    return _initializer(_JAX.normal(stddev), "normal", scale=lambda shape, dtype: stddev)


def truncated_normal(stddev: float):
    """``jax.nn.initializers.truncated_normal(stddev)`` (cut at two deviations)."""
    return _initializer(_JAX.truncated_normal(stddev), "truncated_normal", -2.0, 2.0, scale=lambda shape, dtype: stddev)


def _variance(scale: float, mode: str, shape, dtype) -> jax.Array:
    receptive = math.prod(shape[:-2])
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    denominator = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return jnp.array(scale / denominator, dtype=dtype)


def variance_scaling(scale: float, mode: str, distribution: str):
    """``jax.nn.initializers.variance_scaling(scale, mode, distribution)`` with its default
    axes, for real float dtypes of at least two dimensions."""
    reference = _JAX.variance_scaling(scale, mode, distribution)
    if distribution == "truncated_normal":
        # the deviation of a unit normal cut at two deviations
        deviation = lambda shape, dtype: jnp.sqrt(_variance(scale, mode, shape, dtype)) / jnp.array(0.87962566103423978, dtype)  # noqa: E731
        return _initializer(reference, "truncated_normal", -2.0, 2.0, scale=deviation)
    if distribution == "normal":
        return _initializer(reference, "normal", scale=lambda shape, dtype: jnp.sqrt(_variance(scale, mode, shape, dtype)))
    return _initializer(reference, "uniform", -1.0, 1.0, scale=lambda shape, dtype: jnp.sqrt(3 * _variance(scale, mode, shape, dtype)))


def he_normal():
    return variance_scaling(2.0, "fan_in", "truncated_normal")


def lecun_normal():
    return variance_scaling(1.0, "fan_in", "truncated_normal")


def xavier_uniform():
    return variance_scaling(1.0, "fan_avg", "uniform")


def linear(in_features: int, out_features: int, *, kernel_init=None, rngs: nnx.Rngs, **kw) -> nnx.Linear:
    """``nnx.Linear`` with its default LeCun-normal kernel and zero bias made here."""
    return nnx.Linear(in_features, out_features, kernel_init=kernel_init or lecun_normal(), bias_init=zeros, rngs=rngs, **kw)


def layer_norm(features: int, *, rngs: nnx.Rngs, **kw) -> nnx.LayerNorm:
    """``nnx.LayerNorm`` with its unit scale and zero bias made here."""
    return nnx.LayerNorm(features, scale_init=ones, bias_init=zeros, rngs=rngs, **kw)
