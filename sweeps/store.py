"""The local result store: one JSON file per trial under ``SWEEP_DIR/trials/``.

Atomic per-trial files were chosen over a database: a record is written to a temporary
file in the same directory, flushed, fsynced and renamed over its final name, so a
reader sees either no record or a whole one (a process killed mid-write leaves only a
``.tmp`` file, which readers ignore), and concurrent writers of different trials never
touch the same file. The store is the single source of truth; wandb only mirrors it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

# 2: ``bayes_ne`` became ``floor_ne`` (it holds whatever floor the task knows); records
# of schema 1 are read as schema 2.
SCHEMA = 2


@dataclasses.dataclass(frozen=True)
class TrialRecord:
    trial_id: str
    sweep: str
    arch: str
    seed: int
    # Axis name -> scale value, for every axis this trial lies on; a data axis grown from a
    # labelled base is ``data@<label>`` (``grown_axis``), e.g. ``data@vertical``.
    axes: dict[str, float]
    config: dict[str, Any]
    status: str  # "finished" | "diverged" | "failed"
    params: dict[str, int]  # embedding, dense, total
    flops_per_example: dict[str, float]  # forward, train (= 3 x forward); *_expected with Stochastic Length
    train_flops: float
    examples_seen: int
    final_metrics: dict[str, float]  # what the trial is judged by (CTR: the last evaluation; retrieval: test)
    # The metrics the trial's reported point was chosen on: CTR, the evaluation with the
    # lowest NE; retrieval, the validation metrics of the epoch whose test metrics are final.
    best_metrics: dict[str, float]
    curve: list[dict[str, float]]
    wall_time_s: float
    compile_time_s: float
    throughput: float  # training examples per second, compile excluded
    metric_note: str
    versions: dict[str, str]
    message: str = ""
    # The best NE any model can reach on the eval set where the task knows it (the
    # synthetic CTR world's Bayes NE); None elsewhere.
    floor_ne: float | None = None
    # Retrieval on synthetic data: the true process's test metrics (floor of nll, ceiling of HR/NDCG/MRR).
    oracle_metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    # The metrics on the validation set (never the evaluation set) at the reported point;
    # what a spec's ``select:`` chooses variants by. Empty where the task has none.
    valid_metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    # A variant of a spec's ``select:``: its group (the point), variant, index, by, goal and
    # the group's trial ids (``sweeps.selection``). Empty for a trial that is no variant.
    selection: dict[str, Any] = dataclasses.field(default_factory=dict)
    schema: int = SCHEMA

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "TrialRecord":
        """A record from its JSON, of this schema or an older one."""
        d = dict(d)
        if d.get("schema", 1) < 2:
            d["floor_ne"], d["schema"] = d.pop("bayes_ne", None), SCHEMA
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def grown_axis(axis: str, label: str) -> str:
    """The name under which a trial records ``axis`` grown from the base labelled ``label``."""
    return f"{axis}@{label}"


def split_axis(name: str) -> tuple[str, str | None]:
    """``"data@vertical"`` -> ``("data", "vertical")``; a plain axis name -> ``(name, None)``."""
    axis, _, label = name.partition("@")
    return axis, label or None


def trials_dir(sweep_dir: Path | str) -> Path:
    return Path(sweep_dir) / "trials"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(sweep_dir: Path | str, record: TrialRecord) -> Path:
    path = trials_dir(sweep_dir) / f"{record.trial_id}.json"
    write_atomic(path, record.to_json())
    return path


def has(sweep_dir: Path | str, trial_id: str) -> bool:
    return (trials_dir(sweep_dir) / f"{trial_id}.json").exists()


def read_all(sweep_dir: Path | str) -> Iterator[TrialRecord]:
    """Every complete record of a sweep, in trial-id order."""
    d = trials_dir(sweep_dir)
    if not d.is_dir():
        return
    for path in sorted(d.glob("*.json")):
        yield TrialRecord.from_dict(json.loads(path.read_text()))
