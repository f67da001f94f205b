"""Criteo click logs: the Kaggle Display Advertising Challenge and the Terabyte day files.

Format (both): one impression per line, tab-separated: the label (0/1), 13 integer
features ``I1..I13`` and 26 categorical features ``C1..C26`` (32-bit hashes written as
hexadecimal); any feature may be empty. Lines are in time order.

Preparation, as the reference DLRM code does it:

* dense: an empty value is 0, negative values become 0, then ``log(x + 1)`` (float32);
* categorical: the hexadecimal hash modulo the table size (``table_size``, default
  2^30; an empty value is hash 0). Then, with ``ids="dense"`` (Kaggle's default), each
  field's values are renumbered 0..n-1 in hash order, as DLRM's dictionaries do, and the
  field's cardinality is its number of distinct values, so ``model.rows`` larger than
  that gives the field exactly one row per value (DLRM's Kaggle model). With
  ``ids="hashed"`` (Terabyte's default: 4 billion rows are too many to renumber in
  memory) the ids stay ``hash % table_size`` and every field's cardinality is the table
  size; ``--table-size 20000000`` then reproduces DLRM's ``--max-ind-range``;
* the standard day split: Kaggle's ``train.txt`` holds 7 days, cut (as DLRM does) into 7
  equal parts in file order, the first ``N % 7`` one line longer; days 1-6 are training,
  day 7 is split in half: the first half (rounded up) test, the second validation. Of
  the Terabyte day files present, the highest-numbered (``day_23`` in the full set) is
  split the same way and the others are training, in day order.

Unlike DLRM's default, the training rows are **not shuffled**: they stay in time order, so
a data budget of N examples is the first N impressions (nested budgets, as on the
synthetic world). Evaluation uses the first ``eval_rows`` rows of the test half.
"""

from __future__ import annotations

import collections
import multiprocessing
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from sweeps.data import rawtext
from sweeps.data.prepared import Writer
from sweeps.errors import InputError

N_DENSE, N_CAT = 13, 26
DENSE = tuple(f"I{i}" for i in range(1, N_DENSE + 1))
CATEGORICAL = tuple(f"C{i}" for i in range(1, N_CAT + 1))
COLUMNS = ("label", *DENSE, *CATEGORICAL)
DEFAULT_TABLE_SIZE = 1 << 30
DEFAULT_EVAL_ROWS = 1 << 20
BLOCK_BYTES = 1 << 22  # about 25,000 lines: the parsers' temporaries stay within tens of MB
_DAY = re.compile(r"^day_(\d+)$")


def parse_block(source: str, first_line: int, block: bytes, table_size: int):
    """``(dense [n, 13] float32, ids [n, 26] int32, label [n] float32)`` of a block of lines."""
    f = rawtext.split(source, first_line, block, b"\t", COLUMNS)
    w = f.width(0)
    label_byte = f.buf[f.start[:, 0]] if len(f) else np.zeros(0, np.uint8)
    bad = (w != 1) | ((label_byte != ord("0")) & (label_byte != ord("1")))
    if bad.any():
        f.fail(int(np.argmax(bad)), 0, "expected the label 0 or 1")
    label = (label_byte == ord("1")).astype(np.float32)
    counts = f.ints(slice(1, 1 + N_DENSE), empty=0)
    dense = np.log1p(np.maximum(counts, 0)).astype(np.float32)
    hashes = f.hex(slice(1 + N_DENSE, 1 + N_DENSE + N_CAT), empty=0)
    ids = (hashes % np.uint64(table_size)).astype(np.int32)
    return dense, ids, label


def _day_number(name: str) -> int | None:
    m = _DAY.match(name.removesuffix(".gz"))
    return int(m.group(1)) if m else None


