"""Tasks: what a trial trains on and how it is scored. A recipe names its task (``TASK``).

A task module exposes ``model_config(cfg)`` (the architecture's Config for a trial),
``run(cfg, model_cfg, checkpoint_path) -> Outcome`` and ``METRIC_NOTE``; ``HEADLINE`` is
the metric a progress line shows.
"""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType

TASKS = ("ctr", "retrieval")


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: str  # "finished" | "diverged"
    examples_seen: int
    curve: tuple[dict, ...]
    final: dict
    best: dict
    train_seconds: float
    compile_seconds: float
    floor: float | None = None  # the best value any model can reach, where the task knows it
    message: str = ""
    # Expected forward FLOPs per example when training changed them (e.g. Stochastic Length).
    forward_flops: float | None = None
    # The metrics of the true generative process on the same targets (no model beats them
    # in expectation), where the data's generator is known.
    oracle: dict | None = None


def get(name: str) -> ModuleType:
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    return importlib.import_module(f"sweeps.tasks.{name}")
