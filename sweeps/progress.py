"""Sweep progress: a live status line on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from sweeps import tasks
from sweeps.spec import PlannedTrial, describe_point
from sweeps.store import TrialRecord


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class Progress:
    """Reports trials as they start and end; ``live`` redraws one status line in place."""

    def __init__(self, stream: TextIO = sys.stdout, *, live: bool | None = None):
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.total = self.done = 0
        self.running: dict[str, PlannedTrial] = {}
        self.t0 = time.perf_counter()

    def message(self, text: str) -> None:
        self._clear()
        print(text, file=self.stream, flush=True)
        self._status()

    def begin(self, total: int) -> None:
        self.total, self.done, self.t0 = total, 0, time.perf_counter()

    def started(self, trial: PlannedTrial) -> None:
        self.running[trial.trial_id] = trial
        self._status()

    def finished(self, trial: PlannedTrial, record: TrialRecord) -> None:
        self.running.pop(trial.trial_id, None)
        self.done += 1
        head = tasks.of(record.arch).HEADLINE
        head = head if head in record.final_metrics else None
        self.message(
            f"[{self.done}/{self.total}] {record.trial_id} {describe_point(trial.axes)} seed={record.seed}: "
            f"{record.status}" + (f" {head}={record.final_metrics[head]:.4f}" if head else "")
            + f" ({record.wall_time_s:.1f}s)"
            + ("" if self.live else f" eta {self._eta()}")
        )

    def elsewhere(self, trial: PlannedTrial) -> None:
        """A trial of this sweep recorded by another driver."""
        self.running.pop(trial.trial_id, None)
        self.done += 1
        self._status()

    def close(self) -> None:
        self._clear()

    def _eta(self) -> str:
        if not self.done:
            return "?"
        elapsed = time.perf_counter() - self.t0
        return _duration(elapsed / self.done * (self.total - self.done))

    def _status(self) -> None:
        if not self.live or not self.total:
            return
        running = ", ".join(f"{t.trial_id} ({describe_point(t.axes)})" for t in list(self.running.values())[:2])
        more = f" +{len(self.running) - 2}" if len(self.running) > 2 else ""
        line = f"{self.done}/{self.total} done | running {running or '-'}{more} | eta {self._eta()}"
        self.stream.write("\r\033[K" + line[:160])
        self.stream.flush()

    def _clear(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")
