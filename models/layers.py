"""Building blocks shared by the architectures."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


class MLP(nnx.Module):
    """Dense layers ``sizes[0] -> ... -> sizes[-1]`` with ReLU between (and after, if asked)."""

    def __init__(self, sizes: tuple[int, ...], *, final_relu: bool, rngs: nnx.Rngs):
        self.layers = nnx.List(
            [nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])]
        )
        self.final_relu = final_relu

    def __call__(self, x_BxI: jax.Array) -> jax.Array:
        for k, layer in enumerate(self.layers):
            x_BxI = layer(x_BxI)
            if k < len(self.layers) - 1 or self.final_relu:
                x_BxI = jax.nn.relu(x_BxI)
        return x_BxI


def mlp_params(sizes: tuple[int, ...]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def mlp_flops(sizes: tuple[int, ...], *, final_relu: bool) -> int:
    """Forward FLOPs per example: 2*in*out per matmul, one per bias add and per ReLU."""
    n = len(sizes) - 1
    flops = 0
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        flops += 2 * a * b + b + (b if (k < n - 1 or final_relu) else 0)
    return flops
