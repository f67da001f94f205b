"""Where a DLRM training step's time goes: each part as its own compiled program, side by side.

Run: python benchmarks/profile_dlrm.py [--quick] [--out profile.json] [--repeats 5]

At the Criteo-Kaggle shape (26 tables x 10^5 rows, dim 16, bottom 13-512-256-64-16, top
367-512-256-1, batch 1024, sparse SGD; ``--quick``: a tiny shape for the tests) it times,
in one process and interleaved so a busy spell on the machine hits all alike:

* ``fwd_matmuls``: the bottom and top MLPs' matmuls (plus bias), no activations;
* ``bwd_matmuls``: their backward products (``dY W^T`` and ``X^T dY`` per layer);
* ``gathers``: the 26 table lookups of one batch;
* ``scatter_add``: sparse SGD's 26 row scatter-adds into the tables (donated: in place,
  as in the trainer's scan);
* ``interaction``: the pairwise dot interaction (stack, batched ``z z^T``, lower
  triangle) and its gradient;
* ``elementwise``: the activations and their backward masks, the loss and its gradient;
* ``step``: the trainer's whole compiled sparse-SGD step (``bench_rows.trainer_pass``);
* ``interaction_autodiff`` and ``step_autodiff``: the same with the interaction as it
  was before ``models.dlrm.pairwise_dots`` (einsum, triangle gather, autodiff's
  gradient), for the before/after in one run;
* ``peak``: the 2048^2 float32 matmul rate (``bench_dlrm.matmul_peak``).

From those: the step's MFU (3 x forward FLOPs per example x examples/s over the peak),
the matmul-only bound (the MFU if everything but the matmuls cost nothing), each part's
share of the sum of parts, and the step's overhead beyond that sum (fusion can make it
negative). Times are best-of-``--repeats``; only ratios within one run mean anything.
"""

from __future__ import annotations

import argparse
import functools
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from bench_dlrm import CONFIGS, matmul_peak
from bench_rows import trainer_pass

from models import dlrm
from sweeps.train import core
from sweeps.train.optim import OptimConfig

QUICK = dict(
    n_dense=5,
    fields=("c0", "c1", "c2"),
    rows=(500,) * 3,
    bags=(0,) * 3,
    embed_dim=8,
    bottom_mlp=(32, 8),
    top_mlp=(16,),
    batch=64,
)
PARTS = ("fwd_matmuls", "bwd_matmuls", "gathers", "scatter_add", "interaction", "elementwise")


def _layers(sizes) -> list[tuple[int, int]]:
    return list(zip(sizes[:-1], sizes[1:]))


def matmul_flops(cfg: dlrm.Config, batch: int) -> float:
    """FLOPs of the MLPs' matmuls in one training step (forward and the backward's two)."""
    return 3 * sum(2 * a * b for a, b in _layers(cfg.bottom_sizes) + _layers(cfg.top_sizes)) * batch


def part_programs(cfg: dlrm.Config, batch: int, seed: int = 0) -> dict:
    """Per part, a no-argument function running its compiled program once (blocking)."""
    rng = np.random.default_rng(seed)
    normal = lambda *s: jnp.asarray(rng.standard_normal(s).astype(np.float32) * 0.1)  # noqa: E731
    layers = _layers(cfg.bottom_sizes) + _layers(cfg.top_sizes)
    ws = [normal(a, b) for a, b in layers]
    bs = [normal(b) for _, b in layers]
    xs = [normal(batch, a) for a, _ in layers]  # each layer's input
    dys = [normal(batch, b) for _, b in layers]  # each layer's output gradient
    tables = [normal(r, cfg.embed_dim) for r in cfg.rows]
    ids = [jnp.asarray(rng.integers(0, r, batch).astype(np.int32)) for r in cfg.rows]
    g_rows = [normal(batch, cfg.embed_dim) for _ in cfg.rows]
    z = normal(batch, cfg.n_vectors, cfg.embed_dim)
    g_pairs = normal(batch, cfg.n_pairs)
    hidden = [b for k, (_, b) in enumerate(_layers(cfg.bottom_sizes)) if k < len(cfg.bottom_sizes) - 2]
    hidden += [b for k, (_, b) in enumerate(_layers(cfg.top_sizes)) if k < len(cfg.top_sizes) - 2]
    pre = [normal(batch, h) for h in hidden]
    g_act = [normal(batch, h) for h in hidden]
    logits, labels = normal(batch), jnp.asarray((rng.random(batch) < 0.25).astype(np.float32))

    @jax.jit
    def fwd(xs, ws, bs):
        return [x @ w + b for x, w, b in zip(xs, ws, bs)]

    @jax.jit
    def bwd(xs, ws, dys):
        return [(dy @ w.T, x.T @ dy, dy.sum(0)) for x, w, dy in zip(xs, ws, dys)]

    @jax.jit
    def gather(tables, ids):
        return [jnp.take(t, i, axis=0) for t, i in zip(tables, ids)]

    @functools.partial(jax.jit, donate_argnums=0)
    def scatter(tables, ids, g_rows):
        return [t.at[i].add(-0.1 * g, mode="drop") for t, i, g in zip(tables, ids, g_rows)]

    def with_grad(interact):
        @jax.jit
        def interaction(z, g_pairs):
            pairs, vjp = jax.vjp(interact, z)
            return pairs, vjp(g_pairs)[0]

        return lambda: jax.block_until_ready(interaction(z, g_pairs))

    def loss(lg):
        return jnp.mean(jnp.maximum(lg, 0) - lg * labels + jnp.log1p(jnp.exp(-jnp.abs(lg))))

    @jax.jit
    def elementwise(pre, g_act, logits):
        acts = [(jnp.maximum(p, 0), jnp.where(p > 0, g, 0)) for p, g in zip(pre, g_act)]
        return acts, jax.value_and_grad(loss)(logits)

    box = {"tables": [t + 0 for t in tables]}  # its own copy: the scatter donates it

    def run_scatter():
        box["tables"] = scatter(box["tables"], ids, g_rows)
        jax.block_until_ready(box["tables"])

    return {
        "fwd_matmuls": lambda: jax.block_until_ready(fwd(xs, ws, bs)),
        "bwd_matmuls": lambda: jax.block_until_ready(bwd(xs, ws, dys)),
        "gathers": lambda: jax.block_until_ready(gather(tables, ids)),
        "scatter_add": run_scatter,
        "interaction": with_grad(dlrm.pairwise_dots),
        "interaction_autodiff": with_grad(dlrm.pairwise_dots_reference),
        "elementwise": lambda: jax.block_until_ready(elementwise(pre, g_act, logits)),
    }


