"""Building blocks shared by the architectures."""

from __future__ import annotations

import jax
from flax import nnx


_HE = nnx.initializers.he_normal()
ACTIVATIONS = {"relu": jax.nn.relu, "silu": jax.nn.silu, "gelu": jax.nn.gelu}


class MLP(nnx.Module):
    """Dense layers ``sizes[0] -> ... -> sizes[-1]``, an activation between (and after, if asked).

    Kernels start He-normal, the usual choice for ReLU nets: with LeCun init, narrow
    layers lost units to dead ReLUs and the seed-to-seed spread of narrow MLPs tripled.
    ``zero_last`` starts the output layer at zero, so a wide net does not open with huge
    logits (initial losses of 1.6-1.8 nats whose gradients scrambled the embeddings).
    """

    def __init__(
        self,
        sizes: tuple[int, ...],
        *,
        final_relu: bool,
        zero_last: bool = False,
        activation: str = "relu",
        rngs: nnx.Rngs,
    ):
        n = len(sizes) - 1
        inits = [_HE] * (n - 1) + [nnx.initializers.zeros_init() if zero_last else _HE]
        self.layers = nnx.List(
            [nnx.Linear(a, b, kernel_init=k, rngs=rngs) for a, b, k in zip(sizes[:-1], sizes[1:], inits)]
        )
        self.final_relu = final_relu
        self.act = ACTIVATIONS[activation]

    def __call__(self, x_BxI: jax.Array) -> jax.Array:
        for k, layer in enumerate(self.layers):
            x_BxI = layer(x_BxI)
            if k < len(self.layers) - 1 or self.final_relu:
                x_BxI = self.act(x_BxI)
        return x_BxI


def mlp_params(sizes: tuple[int, ...]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def mlp_flops(sizes: tuple[int, ...], *, final_relu: bool) -> int:
    """Forward FLOPs per example: 2*in*out per matmul, one per bias add and per activation."""
    n = len(sizes) - 1
    flops = 0
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        flops += 2 * a * b + b + (b if (k < n - 1 or final_relu) else 0)
    return flops
