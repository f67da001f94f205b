"""What a sweep will cost, before it runs: parameters, FLOPs, examples and a time estimate."""

from __future__ import annotations

import dataclasses
import json

import models
from sweeps import tasks
from sweeps.spec import describe_trial
from sweeps.trials import PlannedTrial

# The harness's sustained rate on a 2-core CPU: about 1.4e10 FLOP/s, measured on the
# quickstart's DLRM trials (training FLOPs) and on the quick HSTU/SASRec trials (every FLOP
# of ``work_flops``: training, sampled-softmax logits and evaluations), plus a compile per
# new model shape (3 s for the quickstart's DLRM; a task may declare its own).
FLOPS_PER_SECOND = 1.4e10
COMPILE_SECONDS = 3.0


def _seconds(cfg, model_cfg, train_flops: float, new_shape: bool) -> float:
    """A trial's estimated time: the compile of a new shape and the FLOPs it runs (a task's
    ``work_flops`` where it declares one: work its training FLOPs leave out) at the rate."""
    task = tasks.of(cfg.arch)
    work = task.work_flops(cfg, model_cfg) if hasattr(task, "work_flops") else train_flops
    compile_s = getattr(task, "COMPILE_SECONDS", COMPILE_SECONDS) if new_shape else 0.0
    return compile_s + work / FLOPS_PER_SECOND


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
        seconds = _seconds(cfg, model_cfg, flops, model_cfg not in shapes)
        shapes.add(model_cfg)
        params = models.get(cfg.arch).param_counts(model_cfg)
        out.append(TrialPlan(t, params, per_example, examples, flops, seconds))
    return out


def points(plans: list[TrialPlan]) -> str:
    """``"7 points x 6 variants x 2 seeds"`` when some trial is a ``select:`` variant (a
    group is one point), else ``""``."""
    if all(p.trial.selection is None for p in plans):
        return ""
    variants: dict[str, set[int]] = {}
    for p in plans:
        sel, cfg = p.trial.selection, p.trial.config
        key = sel.group if sel is not None else json.dumps({**cfg.to_dict(), "seed": None}, sort_keys=True)
        variants.setdefault(key, set()).add(sel.index if sel is not None else 0)
    counts = sorted({len(v) for v in variants.values()})
    each = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    seeds = len({p.trial.config.seed for p in plans})
    return f"{len(variants)} points x {each} variants x {seeds} seed{'s' if seeds > 1 else ''}"


def format_plan(plans: list[TrialPlan]) -> str:
    head = f"{'trial':<12} {'seed':>4} {'params':>10} {'examples':>10} {'train FLOPs':>12} {'est. s':>7}  axes"
    lines = [head, "-" * len(head)]
    for p in plans:
        where = describe_trial(p.trial)
        lines.append(
            f"{p.trial.trial_id:<12} {p.trial.config.seed:>4} {p.params['total']:>10,} {p.examples:>10,} "
            f"{p.train_flops:>12.3g} {p.est_seconds:>7.1f}  {where}"
        )
    total = sum(p.est_seconds for p in plans)
    shapes = len({(p.trial.config.arch, p.trial.config.model) for p in plans})
    grouped = points(plans)
    lines.append(f"{len(plans)} trials{f' ({grouped})' if grouped else ''}, {shapes} model shapes, "
                 f"estimated {total / 60:.1f} min on one CPU worker")
    return "\n".join(lines)
