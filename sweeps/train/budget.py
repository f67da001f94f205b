"""Budget-aware training rules, the mechanics: a batch size that follows the data budget,
a warm-up that follows the trial's length. Each recipe declares its rule (``BATCH_RULE``);
``sweeps.tasks.resolve_budget`` applies both to every trial as it is built, so the
resolved config (its id, record and wandb run) holds the concrete batch size and warm-up
steps it trains with.

Why the batch follows the budget. At a fixed batch, a small data budget is also a short
run: the quickstart's data axis (2^15 - 2^21 examples at batch 1024) gave its smallest
point 32 optimiser steps, too few for the learning-rate schedule to do its work, so the
small budgets measured the optimiser's step starvation as much as the data and bent the
data curve. With ``train.batch_rule: budget`` a trial's batch is

    batch = clip(pow2_floor(rows / min_steps), min_batch, max_batch)

where ``rows`` is what a batch is made of over every pass of the trial (CTR: examples;
generative: whole sequences; retrieval: users times epochs): every trial gets at least
``min_steps`` steps unless even ``min_batch`` is too large for its budget (``rows <
min_steps * min_batch``), and budgets large enough train at ``max_batch`` as before.
Powers of two keep the compiled shapes few (one per octave of budget below the cap) and
make the batches of nested budgets divide one another. The learning rate is not
rescaled with the batch: per-point selection (a spec's ``select:``) is where it is tuned.

Warm-up. ``optim.warmup_frac`` > 0 sets ``optim.warmup_steps`` to ``round(frac * steps)``
(at least 1) of the trial's own optimiser steps; the schedule after it always spans the
rest of the trial (``optim.learning_rates`` takes the trial's total steps). A spec gives
one of the two: a ``warmup_steps`` that disagrees with its ``warmup_frac`` is an error.
"""

from __future__ import annotations

import dataclasses

BATCH_RULES = ("fixed", "budget")


def check_batch_rule(name: str) -> str | None:
    return None if name in BATCH_RULES else f"unknown batch rule {name!r}; expected one of {', '.join(BATCH_RULES)}"


def batch_rule_field():
    """A trainer's ``train.batch_rule``: ``fixed`` (``train.batch_size`` as given) or
    ``budget`` (the recipe's ``BATCH_RULE`` sets it). Not part of a trial's identity: it
    resolves into ``batch_size``, which is."""
    return dataclasses.field(default="fixed", metadata={"check": check_batch_rule, "identity": False})


def _pow2_floor(n: int) -> int:
    return 1 << (max(1, n).bit_length() - 1)


@dataclasses.dataclass(frozen=True)
class BatchRule:
    """``batch(rows) = clip(pow2_floor(rows / min_steps), min_batch, max_batch)`` (see the
    module's docstring); ``min_batch`` and ``max_batch`` powers of two."""

    min_steps: int
    min_batch: int
    max_batch: int

    def __post_init__(self):
        for b in (self.min_batch, self.max_batch):
            if b < 1 or b != _pow2_floor(b):
                raise ValueError(f"batch bounds must be powers of two, got {b}")
        if not 1 <= self.min_batch <= self.max_batch or self.min_steps < 1:
            raise ValueError(f"need min_steps >= 1 and 1 <= min_batch <= max_batch, got {self}")

    def batch(self, rows: int) -> int:
        return min(self.max_batch, max(self.min_batch, _pow2_floor(rows // self.min_steps)))


def warmup_steps(frac: float, total_steps: int) -> int:
    """Warm-up steps for a fraction of a trial's ``total_steps``: 0 for 0, else at least 1."""
    return max(1, round(frac * total_steps)) if frac > 0 else 0
