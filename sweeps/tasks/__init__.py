"""Tasks: what a trial trains on and how it is scored. A recipe names its task (``TASK``).

A task module owns its contract:

* ``SECTIONS``: the frozen dataclasses of a trial's ``data``, ``train`` and ``optim``
  sections (the ``model`` section is the recipe's ``ModelKnobs``);
* ``Inputs`` and ``inputs(cfg)``: what the data tells its recipes, and
  ``model_config(cfg)``, the architecture's Config for a trial: every recipe's
  ``build(spec, **inputs)`` (``build_model``) receives the fields of its task's ``Inputs``;
* ``examples_consumed(cfg)``: training examples a trial reads over all its passes, which
  the planner, isoFLOP budgets and records count, and ``examples_for(cfg, n)``, the
  ``data.examples`` that make such a trial read about ``n`` (both at the batch size
  ``batch_size`` gives for those examples);
* ``batch_rows(cfg, examples)``: what a batch is made of over every pass of a trial with
  ``data.examples`` = ``examples`` (CTR: examples, generative: sequences, retrieval:
  users times epochs), the input of a recipe's ``BATCH_RULE``; ``total_steps(cfg)``: a
  trial's optimiser steps;
* ``run(cfg, model_cfg, checkpoint_path, on_progress) -> TrainResult`` (``on_progress``:
  ``sweeps.progress.OnProgress`` or None); with ``PACKABLE``,
  ``run_packed(cfgs, model_cfg, on_progress)`` trains trials of one shape together
  (``on_progress``: None or one callback per trial);
* ``HEADLINE``, the metric a progress line shows, and ``METRIC_NOTE``.
"""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType

import models
from sweeps import recipes
from sweeps.config import TrialConfig
from sweeps.errors import SpecError
from sweeps.train import budget
from sweeps.train.core import training_flops

TASKS = ("ctr", "retrieval", "generative")


def get(name: str) -> ModuleType:
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    return importlib.import_module(f"sweeps.tasks.{name}")


def of(arch: str) -> ModuleType:
    """The task an architecture's recipe trains on."""
    return get(recipes.get(arch).TASK)


def batch_size(cfg: TrialConfig, examples: int) -> int:
    """The batch size of a trial like ``cfg`` with ``data.examples`` = ``examples``: its
    ``train.batch_size``, or with ``train.batch_rule: budget`` its recipe's ``BATCH_RULE``
    of the budget (``sweeps.train.budget``)."""
    if cfg.train.batch_rule == "fixed":
        return cfg.train.batch_size
    return recipes.get(cfg.arch).BATCH_RULE.batch(of(cfg.arch).batch_rows(cfg, examples))


def _default(section, name: str):
    return next(f.default for f in dataclasses.fields(section) if f.name == name)


def resolve_budget(cfg: TrialConfig) -> TrialConfig:
    """The trial as it will train, once the budget-aware rules (``sweeps.train.budget``)
    have set the knobs that follow its budget: ``train.batch_size`` under ``train.batch_rule:
    budget``, then ``optim.warmup_steps`` from ``optim.warmup_frac`` of the trial's steps.
    ``sweeps.trials.build_config`` calls it on every trial, so ids and records hold the
    concrete numbers. A value given that the rule would override is an error (a
    ``batch_size`` equal to the default counts as not given)."""
    train, optim = cfg.train, cfg.optim
    if train.batch_rule == "budget":
        bs = batch_size(cfg, cfg.data.examples)
        if train.batch_size not in (bs, _default(train, "batch_size")):
            raise SpecError("train.batch_size", f"{train.batch_size} is set by train.batch_rule budget (to {bs} for "
                            f"{cfg.data.examples:,} examples); leave it out or use batch_rule: fixed")
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(train, batch_size=bs))
    if optim.warmup_frac > 0:
        warm = budget.warmup_steps(optim.warmup_frac, of(cfg.arch).total_steps(cfg))
        if optim.warmup_steps not in (0, warm):
            raise SpecError("optim.warmup_steps", f"{optim.warmup_steps} disagrees with optim.warmup_frac "
                            f"{optim.warmup_frac:g} ({warm} steps of this trial); give one of the two")
        cfg = dataclasses.replace(cfg, optim=dataclasses.replace(optim, warmup_steps=warm))
    return cfg


def model_config(cfg: TrialConfig):
    return of(cfg.arch).model_config(cfg)


def build_model(cfg: TrialConfig, inputs):
    """The recipe's ``build(cfg.model, **inputs)``: the one way a recipe is called."""
    fields = {f.name: getattr(inputs, f.name) for f in dataclasses.fields(inputs)}
    return recipes.get(cfg.arch).build(cfg.model, **fields)


def train_flops_per_example(cfg: TrialConfig, model_cfg=None) -> float:
    """Training FLOPs per example (``train.core.training_flops`` of the analytic forward)."""
    model_cfg = model_config(cfg) if model_cfg is None else model_cfg
    return training_flops(models.get(cfg.arch).forward_flops(model_cfg))


def train_flops(cfg: TrialConfig, model_cfg=None) -> float:
    """Training FLOPs of a whole trial: per example times the examples of every pass."""
    return train_flops_per_example(cfg, model_cfg) * of(cfg.arch).examples_consumed(cfg)
