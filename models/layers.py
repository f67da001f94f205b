"""Building blocks shared by the architectures."""

from __future__ import annotations

import dataclasses

import jax
from flax import nnx

from models import init


@dataclasses.dataclass(frozen=True)
class SparseInputs:
    """What a CTR model reads: ``n_dense`` dense features and, per sparse field, its table
    rows and bag length (0 for a one-hot field). Architectures' configs extend it."""

    n_dense: int
    fields: tuple[str, ...]
    rows: tuple[int, ...]  # table rows per field
    bags: tuple[int, ...]  # 0 for a one-hot field, else the bag length

    def __post_init__(self):
        if not (len(self.fields) == len(self.rows) == len(self.bags)):
            raise ValueError("fields, rows and bags must have the same length")


_HE = init.he_normal()
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
        inits = [_HE] * (n - 1) + [init.zeros if zero_last else _HE]
        self.layers = nnx.List([init.linear(a, b, kernel_init=k, rngs=rngs) for a, b, k in zip(sizes[:-1], sizes[1:], inits)])
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
