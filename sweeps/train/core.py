"""What every trainer shares: the step abstraction, compile-once programs, the chunk scan,
the update step and the result of a training run.

A *core* is one (model, optimiser) pair seen as a state machine: ``init(seed)`` makes the
training state, ``step(state, batch, lr)`` takes one optimiser step and returns the loss,
``model(state)`` is the model to evaluate. Dense and row-wise sparse updates
(``sweeps.train.sparse``) and the retrieval trainer's sampled softmax are cores; the CTR
loop (``sweeps.train.ctr``) and the retrieval epoch loop (``sweeps.train.seq``) drive them
through ``scan_chunk``, a ``lax.scan`` over a chunk of steps, compiled once per shape.

The learning rate is data (one value per step), so trials that differ only in seed,
learning rate, schedule or data budget share one compiled program: ``program_optim_key``
normalises those fields away from the keys of ``programs``, the one cache of compiled
programs of this process.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from sweeps.train import compile_cache
from sweeps.train.optim import OptimConfig

# A training step costs about three forward passes (forward, and the backward's two
# products per layer): the FLOPs every plan, budget and record of a trial count.
TRAIN_FLOPS_PER_FORWARD = 3


def training_flops(forward_flops: float) -> float:
    """Training FLOPs per example from the forward FLOPs per example."""
    return TRAIN_FLOPS_PER_FORWARD * forward_flops


class Core(NamedTuple):
    """What a trainer needs of one (model, optimiser): the state's life cycle, one step."""

    init: Callable[[int], Any]  # seed -> training state
    step: Callable[[Any, dict, jax.Array], tuple[Any, jax.Array]]  # (state, batch, lr) -> (state, loss)
    model: Callable[[Any], nnx.Module]  # state -> the model, for evaluation


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """One trial's training run, as every task reports it.

    ``final``: the metrics the trial is judged by (CTR and generative: the last evaluation;
    retrieval: the test metrics of the epoch chosen on validation). ``validation``: the
    metrics, under the same names, on a validation set that is not the evaluation set, at
    the same point (CTR and generative: the final model; retrieval: the chosen epoch); None
    where the data have none. ``selected``: a diagnostic beside ``final``, chosen on
    validation (CTR and generative: the evaluation-set metrics at the evaluation with the
    lowest validation NE, early stopping; retrieval: the chosen epoch's validation metrics).
    """

    status: str  # "finished" | "diverged"
    steps: int
    examples_seen: int  # training examples (retrieval: sequences) over every pass
    curve: tuple[dict, ...]
    final: dict
    selected: dict
    train_seconds: float
    compile_seconds: float
    message: str = ""
    selected_epoch: int | None = None  # retrieval: the epoch ``selected`` comes from
    positions_seen: int | None = None  # retrieval: target positions trained on
    # Set by the task where it knows them:
    floor: float | None = None  # the best value any model can reach (CTR world: its Bayes NE)
    forward_flops: float | None = None  # expected forward FLOPs per example when training changed them
    oracle: dict | None = None  # the true generative process's metrics on the same targets
    # What per-point selection (a spec's ``select:``) chooses by (see above).
    validation: dict | None = None


class CompileOnce:
    """A jitted function compiled ahead of time on its first call; compile time is kept.

    The first compile of a process switches on the persistent compilation cache
    (``sweeps/train/compile_cache.py``), so other processes reuse what this one compiles."""

    def __init__(self, fn):
        self.fn, self.exe, self.seconds = fn, None, 0.0

    def __call__(self, *args):
        if self.exe is None:
            compile_cache.enable()
            t = time.perf_counter()
            self.exe = self.fn.lower(*args).compile()
            self.seconds += time.perf_counter() - t
        return self.exe(*args)


def program_optim_key(cfg: OptimConfig) -> OptimConfig:
    """Fields that do not change the compiled program are normalised away."""
    return dataclasses.replace(cfg, lr=1.0, schedule="constant", final_lr_frac=0.0, warmup_steps=0, warmup_frac=0.0)


PROGRAMS_KEPT = 32
_programs: OrderedDict = OrderedDict()


def programs(build: Callable, *key):
    """``build(*key)``, built once per key: the compiled programs of this process, the
    least recently used dropped beyond ``PROGRAMS_KEPT`` (with the tables they hold)."""
    compile_cache.enable()  # before ``build`` and the trial's init run their first programs
    k = (build.__module__, build.__qualname__, *key)
    if k in _programs:
        _programs.move_to_end(k)
        return _programs[k]
    out = _programs[k] = build(*key)
    while len(_programs) > PROGRAMS_KEPT:
        _programs.popitem(last=False)
    return out


def clear_programs() -> None:
    _programs.clear()


def apply_update(tx: optax.GradientTransformation, params, opt_state, grads, lr):
    """One optimiser update with the unit-rate ``tx`` scaled by this step's ``lr``."""
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, jax.tree.map(lambda u: lr * u, updates)), opt_state


def scan_chunk(core: Core):
    """``(state, batches, active, lrs) -> (state, losses)``: a scan of steps; inactive
    (padding) steps leave the state as it is."""

    def step(state, xs):
        batch, active, lr = xs
        return jax.lax.cond(active, lambda s: core.step(s, batch, lr), lambda s: (s, jnp.float32(0.0)), state)

    def train_chunk(state, batches, active, lrs):
        return jax.lax.scan(step, state, (batches, active, lrs))

    return train_chunk
