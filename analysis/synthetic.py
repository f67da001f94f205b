"""Trial records made from known laws, with no training: the ground truth that tests of the
loaders, fits, figures and report check against, and small demos without a sweep.

The shapes follow real records (``sweeps.store.TrialRecord``): a parameter axis has
``params = value * params_per_unit`` and the metric ``beta * params**-alpha + gamma``; the
data axis has the metric as that law of the examples; isoFLOP trials
(:func:`isoflop_records`) follow the joint law ``E + A / N**a + B / D**b`` at
``D = budget / (6 N)``. Noise, when asked for, is multiplicative and seeded.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Sequence

import numpy as np

from analysis.fits import higher_is_better
from sweeps.store import SCHEMA, TrialRecord, split_axis

BASE_PARAMS = 100_000
BASE_EXAMPLES = 2**19


def record(*, sweep: str, arch: str, seed: int, axes: dict, params: int, examples: int, metrics: dict[str, float],
           status: str = "finished", floor_ne: float | None = None, message: str = "",
           flops_per_example: int | None = None) -> TrialRecord:
    """One record; FLOPs default to 6 per parameter per example; a 4-point learning curve
    that falls (or rises, for a higher-is-better metric) to the final metrics."""
    fpe = int(flops_per_example if flops_per_example is not None else 6 * params)
    key = f"{sweep}/{arch}/{seed}/{sorted(axes.items())}/{params}/{examples}"
    curve = []
    for i in range(1, 5):
        point = {m: v + 0.05 * (4 - i) * (-1 if higher_is_better(m) else 1) for m, v in metrics.items()}
        curve.append({**point, "examples": examples * i // 4, "step": i})
    final = {**metrics, "examples": examples, "step": 4}
    return TrialRecord(
        trial_id=hashlib.sha1(key.encode()).hexdigest()[:12], sweep=sweep, arch=arch, seed=seed, axes=dict(axes),
        config={"arch": arch, "seed": seed}, status=status,
        params={"embedding": params // 2, "dense": params - params // 2, "total": int(params)},
        flops_per_example={"forward": fpe // 3, "train": fpe}, train_flops=float(fpe) * examples,
        examples_seen=int(examples), final_metrics=final if status == "finished" else {},
        best_metrics=final if status == "finished" else {}, curve=curve if status == "finished" else [],
        wall_time_s=1.0, compile_time_s=0.1, throughput=1e5, floor_ne=floor_ne, metric_note="synthetic",
        versions={"recscale": "synthetic"}, message=message, schema=SCHEMA,
    )


def _noise(rng: np.random.Generator, sigma: float) -> float:
    return float(np.exp(rng.normal(0.0, sigma))) if sigma > 0 else 1.0


def axis_records(axis: str, values: Iterable[float], *, alpha: float, beta: float, gamma: float,
                 seeds: Sequence[int] = (0, 1), noise: float = 0.0, sweep: str = "synthetic", arch: str = "dlrm",
                 params_per_unit: int = 1000, metric: str = "ne", floor_ne: float | None = None,
                 rng_seed: int = 0) -> list[TrialRecord]:
    """Records of one axis whose metric follows ``beta * x**-alpha + gamma`` exactly (times noise):
    x is the examples on a ``data`` axis (``data@<label>`` too), the parameter count on any other axis."""
    rng = np.random.default_rng(rng_seed)
    out = []
    for v in values:
        v = v.item() if isinstance(v, np.generic) else v  # records are JSON: plain numbers only
        if split_axis(axis)[0] == "data":  # the data axis, or one grown from a labelled base (data@vertical)
            params, examples = BASE_PARAMS, int(v)
            x = float(examples)
        else:
            params, examples = int(v * params_per_unit), BASE_EXAMPLES
            x = float(params)
        for s in seeds:
            y = (beta * x ** -alpha + gamma) * _noise(rng, noise)
            out.append(record(sweep=sweep, arch=arch, seed=s, axes={axis: v}, params=params, examples=examples,
                              metrics={metric: y}, floor_ne=floor_ne))
    return out


def isoflop_records(approach: str, budgets: Iterable[float], sizes: Iterable[float], *, E: float, A: float,
                    a: float, B: float, b: float, seeds: Sequence[int] = (0,), noise: float = 0.0,
                    sweep: str = "synthetic", arch: str = "dlrm", params_per_unit: int = 1000,
                    metric: str = "ne", floor_ne: float | None = None, rng_seed: int = 0) -> list[TrialRecord]:
    """IsoFLOP trials: for every budget C and size s, N = s * params_per_unit parameters trained on
    D = C / (6 N) examples, metric ``E + A / N**a + B / D**b``."""
    rng = np.random.default_rng(rng_seed)
    out = []
    for c in budgets:
        for size in sizes:
            n = int(size * params_per_unit)
            d = max(1, int(round(c / (6 * n))))
            for s in seeds:
                y = (E + A / n ** a + B / d ** b) * _noise(rng, noise)
                out.append(record(sweep=sweep, arch=arch, seed=s, axes={"compute": c, approach: size}, params=n,
                                  examples=d, metrics={metric: y}, floor_ne=floor_ne))
    return out
