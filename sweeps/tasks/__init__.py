"""Tasks: what a trial trains on and how it is scored. A recipe names its task (``TASK``).

A task module owns its contract:

* ``SECTIONS``: the frozen dataclasses of a trial's ``data``, ``train`` and ``optim``
  sections (the ``model`` section is the recipe's ``ModelKnobs``);
* ``Inputs`` and ``inputs(cfg)``: what the data tells its recipes, and
  ``model_config(cfg)``, the architecture's Config for a trial: every recipe's
  ``build(spec, **inputs)`` (``build_model``) receives the fields of its task's ``Inputs``;
* ``examples_consumed(cfg)``: training examples a trial reads over all its passes, which
  the planner, isoFLOP budgets and records count, and ``examples_for(cfg, n)``, the
  ``data.examples`` that make such a trial read about ``n``;
* ``run(cfg, model_cfg, checkpoint_path, on_progress) -> TrainResult`` (``on_progress``:
  ``sweeps.progress.OnProgress`` or None); with ``PACKABLE``,
  ``run_packed(cfgs, model_cfg)`` trains trials of one shape together;
* ``HEADLINE``, the metric a progress line shows, and ``METRIC_NOTE``.
"""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType

import models
from sweeps import recipes
from sweeps.config import TrialConfig
from sweeps.train.core import training_flops

TASKS = ("ctr", "retrieval", "generative")


def get(name: str) -> ModuleType:
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    return importlib.import_module(f"sweeps.tasks.{name}")


def of(arch: str) -> ModuleType:
    """The task an architecture's recipe trains on."""
    return get(recipes.get(arch).TASK)


def resolve_budget(cfg: TrialConfig) -> TrialConfig:
    """The trial as it will train, once the budget-aware rules of its recipe have set the
    knobs that follow its budget (``sweeps.trials.build_config`` calls it on every trial)."""
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