def raw_files(variant: str, path: Path) -> list[rawtext.RawFile]:
    """Kaggle: ``train.txt`` (plain, or inside the downloaded ``.tar.gz``). Terabyte: the
    ``day_N`` / ``day_N.gz`` files of a directory (or one such file), in day order."""
    if variant == "kaggle":
        files = rawtext.find_files(path, lambda n: n == "train.txt" or Path(path).is_file() and n == Path(path).name)
        if len(files) != 1:
            raise InputError(f"{path}: expected Criteo Kaggle's train.txt (or the archive holding it)")
        return files
    files = rawtext.find_files(path, lambda n: _day_number(n) is not None)
    if not files:
        raise InputError(f"{path}: no Criteo Terabyte day files (day_0 ... day_23, optionally .gz)")
    return sorted(files, key=lambda f: _day_number(Path(f.name).name))


def kaggle_days(n: int, days: int = 7) -> np.ndarray:
    """Row offsets of DLRM's 7 equal 'days' of the Kaggle file (the first n % 7 one row longer)."""
    per, extra = divmod(n, days)
    sizes = [per + (d < extra) for d in range(days)]
    return np.concatenate([[0], np.cumsum(sizes)])


def _parsed(raw: rawtext.RawFile, table_size: int, workers: int) -> Iterator[tuple]:
    """``parse_block`` over the file's blocks, in order; with several workers the blocks
    are parsed in parallel processes (reading and decompressing stay in this one)."""
    blocks = rawtext.blocks(raw, BLOCK_BYTES)
    if workers <= 1:
        for first, block in blocks:
            yield parse_block(raw.name, first, block, table_size)
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending: collections.deque = collections.deque()
        for first, block in blocks:
            pending.append(pool.submit(parse_block, raw.name, first, block, table_size))
            if len(pending) >= 2 * workers:  # bounded: memory stays a few blocks per worker
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def prepare(
    variant: str, path: Path, name: str, *, table_size: int = DEFAULT_TABLE_SIZE,
    eval_rows: int = DEFAULT_EVAL_ROWS, ids: str | None = None, workers: int = 1, base: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    if not 1 <= table_size <= 2**31 - 1:
        raise InputError(f"table size must be in [1, 2^31 - 1], got {table_size}")
    ids = ids or ("dense" if variant == "kaggle" else "hashed")
    if ids not in ("dense", "hashed"):
        raise InputError(f"ids must be 'dense' or 'hashed', got {ids!r}")
    files = raw_files(variant, path)
    day_rows: list[int] = []
    with Writer(name, base) as w:
        for raw in files:
            n = 0
            for dense, cat, label in _parsed(raw, table_size, workers):
                w.append("ctr/dense", dense)
                w.append("ctr/label", label)
                for j, field in enumerate(CATEGORICAL):
                    w.append(f"ctr/ids/{field}", cat[:, j])
                n += len(label)
            day_rows.append(n)
            if progress:
                progress(f"{raw.name}: {n:,} lines")
        total = sum(day_rows)
        if variant == "kaggle":
            bounds = kaggle_days(total)
            eval_start, eval_end = int(bounds[-2]), total
        else:
            if len(files) < 2:
                raise InputError(f"{path}: need at least one training day file and the evaluation day (day_23)")
            eval_start, eval_end = total - day_rows[-1], total
        if eval_start == 0 or eval_end - eval_start < 2:
            raise InputError(f"{path}: too few lines ({total}) for a training, a validation and a test split")
        cardinality = [table_size] * N_CAT
        if ids == "dense":
            for j, field in enumerate(CATEGORICAL):
                column = w.written(f"ctr/ids/{field}")
                values, column[:] = np.unique(column, return_inverse=True)
                column.flush()
                cardinality[j] = len(values)
        test_end = eval_start + -(-(eval_end - eval_start) // 2)
        meta = {
            "source": f"criteo-{variant}",
            "kinds": ["ctr"],
            "raw": [f.describe() for f in files],
            "options": {"table_size": table_size, "ids": ids, "eval_rows": eval_rows},
            "counts": {"rows": total, "file_rows": day_rows},
            "ctr": {
                "fields": [{"name": f, "cardinality": c} for f, c in zip(CATEGORICAL, cardinality)],
                "dense": list(DENSE),
                "splits": {"train": [0, eval_start], "test": [eval_start, test_end], "valid": [test_end, eval_end]},
                "eval": [eval_start, min(test_end, eval_start + eval_rows)],
            },
        }
        return w.commit(meta)

