"""Sweep progress you can watch: trials as they end, and steps or epochs inside a trial.

A trainer reports through a callback with this signature (the trainers import nothing
from here; ``None`` means nobody listens)::

    on_progress(unit: str, done: int, total: int, *, loss: float, examples: int)

``unit`` is ``"step"`` (CTR) or ``"epoch"`` (retrieval), ``done`` of ``total`` are
finished, ``loss`` is the mean training loss since the last report and ``examples`` the
training examples seen so far. :meth:`Progress.monitor` makes one for a trial; it derives
throughput (examples per second since the trial's first report, so compilation is left
out) and the trial's ETA. The sweep's ETA charges each trial left its plan estimate
(``sweeps.plan``) scaled by the ratio of measured to estimated seconds of the trials this
driver finished, and a running trial its own ETA once it reports.

On a terminal the display is live (``rich``: a bar for the sweep, one per running trial
with loss, throughput and ETA); elsewhere (a log file, a pipe) plain lines, one per trial
that ends and one per running trial every ``every_s`` seconds. ``on_update`` (the wandb
mirror of ``sweeps.tracking``) receives every report of a trial as numbers.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Callable, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bars, TextColumn

from sweeps import tasks
from sweeps.spec import PlannedTrial, describe_trial
from sweeps.store import TrialRecord

OnProgress = Callable[..., None]  # (unit, done, total, *, loss, examples) -> None


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


@dataclasses.dataclass
class TrialState:
    """The last report of a running trial, and what follows from it."""

    trial: PlannedTrial
    started: float
    unit: str = "step"
    done: int = 0
    total: int = 0
    loss: float = float("nan")
    examples_per_s: float = float("nan")
    eta_s: float | None = None
    _first: tuple[float, int, int] | None = None  # (time, done, examples) at the first report

    def update(self, unit: str, done: int, total: int, loss: float, examples: int, now: float) -> None:
        self.unit, self.done, self.total, self.loss = unit, done, total, loss
        if self._first is None:
            self._first = (now, done, examples)
            return
        t0, done0, ex0 = self._first
        if now > t0 and done > done0:
            self.examples_per_s = (examples - ex0) / (now - t0)
            self.eta_s = (total - done) * (now - t0) / (done - done0)

    def line(self) -> str:
        pct = 100 * self.done / max(self.total, 1)
        rate = "" if self.examples_per_s != self.examples_per_s else f", {self.examples_per_s:,.0f} ex/s"
        eta = "?" if self.eta_s is None else duration(self.eta_s)
        return f"{self.unit} {self.done}/{self.total} ({pct:.0f}%) loss {self.loss:.4f}{rate}, eta {eta}"


class Progress:
    """Reports a sweep's trials and their steps; ``live`` (default: the stream is a
    terminal) redraws a ``rich`` display in place, otherwise plain lines."""

    def __init__(self, stream: TextIO = sys.stdout, *, live: bool | None = None, every_s: float = 30.0,
                 on_update: Callable[[PlannedTrial, dict], None] | None = None):
        self.stream, self.every_s, self.on_update = stream, every_s, on_update
        self.live = stream.isatty() if live is None else live
        self.total = self.done = 0
        self.running: dict[str, TrialState] = {}
        self.estimates: dict[str, float] = {}
        self.parallel = 1
        self.measured: list[float] = []
        self.remaining: set[str] = set()
        self.spent = self.spent_estimated = 0.0
        self.t0 = time.perf_counter()
        self._last_line: dict[str, float] = {}
        self._bars: Bars | None = None
        self._rows: dict[str, int] = {}

    # -- the sweep -------------------------------------------------------------------

    def begin(self, trials: int | list[PlannedTrial], estimates: dict[str, float] | None = None,
              parallel: int = 1) -> None:
        """The trials to run (or just how many), their plan estimates in seconds, and how
        many train at once."""
        ids = [t.trial_id for t in trials] if isinstance(trials, list) else []
        self.total, self.done, self.t0 = len(trials) if isinstance(trials, list) else int(trials), 0, time.perf_counter()
        self.remaining, self.estimates, self.parallel = set(ids), dict(estimates or {}), max(1, parallel)
        if self.live:
            console = Console(file=self.stream, force_terminal=True, soft_wrap=True)
            self._bars = Bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TextColumn("{task.fields[info]}"), console=console, transient=True, refresh_per_second=4)
            self._rows["sweep"] = self._bars.add_task("sweep", total=self.total, info=f"eta {self.eta()}")
            self._bars.start()

    def message(self, text: str) -> None:
        if self._bars is not None:
            self._bars.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def started(self, trial: PlannedTrial) -> None:
        self.running[trial.trial_id] = TrialState(trial, time.perf_counter())
        self._last_line[trial.trial_id] = time.perf_counter()
        if self._bars is not None:
            self._rows[trial.trial_id] = self._bars.add_task(
                f"  {trial.trial_id} {describe_trial(trial)}", total=None, info="starting")

    def monitor(self, trial: PlannedTrial) -> OnProgress:
        """The ``on_progress`` callback of one trial (see the module docstring)."""

        def on_progress(unit: str, done: int, total: int, *, loss: float, examples: int) -> None:
            state = self.running.get(trial.trial_id) or self.running.setdefault(
                trial.trial_id, TrialState(trial, time.perf_counter()))
            now = time.perf_counter()
            state.update(unit, done, total, float(loss), int(examples), now)
            if self.on_update is not None:
                self.on_update(trial, {"unit": unit, "done": done, "total": total, "loss": state.loss,
                                       "examples": examples, "examples_per_s": state.examples_per_s,
                                       "eta_s": state.eta_s, "sweep_eta_s": self.eta_seconds()})
            if self._bars is not None:
                self._bars.update(self._rows[trial.trial_id], completed=done, total=total, info=state.line())
                self._bars.update(self._rows["sweep"], info=f"eta {self.eta()}")
            elif now - self._last_line.get(trial.trial_id, 0.0) >= self.every_s:
                self._last_line[trial.trial_id] = now
                self.message(f"  {trial.trial_id}: {state.line()} | sweep eta {self.eta()}")

        return on_progress

    def finished(self, trial: PlannedTrial, record: TrialRecord) -> None:
        self._end(trial)
        self.measured.append(record.wall_time_s)
        if trial.trial_id in self.estimates:
            self.spent += record.wall_time_s
            self.spent_estimated += self.estimates[trial.trial_id]
        head = tasks.of(record.arch).HEADLINE
        head = head if head in record.final_metrics else None
        self.message(
            f"[{self.done}/{self.total}] {record.trial_id} {describe_trial(trial)} seed={record.seed}: "
            f"{record.status}" + (f" {head}={record.final_metrics[head]:.4f}" if head else "")
            + f" ({record.wall_time_s:.1f}s)" + ("" if self.live else f" eta {self.eta()}")
        )

    def elsewhere(self, trial: PlannedTrial) -> None:
        """A trial of this sweep recorded by another driver."""
        self._end(trial)

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    # -- the estimate ----------------------------------------------------------------

    def eta_seconds(self) -> float | None:
        """Seconds until the sweep ends, or None before anything is known. Without plan
        estimates a trial left is charged the mean wall time of those finished here."""
        left = self.total - self.done
        if not left:
            return 0.0
        if self.estimates:
            scale = self.spent / self.spent_estimated if self.spent_estimated > 0 else 1.0
            guess = lambda tid: scale * self.estimates.get(tid, 0.0)  # noqa: E731
        elif self.measured:
            guess = lambda tid: sum(self.measured) / len(self.measured)  # noqa: E731
        else:
            guess = lambda tid: None  # noqa: E731
        out = 0.0
        for tid in self.remaining or [None] * left:
            state = self.running.get(tid)
            each = state.eta_s if state is not None and state.eta_s is not None else guess(tid)
            if each is None:
                return None
            out += each
        return out / self.parallel

    def eta(self) -> str:
        s = self.eta_seconds()
        return "?" if s is None else duration(s)

    def _end(self, trial: PlannedTrial) -> None:
        self.running.pop(trial.trial_id, None)
        self.remaining.discard(trial.trial_id)
        self.done += 1
        if self._bars is not None:
            row = self._rows.pop(trial.trial_id, None)
            if row is not None:
                self._bars.remove_task(row)
            self._bars.update(self._rows["sweep"], completed=self.done, info=f"eta {self.eta()}")
