"""What a sweep will cost, before it runs: parameters, FLOPs, examples and a time estimate."""

from __future__ import annotations

import dataclasses

import models
from sweeps import tasks
from sweeps.spec import describe_point
from sweeps.trials import PlannedTrial

# Training throughput of this harness on a 2-core CPU, measured on the quickstart:
# about 1.4e10 training FLOP/s at its sizes (300k examples/s), plus about 3 s to compile a new shape.
FLOPS_PER_SECOND = 1.4e10
COMPILE_SECONDS = 3.0


@dataclasses.dataclass(frozen=True)
class TrialPlan:
    trial: PlannedTrial
    params: dict[str, int]
    train_flops_per_example: float
    examples: int  # training examples over every pass (retrieval: sequences x epochs)
    train_flops: float
    est_seconds: float


def plan(trials: list[PlannedTrial]) -> list[TrialPlan]:
    """Cost of every trial; a compile is charged once per distinct model shape."""
    out, shapes = [], set()
    for t in trials:
        cfg = t.config
        model_cfg = tasks.model_config(cfg)
        per_example = tasks.train_flops_per_example(cfg, model_cfg)
        examples = tasks.of(cfg.arch).examples_consumed(cfg)
        flops = per_example * examples
        compile_s = 0.0 if model_cfg in shapes else COMPILE_SECONDS
        shapes.add(model_cfg)
        params = models.get(cfg.arch).param_counts(model_cfg)
        out.append(TrialPlan(t, params, per_example, examples, flops, compile_s + flops / FLOPS_PER_SECOND))
    return out


def format_plan(plans: list[TrialPlan]) -> str:
    head = f"{'trial':<12} {'seed':>4} {'params':>10} {'examples':>10} {'train FLOPs':>12} {'est. s':>7}  axes"
    lines = [head, "-" * len(head)]
    for p in plans:
        where = describe_point(p.trial.axes)
        lines.append(
            f"{p.trial.trial_id:<12} {p.trial.config.seed:>4} {p.params['total']:>10,} {p.examples:>10,} "
            f"{p.train_flops:>12.3g} {p.est_seconds:>7.1f}  {where}"
        )
    total = sum(p.est_seconds for p in plans)
    lines.append(f"{len(plans)} trials, {len({p.trial.config.model for p in plans})} model shapes, estimated {total / 60:.1f} min on one CPU worker")
    return "\n".join(lines)
