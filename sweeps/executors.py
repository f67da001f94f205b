"""Executors run independent units of work and hand their results back to the caller.

A unit is a pack of trials (``sweeps.packed``; a lone trial is a pack of one) and its
result the list of their records; ``on_start`` is called with a unit when it starts.
Units are taken from their iterable only as workers free up (at most ``workers`` in
flight), so a driver claims a trial (``sweeps.claims``) just before it trains it.

Whichever executor runs a trial, only the caller writes to the result store, so the
store stays the single source of truth (a Ray worker on another host needs no access
to the sweep directory).

* ``InProcess``: one trial after another in this process (the default);
* ``ProcessPool``: ``workers`` fresh processes (spawned, never forked: JAX is not
  fork-safe), each keeping its compiled programs and generated data across trials; the
  progress a trial reports inside a worker reaches this process through a queue
  (``relay``) and is handed to the caller's callback while ``run`` waits;
* ``RayExecutor``: one Ray task per trial (1 CPU each), on an existing cluster
  (``address``) or a local instance it starts and stops itself. A task whose worker dies
  runs again (``max_retries``) and resumes from the trial's checkpoint when the
  checkpoint directory is on a path every node sees (``--checkpoint-dir``). Ray is the optional
  ``cluster`` extra; workers must be able to import recscale (on a cluster, install it
  on every node or pass a ``runtime_env``).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from typing import Callable, Iterable, Iterator

from sweeps.spec import PlannedTrial
from sweeps.store import TrialRecord

Unit = tuple[PlannedTrial, ...]
RunTrial = Callable[[Unit], list[TrialRecord]]
OnStart = Callable[[Unit], None]


def _ignore(unit: Unit) -> None:
    pass


class InProcess:
    name = "in-process"
    workers = 1

    def run(self, fn: RunTrial, trials: Iterable[Unit], on_start: OnStart = _ignore) -> Iterator[tuple[Unit, list[TrialRecord]]]:
        for t in trials:
            on_start(t)
            yield t, fn(t)

    def close(self) -> None:
        pass


# (trial id, unit, done, total, loss, examples): one progress report of a trial in a worker
ProgressSink = Callable[[str, str, int, int, float, int], None]


class _QueueMonitor:
    """A picklable ``monitor`` (``runner.run_pack``) for worker processes: each trial's
    ``on_progress`` puts its reports on a queue the driver drains."""

    def __init__(self, queue):
        self.queue = queue

    def __call__(self, trial: PlannedTrial):
        def on_progress(unit: str, done: int, total: int, *, loss: float, examples: int) -> None:
            self.queue.put((trial.trial_id, unit, int(done), int(total), float(loss), int(examples)))

        return on_progress


class ProcessPool:
    name = "process-pool"
    POLL_S = 0.25  # how often a waiting driver hands on the workers' progress

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self._ctx = multiprocessing.get_context("spawn")
        self._pool = cf.ProcessPoolExecutor(workers, mp_context=self._ctx)
        self._manager = self._queue = self._sink = None

    def relay(self, sink: ProgressSink) -> _QueueMonitor:
        """A monitor to pass to the workers; their reports reach ``sink`` in this process."""
        if self._manager is None:
            self._manager = self._ctx.Manager()
            self._queue = self._manager.Queue()
        self._sink = sink
        return _QueueMonitor(self._queue)

    def _drain(self) -> None:
        while self._queue is not None and not self._queue.empty():
            report = self._queue.get()
            if self._sink is not None:
                self._sink(*report)

    def run(self, fn: RunTrial, trials: Iterable[Unit], on_start: OnStart = _ignore) -> Iterator[tuple[Unit, list[TrialRecord]]]:
        def wait(futures):
            while True:
                done, _ = cf.wait(futures, timeout=self.POLL_S if self._queue is not None else None,
                                  return_when=cf.FIRST_COMPLETED)
                self._drain()
                if done:
                    return [(f, f.result) for f in done]

        return _in_flight(lambda t: self._pool.submit(fn, t), wait, trials, self.workers, on_start)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)
        if self._manager is not None:
            self._manager.shutdown()
            self._manager = self._queue = None


def _in_flight(submit: Callable, wait: Callable, trials: Iterable[Unit], limit: int,
               on_start: OnStart) -> Iterator[tuple[Unit, list[TrialRecord]]]:
    """At most ``limit`` units submitted at once, the next taken as one finishes.
    ``submit(unit)`` returns a handle; ``wait(handles)`` the finished ones as
    ``(handle, get_result)`` pairs."""
    queue, running = iter(trials), {}

    def top_up():
        while len(running) < limit and (unit := next(queue, None)) is not None:
            on_start(unit)
            running[submit(unit)] = unit

    top_up()
    while running:
        for handle, result in wait(list(running)):
            unit = running.pop(handle)
            top_up()
            yield unit, result()


def _call(fn: RunTrial, unit: Unit) -> list[TrialRecord]:
    return fn(unit)


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None, runtime_env: dict | None = None,
                 max_retries: int = 3):
        try:
            import ray
        except ImportError as e:
            raise RuntimeError("the Ray executor needs the cluster extra: pip install 'recscale[cluster]'") from e
        self._ray = ray
        self._owns = not ray.is_initialized()
        self._num_cpus, self.max_retries = num_cpus, max_retries
        if self._owns:
            ray.init(
                address=address,
                num_cpus=None if address else num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                runtime_env=runtime_env,
            )

    @property
    def workers(self) -> int:
        """Trials the cluster runs at once (one CPU each), for splitting packs among them."""
        return self._num_cpus or max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def run(self, fn: RunTrial, trials: Iterable[Unit], on_start: OnStart = _ignore) -> Iterator[tuple[Unit, list[TrialRecord]]]:
        # A worker (or node) lost mid-trial: Ray runs the task again elsewhere, and the trial
        # resumes from its checkpoint if the checkpoint directory is shared. A trial's own
        # exception is never retried here (it comes back as a failed record).
        remote = self._ray.remote(num_cpus=1, max_retries=self.max_retries)(_call)

        def wait(refs):
            done, _ = self._ray.wait(refs, num_returns=1)
            return [(r, lambda r=r: self._ray.get(r)) for r in done]

        return _in_flight(lambda t: remote.remote(fn, t), wait, trials, self.workers, on_start)

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
