"""Trial claims: several drivers on one sweep directory train each trial once.

A driver (``recscale sweep run``, one per job of a job array, per machine or per Ray
head) claims a trial before training it: ``SWEEP_DIR/claims/<trial_id>.json`` holds the
host, the pid, a token naming the driver, when it was claimed and a heartbeat that a
thread of the driver refreshes every ``timeout / 4`` seconds. The file is created
atomically (written aside, then hard-linked to its name, which fails if the name exists),
so a reader sees a whole claim or none. Other drivers skip a claimed trial while its
heartbeat is fresh; a claim whose heartbeat is older than ``timeout`` (its driver was
killed, its host lost) is taken over, and the trial resumes from its checkpoint; so is at
once a claim of this host whose pid no longer exists (a sweep re-run after a kill). A
claim is released (removed) once its trial's record is written.

Every change to a claim (create, take over, refresh, release) reads it and writes it
under an exclusive POSIX record lock on ``claims/.lock``, held for milliseconds, so two
drivers never both take over one stale claim and a driver never refreshes or releases a
claim that is no longer its own. Record locks work on a shared POSIX file system (NFSv4,
or NFSv3 with lockd); the kernel drops a killed process's lock. Heartbeats are wall-clock
times, so the hosts' clocks must agree to well within the timeout (NTP does).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

from sweeps import store

DEFAULT_TIMEOUT_S = 60.0


@dataclasses.dataclass(frozen=True)
class Claim:
    """Who runs a trial: the driver's host, pid and token, since when, last heartbeat."""

    trial_id: str
    host: str
    pid: int
    driver: str
    since: float
    heartbeat: float

    def age(self, now: float | None = None) -> float:
        """Seconds since the last heartbeat."""
        return (time.time() if now is None else now) - self.heartbeat

    def stale(self, timeout: float, now: float | None = None) -> bool:
        """No heartbeat for ``timeout`` seconds, or the driver is known dead (this host, no such pid)."""
        return self.age(now) > timeout or (self.host == socket.gethostname() and not _alive(self.pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError):  # another user's process, or a malformed pid
        return pid > 0
    return True


def claims_dir(sweep_dir: Path | str) -> Path:
    return Path(sweep_dir) / "claims"


def _path(sweep_dir: Path | str, trial_id: str) -> Path:
    return claims_dir(sweep_dir) / f"{trial_id}.json"


def read(path: Path) -> Claim | None:
    """The claim at ``path``; None if there is none (an unreadable claim reads as infinitely old)."""
    try:
        d = json.loads(path.read_text())
        return Claim(**{f.name: d[f.name] for f in dataclasses.fields(Claim)})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return Claim(path.stem, "?", -1, "?", 0.0, 0.0)


def read_all(sweep_dir: Path | str) -> list[Claim]:
    """Every claim of a sweep, in trial-id order."""
    return [c for p in sorted(claims_dir(sweep_dir).glob("*.json")) if (c := read(p)) is not None]


class Claims:
    """This driver's claims on one sweep directory, kept alive by a heartbeat thread.

    ``acquire`` claims a trial (new, already this driver's, or taken over from a stale
    claim) and returns whether this driver now holds it; ``release`` gives it up; ``close``
    stops the heartbeat and releases every claim still held, so other drivers need not
    wait for the timeout after a clean exit or an exception. ``on_event`` receives a line
    for each take-over and each claim lost to another driver.
    """

    def __init__(self, sweep_dir: Path | str, *, timeout: float = DEFAULT_TIMEOUT_S,
                 on_event: Callable[[str], None] = lambda line: None):
        if timeout <= 0:
            raise ValueError(f"the claim timeout must be positive, got {timeout}")
        self.sweep_dir, self.timeout, self.on_event = Path(sweep_dir), float(timeout), on_event
        self.driver = uuid.uuid4().hex
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.held: dict[str, float] = {}  # trial id -> since
        self.lost: set[str] = set()
        self._mutex = threading.Lock()  # POSIX record locks are per process: threads need their own
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        claims_dir(self.sweep_dir).mkdir(parents=True, exist_ok=True)

    @property
    def heartbeat_s(self) -> float:
        return self.timeout / 4

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._mutex, open(claims_dir(self.sweep_dir) / ".lock", "a") as fh:
            fcntl.lockf(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.lockf(fh, fcntl.LOCK_UN)

    def _claim(self, trial_id: str, since: float) -> str:
        return json.dumps({"trial_id": trial_id, "host": self.host, "pid": self.pid, "driver": self.driver,
                           "since": since, "heartbeat": time.time()})

    def acquire(self, trial_id: str) -> bool:
        path = _path(self.sweep_dir, trial_id)
        with self._locked():
            current = read(path)
            if current is not None and current.driver != self.driver and not current.stale(self.timeout):
                return False
            since = time.time() if current is None or current.driver != self.driver else current.since
            if current is None:
                if not _create(path, self._claim(trial_id, since)):
                    return False  # created meanwhile by a writer that ignores the lock
            else:
                store.write_atomic(path, self._claim(trial_id, since))
            self.held[trial_id] = since
            self.lost.discard(trial_id)
        if current is not None and current.driver != self.driver:
            self.on_event(f"took over {trial_id} from {current.host} pid {current.pid} "
                          f"(no heartbeat for {current.age():.0f}s{'' if current.age() > self.timeout else ', not running'})")
        self._start()
        return True

    def release(self, trial_id: str) -> None:
        path = _path(self.sweep_dir, trial_id)
        with self._locked():
            self.held.pop(trial_id, None)
            current = read(path)
            if current is not None and current.driver == self.driver:
                path.unlink(missing_ok=True)

    def refresh(self) -> None:
        """Renew the heartbeat of every claim held; a claim taken over meanwhile is dropped."""
        with self._locked():
            for trial_id, since in list(self.held.items()):
                path = _path(self.sweep_dir, trial_id)
                current = read(path)
                if current is None or current.driver != self.driver:
                    del self.held[trial_id]
                    self.lost.add(trial_id)
                    owner = f"{current.host} pid {current.pid}" if current else "nobody"
                    self.on_event(f"lost the claim on {trial_id} (now held by {owner})")
                    continue
                store.write_atomic(path, self._claim(trial_id, since))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for trial_id in list(self.held):
            self.release(trial_id)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="recscale-claims", daemon=True)
            self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self.refresh()
            except OSError as e:  # a file system hiccup: the next beat tries again
                self.on_event(f"claim heartbeat failed: {e}")


def _create(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` only if it does not exist, as a whole file; False if it exists."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    store.write_atomic(tmp, text)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True
