"""Executors run independent trials and hand their records back to the caller.

Whichever executor runs a trial, only the caller writes to the result store, so the
store stays the single source of truth (a Ray worker on another host needs no access
to the sweep directory).

* ``InProcess``: one trial after another in this process (the default);
* ``ProcessPool``: ``workers`` fresh processes (spawned, never forked: JAX is not
  fork-safe), each keeping its compiled programs and generated data across trials;
* ``RayExecutor``: one Ray task per trial (1 CPU each), on an existing cluster
  (``address``) or a local instance it starts and stops itself. Ray is the optional
  ``cluster`` extra; workers must be able to import recscale (on a cluster, install it
  on every node or pass a ``runtime_env``).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from typing import Callable, Iterable, Iterator

from sweeps.spec import PlannedTrial
from sweeps.store import TrialRecord

RunTrial = Callable[[PlannedTrial], TrialRecord]
OnStart = Callable[[PlannedTrial], None]


def _ignore(trial: PlannedTrial) -> None:
    pass


class InProcess:
    name = "in-process"

    def run(self, fn: RunTrial, trials: Iterable[PlannedTrial], on_start: OnStart = _ignore) -> Iterator[tuple[PlannedTrial, TrialRecord]]:
        for t in trials:
            on_start(t)
            yield t, fn(t)

    def close(self) -> None:
        pass


class ProcessPool:
    name = "process-pool"

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self._pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def run(self, fn: RunTrial, trials: Iterable[PlannedTrial], on_start: OnStart = _ignore) -> Iterator[tuple[PlannedTrial, TrialRecord]]:
        futures = {self._pool.submit(fn, t): t for t in trials}
        queue = list(futures.values())  # the pool takes tasks in submission order
        for t in queue[: self.workers]:
            on_start(t)
        next_up = self.workers
        for fut in cf.as_completed(futures):
            if next_up < len(queue):
                on_start(queue[next_up])
                next_up += 1
            yield futures[fut], fut.result()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


def _call(fn: RunTrial, trial: PlannedTrial) -> TrialRecord:
    return fn(trial)


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None, runtime_env: dict | None = None):
        try:
            import ray
        except ImportError as e:
            raise RuntimeError("the Ray executor needs the cluster extra: pip install 'recscale[cluster]'") from e
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            ray.init(
                address=address,
                num_cpus=None if address else num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                runtime_env=runtime_env,
            )

    def run(self, fn: RunTrial, trials: Iterable[PlannedTrial], on_start: OnStart = _ignore) -> Iterator[tuple[PlannedTrial, TrialRecord]]:
        remote = self._ray.remote(num_cpus=1, max_retries=0)(_call)
        refs = {remote.remote(fn, t): t for t in trials}
        for t in refs.values():
            on_start(t)
        pending = list(refs)
        while pending:
            done, pending = self._ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], self._ray.get(ref)

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
