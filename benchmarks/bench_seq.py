"""HSTU and SASRec training throughput (sequences/s, positions/s) and MFU.

Run: python benchmarks/bench_seq.py [--configs quick ml1m] [--steps 8]

Each model trains through the retrieval trainer's compiled chunk program
(``sweeps.train.seq``: sampled softmax over ``n_negatives`` uniform negatives at every
position, AdamW) on full-length random histories, timed after compilation, best of
``--repeats``. Configs:

* ``quick``: the ``hstu_quick`` spec's base (d 32, 2 blocks, 2 heads, 50 positions,
  batch 128, 128 negatives) over 2000 items;
* ``ml1m``: the reference ML-1M shape (d 50, 2 blocks, 1 head, 200 positions, batch
  128, 128 negatives, 3706 items).

Training FLOPs per sequence: 3 x (the model's analytic forward FLOPs at full length +
the sampled-softmax scores, 2 d L (negatives + 1)). MFU is over the best 2048^2 float32
matmul rate measured in the same run. Other processes on the machine distort the
figures: compare within one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import jax
import numpy as np
from bench_dlrm import matmul_peak

import models
from models import hstu
from sweeps import recipes
from sweeps.tasks.retrieval import AdamWConfig
from sweeps.train import seq as train_seq

CONFIGS = {
    "quick": dict(spec=dict(d_model=32, n_blocks=2, n_heads=2, max_len=50), n_items=2000, batch=128, negatives=128),
    "ml1m": dict(spec=dict(d_model=50, n_blocks=2, n_heads=1, max_len=200), n_items=3706, batch=128, negatives=128),
}


def full_batches(conf: dict, steps: int) -> dict:
    """``steps`` batches of full-length random histories, ``[steps, B, L]``."""
    rng = np.random.default_rng(0)
    B, L = conf["batch"], conf["spec"]["max_len"]
    return {
        "ids": rng.integers(1, conf["n_items"], (steps, B, L)).astype(np.int32),
        "ts": np.broadcast_to(np.arange(L, dtype=np.int32) * 3600, (steps, B, L)).copy(),
        "target": rng.integers(1, conf["n_items"], (steps, B, L)).astype(np.int32),
    }


def sl_batches(conf: dict, steps: int, alpha: float, bucketed: bool) -> dict:
    """The trainer's Stochastic-Length batches of full-length histories (windows of
    ``max_len + 1``), as the trainer feeds them: split by length when ``bucketed``."""
    rng = np.random.default_rng(0)
    B, L = conf["batch"], conf["spec"]["max_len"]
    ids = rng.integers(1, conf["n_items"], (steps * B, L + 1)).astype(np.int32)
    ts = np.broadcast_to(np.arange(L + 1, dtype=np.int32) * 3600, ids.shape).copy()
    arrays = train_seq.stochastic_length_arrays((ids, ts), 0, 1, alpha, L)
    batch = dict(zip(("ids", "ts", "target"), (a.reshape(steps, B, L) for a in arrays)))
    return train_seq.bucketed_chunk(batch, train_seq.short_width(alpha, L)) if bucketed else batch


def sl_predicted_saving(arch: str, conf: dict, alpha: float) -> float:
    """The forward-FLOP saving SL predicts for full-length histories (as trial records count
    it: the attention terms follow E[n_out^2], ``sweeps.tasks.retrieval``)."""
    module, L = models.get(arch), conf["spec"]["max_len"]
    recipe = recipes.get(arch)
    model_cfg = recipe.build(recipe.ModelKnobs(**conf["spec"]), conf["n_items"])
    expected = module.expected_attention_flops(model_cfg, np.full(1, L), alpha)
    return (module.attention_flops(model_cfg, L) - expected) / module.forward_flops(model_cfg)


def seq_pass(arch: str, conf: dict, steps: int, batch: dict | None = None, **model_overrides):
    """A function timing one chunk of ``steps`` training steps: seconds per step, on
    ``batch`` (default ``full_batches``). ``model_overrides`` replace fields of the built
    model config (``attention="einsum"``)."""
    recipe = recipes.get(arch)
    model_cfg = dataclasses.replace(recipe.build(recipe.ModelKnobs(**conf["spec"]), conf["n_items"]), **model_overrides)
    cfg = train_seq.TrainConfig(batch_size=conf["batch"], n_negatives=conf["negatives"], chunk_steps=steps)
    init, train_chunk, _ = train_seq.program_set(model_cfg, arch, cfg, AdamWConfig(), conf["n_items"], 1)
    L = conf["spec"]["max_len"]
    batch = full_batches(conf, steps) if batch is None else batch
    box = {"state": init(0)}
    key, step_ids = jax.random.key(0), np.arange(steps, dtype=np.int32)
    active, lrs = np.ones(steps, bool), np.full(steps, 1e-3, np.float32)

    def one_pass() -> float:
        t = time.perf_counter()
        box["state"], losses = train_chunk(box["state"], key, batch, step_ids, active, lrs)
        jax.block_until_ready(losses)
        return (time.perf_counter() - t) / steps

    one_pass()  # compiles
    one_pass.compile_s = train_chunk.seconds
    d, M = conf["spec"]["d_model"], conf["negatives"]
    one_pass.train_flops = 3 * (models.get(arch).forward_flops(model_cfg) + 2 * d * L * (M + 1))
    return one_pass


def interleaved_best(passes: dict, repeats: int) -> dict[str, float]:
    """Best seconds per step of each pass, run in turn ``repeats`` times (so a busy spell
    on the machine hits all of them alike)."""
    best = {name: float("inf") for name in passes}
    for _ in range(repeats):
        for name, one_pass in passes.items():
            best[name] = min(best[name], one_pass())
    return best


def model_passes(conf: dict, steps: int, archs, hstu_attention) -> dict:
    """``{label: seq_pass}``: HSTU once per attention path (``hstu[fused]``), others plain."""
    passes = {}
    for arch in archs:
        for impl in hstu_attention if arch == "hstu" else [None]:
            label, kw = (f"{arch}[{impl}]", {"attention": impl}) if impl else (arch, {})
            passes[label] = seq_pass(arch, conf, steps, **kw)
    return passes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--models", nargs="+", default=["hstu", "sasrec"], choices=["hstu", "sasrec"])
    ap.add_argument("--hstu-attention", nargs="+", default=["fused", "einsum"], choices=list(hstu.ATTENTION),
                    help="HSTU attention paths to time side by side (models.hstu.Config.attention)")
    ap.add_argument("--sl-alpha", type=float, default=None,
                    help="also time HSTU under Stochastic Length: its batches at max_len and bucketed by length")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    peak = matmul_peak()
    rows = []
    for name in args.configs:
        conf = CONFIGS[name]
        passes = model_passes(conf, args.steps, args.models, args.hstu_attention)
        if args.sl_alpha:
            for bucketed in (False, True):
                batch = sl_batches(conf, args.steps, args.sl_alpha, bucketed)
                passes[f"hstu SL {'bucketed' if bucketed else 'at max_len'}"] = seq_pass("hstu", conf, args.steps, batch)
        best = interleaved_best(passes, args.repeats)
        for label, one_pass in passes.items():
            rows.append((name, label, conf, best[label], one_pass.train_flops, one_pass.compile_s))
        if args.sl_alpha:
            full = best[next(k for k in passes if k.startswith("hstu"))]
            saved = 1 - best["hstu SL bucketed"] / full
            predicted = sl_predicted_saving("hstu", conf, args.sl_alpha)
            print(f"{name}: SL alpha {args.sl_alpha}: time saved {saved:.1%} of the full-length step, FLOPs predict "
                  f"{predicted:.1%} ({saved / predicted:.0%} of it); unbucketed {1 - best['hstu SL at max_len'] / full:.1%}")
    peak = {k: max(v, peak[k]) for k, v in matmul_peak().items()}
    top = max(peak.values())
    print("matmul peak, 2048^2 float32: " + ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in peak.items()))
    print(f"{'config':<7} {'model':<20} {'ms/step':>8} {'seqs/s':>8} {'positions/s':>12} {'MFLOP/seq':>10} {'GFLOP/s':>8} {'MFU':>6} {'compile s':>10}")
    for name, label, conf, step_s, flops, compile_s in rows:
        seqs = conf["batch"] / step_s
        print(
            f"{name:<7} {label:<20} {step_s * 1e3:>8.1f} {seqs:>8.0f} {seqs * conf['spec']['max_len']:>12.0f} "
            f"{flops / 1e6:>10.1f} {seqs * flops / 1e9:>8.1f} {seqs * flops / top:>6.1%} {compile_s:>10.1f}"
        )


if __name__ == "__main__":
    main()
