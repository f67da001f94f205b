"""Executors run independent trials and hand their records back to the caller.

Whichever executor runs a trial, only the caller writes to the result store, so the
store stays the single source of truth (a Ray worker on another host needs no access
to the sweep directory).

* ``InProcess``: one trial after another in this process (the default);
* ``ProcessPool``: ``workers`` fresh processes (spawned, never forked: JAX is not
  fork-safe), each keeping its compiled programs and generated data across trials.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from typing import Callable, Iterable, Iterator

from sweeps.spec import PlannedTrial
from sweeps.store import TrialRecord

RunTrial = Callable[[PlannedTrial, str], TrialRecord]


class InProcess:
    name = "in-process"

    def run(self, fn: RunTrial, trials: Iterable[PlannedTrial], sweep: str) -> Iterator[tuple[PlannedTrial, TrialRecord]]:
        for t in trials:
            yield t, fn(t, sweep)

    def close(self) -> None:
        pass


class ProcessPool:
    name = "process-pool"

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self._pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def run(self, fn: RunTrial, trials: Iterable[PlannedTrial], sweep: str) -> Iterator[tuple[PlannedTrial, TrialRecord]]:
        futures = {self._pool.submit(fn, t, sweep): t for t in trials}
        for fut in cf.as_completed(futures):
            yield futures[fut], fut.result()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)