def profile(cfg: dlrm.Config, batch: int, repeats: int, chunk: int, calls: int) -> dict:
    """Seconds of each part and of the whole step (best of ``repeats``), and what follows."""
    progs = part_programs(cfg, batch)
    for fn in progs.values():
        fn()  # compiles
    sgd = OptimConfig(name="sgd", embeddings="sgd")
    dlrm.pairwise_dots, current = dlrm.pairwise_dots_reference, dlrm.pairwise_dots
    try:  # the step as it was, compiled while the model used the autodiff interaction
        before_pass = trainer_pass(cfg, sgd, batch, chunk, 0.1)
    finally:
        dlrm.pairwise_dots = current
        core.clear_programs()
    step_pass = trainer_pass(cfg, sgd, batch, chunk, 0.1)
    best = {k: float("inf") for k in (*progs, "step", "step_autodiff")}
    for _ in range(repeats):  # interleaved
        for k, fn in progs.items():
            t = time.perf_counter()
            for _ in range(calls):
                fn()
            best[k] = min(best[k], (time.perf_counter() - t) / calls)
        best["step"] = min(best["step"], step_pass())
        best["step_autodiff"] = min(best["step_autodiff"], before_pass())
    return best


def summarise(cfg: dlrm.Config, batch: int, seconds: dict, peak: float) -> dict:
    train_flops = 3 * dlrm.forward_flops(cfg) * batch
    parts_s = sum(seconds[k] for k in PARTS)
    mm_s = seconds["fwd_matmuls"] + seconds["bwd_matmuls"]
    return {
        "ms": {k: v * 1e3 for k, v in seconds.items()},
        "share_of_parts": {k: seconds[k] / parts_s for k in PARTS},
        "parts_sum_ms": parts_s * 1e3,
        "step_overhead_ms": (seconds["step"] - parts_s) * 1e3,
        "train_flops_per_step": train_flops,
        "matmul_flops_per_step": matmul_flops(cfg, batch),
        "matmul_rate_of_peak": matmul_flops(cfg, batch) / mm_s / peak,
        "step_mfu": train_flops / seconds["step"] / peak,
        "matmul_only_mfu_bound": train_flops / mm_s / peak,
        "examples_per_s": batch / seconds["step"],
        # before/after, same run: the interaction with autodiff's gradient (as it was)
        "step_autodiff_mfu": train_flops / seconds["step_autodiff"] / peak,
        "step_speedup_vs_autodiff": seconds["step_autodiff"] / seconds["step"],
        "interaction_speedup_vs_autodiff": seconds["interaction_autodiff"] / seconds["interaction"],
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="tiny shapes (the tests)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=8)
    ap.add_argument("--out", default=None, help="write the JSON here")
    args = ap.parse_args(argv)
    c = dict(QUICK if args.quick else CONFIGS["kaggle"])
    batch = c.pop("batch")
    cfg = dlrm.Config(**c)
    calls = 2 if args.quick else 10
    repeats = 2 if args.quick else args.repeats
    peak_n = 256 if args.quick else 2048
    peak = matmul_peak(peak_n, repeats=2 if args.quick else 5)
    seconds = profile(cfg, batch, repeats, 2 if args.quick else args.chunk, calls)
    peak = {k: max(v, peak[k]) for k, v in matmul_peak(peak_n, repeats=2 if args.quick else 5).items()}
    top = max(peak.values())
    out = {
        "quick": args.quick,
        "backend": jax.default_backend(),
        "batch": batch,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in c.items()},
        "peak_n": peak_n,
        "peak_flops": peak,
        **summarise(cfg, batch, seconds, top),
    }
    print(f"DLRM profile, batch {batch}, {jax.default_backend()}; peak {peak_n}^2: {top / 1e9:.0f} GFLOP/s")
    for k in (*PARTS, "interaction_autodiff", "step", "step_autodiff"):
        share = f"{out['share_of_parts'][k]:>6.1%}" if k in PARTS else ""
        print(f"  {k:<12} {out['ms'][k]:>8.3f} ms {share}")
    print(f"  step - parts {out['step_overhead_ms']:>8.3f} ms")
    print(
        f"step MFU {out['step_mfu']:.1%}; matmul-only bound {out['matmul_only_mfu_bound']:.1%} "
        f"(the matmuls run at {out['matmul_rate_of_peak']:.1%} of the peak); with the autodiff "
        f"interaction {out['step_autodiff_mfu']:.1%} (step {out['step_speedup_vs_autodiff']:.2f}x faster now)"
    )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
