"""Results from anywhere: the per-axis analysis of numbers in a CSV file, a pandas
DataFrame or plain arrays (another cluster's sweep, a paper's table); and a DataFrame
(the trial table of :func:`analysis.load.trial_table`) as Markdown.

One curve per value of the ``group`` column (or one curve); rows with the same x within
a curve are replicates (seeds). The analysis, table, verdicts and figure are those of a
sweep (:mod:`analysis.fits`, :mod:`analysis.plots`); x is named by its column.

Bad input raises :class:`sweeps.errors.InputError` (exit status 2 on the command line)
naming the line (CSV; the header is line 1) or the row, and the column: a missing column,
a value that is not a finite number, an x that is not positive.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from analysis.fits import AxisFit, analyse_points, fit_rows, format_table, higher_is_better as metric_higher
from analysis.load import make_points
from scaling.verdict import MIN_GAIN
from sweeps.errors import InputError

ONE_CURVE = "all"


@dataclasses.dataclass(frozen=True)
class TableFit:
    """The analysed curves (``fits``: one :class:`analysis.fits.AxisFit` per group) and how to show them."""

    fits: dict[str, AxisFit]
    x: str
    y: str

    def text(self) -> str:
        return format_table(self.fits, None)

    def rows(self) -> list[dict]:
        return fit_rows(self.fits)

    def figure(self, title: str = ""):
        from analysis.plots import scaling_panels

        return scaling_panels(self.fits, title=title or f"{self.y} against {self.x}")


def _number(value: Any, where: str, column: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}, column {column!r}: {value!r} is not a number") from None
    if not math.isfinite(v):
        raise InputError(f"{where}, column {column!r}: {value!r} is not a finite number")
    return v


def _curves(rows: Iterable[tuple[str, Mapping[str, Any]]], *, x: str, y: str,
            group: str | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{group: (x, y)}`` from ``(where, row)`` pairs, checking every value."""
    found: dict[str, tuple[list[float], list[float]]] = {}
    for where, row in rows:
        xv, yv = _number(row[x], where, x), _number(row[y], where, y)
        if xv <= 0:
            raise InputError(f"{where}, column {x!r}: x must be positive (laws are fitted on log x), got {row[x]!r}")
        key = ONE_CURVE if group is None else str(row[group])
        xs, ys = found.setdefault(key, ([], []))
        xs.append(xv)
        ys.append(yv)
    if not found:
        raise InputError("no data rows")
    return {k: (np.array(a), np.array(b)) for k, (a, b) in found.items()}


def _check_columns(columns: Iterable[str], needed: list[str | None], where: str) -> None:
    names = list(columns)
    for col in needed:
        if col is not None and col not in names:
            raise InputError(f"{where}: no column {col!r} (columns: {', '.join(map(str, names))})")


def read_csv(path: str | Path, *, x: str, y: str, group: str | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The curves of a CSV file with a header row: ``{group: (x, y)}``."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no CSV file at {p}")
    with p.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise InputError(f"{p}: the file is empty (a header row naming the columns is needed)")
        header = [h.strip() for h in header]
        _check_columns(header, [x, y, group], f"{p}: line 1")

        def rows():
            for fields in reader:
                if not any(f.strip() for f in fields):
                    continue  # blank line
                where = f"{p}: line {reader.line_num}"
                if len(fields) != len(header):
                    raise InputError(f"{where}: {len(fields)} fields, the header has {len(header)}")
                yield where, dict(zip(header, (f.strip() for f in fields)))

        try:
            return _curves(rows(), x=x, y=y, group=group)
        except InputError as e:
            if str(e) == "no data rows":
                raise InputError(f"{p}: no data rows below the header") from None
            raise


def from_frame(data: Any, *, x: str, y: str, group: str | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The curves of a pandas DataFrame or a mapping of equally long columns."""
    columns = list(data.columns) if hasattr(data, "columns") else list(data)
    _check_columns(columns, [x, y, group], "data")
    cols = {c: list(data[c]) for c in (x, y, group) if c is not None}
    lengths = {len(v) for v in cols.values()}
    if len(lengths) != 1:
        raise InputError(f"data: columns of different lengths {sorted(lengths)}")
    index = list(data.index) if hasattr(data, "index") else range(lengths.pop())
    rows = ((f"row {label!r}", {c: v[i] for c, v in cols.items()}) for i, label in enumerate(index))
    return _curves(rows, x=x, y=y, group=group)


def fit_table(data: Any, *, x: str = "x", y: str = "y", group: str | None = None,
              higher_is_better: bool | None = None, min_gain: float = MIN_GAIN, n_resamples: int = 200,
              gamma_min: float | None = None, seed: int = 0) -> TableFit:
    """Analyse every curve of ``data``: a CSV path, a DataFrame, or a mapping of columns.

    ``higher_is_better`` defaults to what the metric named ``y`` implies
    (:func:`analysis.fits.higher_is_better`: AUC, HR@K, NDCG@K, MRR). ``gamma_min`` is a
    known lower bound of the floor (error units), if any.
    """
    curves = read_csv(data, x=x, y=y, group=group) if isinstance(data, (str, Path)) else \
        from_frame(data, x=x, y=y, group=group)
    higher = metric_higher(y) if higher_is_better is None else higher_is_better
    fits = {}
    for name, (xs, ys) in curves.items():
        pts = make_points(name, x, y, xs, ys, np.zeros(xs.size, dtype=int))
        fits[name] = analyse_points(pts, higher=higher, floor=gamma_min, n_boot=n_resamples, seed=seed,
                                    min_gain=min_gain, x_name=x)
    return TableFit(fits=fits, x=x, y=y)


def fit_arrays(x: Any, y: Any, **options) -> TableFit:
    """:func:`fit_table` of one curve given as two arrays."""
    return fit_table({"x": list(np.ravel(x)), "y": list(np.ravel(y))}, **options)


def markdown(frame: Any, columns: Iterable[str] | None = None, *, max_rows: int | None = None) -> str:
    """A pandas DataFrame as a Markdown table (pandas' own ``to_markdown`` needs ``tabulate``).

    Floats are shown to 4 significant digits, NaN as an empty cell; ``columns`` picks and
    orders the columns, ``max_rows`` keeps the first rows.
    """
    names = list(frame.columns if columns is None else columns)
    _check_columns(frame.columns, names, "frame")
    shown = frame[names] if max_rows is None else frame[names].head(max_rows)
    lines = ["| " + " | ".join(map(str, names)) + " |", "|" + "|".join("---" for _ in names) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _cell(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if math.isnan(v) else f"{v:.4g}"
    return str(v).replace("|", "/").replace("\n", " ")
