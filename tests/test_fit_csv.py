"""``recscale fit --csv`` and its Python twin on hand-written tables: the same analysis as a
sweep's, and a clear error (line and column, exit 2) for malformed input."""

import json

import numpy as np
import pytest

from analysis import tabular
from recscale.cli import main
from scaling import MIN_GAIN

# Two architectures, six sizes, two seeds: ne = 0.3 * (params / 1e4)^-0.8 + 0.70 (dlrm) and
# 0.2 * (params / 1e4)^-0.1 + 0.55 (hstu), with a fixed +-0.001 seed offset.
PARAMS = [10_000, 20_000, 40_000, 80_000, 160_000, 320_000]


def _rows():
    rows = []
    for arch, (beta, alpha, gamma) in {"dlrm": (0.3, 0.8, 0.70), "hstu": (0.2, 0.1, 0.55)}.items():
        for p in PARAMS:
            for seed, offset in ((0, 0.001), (1, -0.001)):
                rows.append((arch, p, seed, beta * (p / 1e4) ** -alpha + gamma + offset))
    return rows


CSV = "arch,params,seed,ne\n" + "".join(f"{a},{p},{s},{y:.6f}\n" for a, p, s, y in _rows())


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text(CSV)
    return path


def test_csv_fit_prints_the_table_with_its_x_and_verdicts(csv_file, capsys):
    assert main(["fit", "--csv", str(csv_file), "--x", "params", "--y", "ne", "--group", "arch",
                 "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith(("dlrm ", "hstu "))}
    assert set(lines) == {"dlrm", "hstu"}
    for line in lines.values():
        assert " 12 params " in line and "P(gain < min) = " in line
    # dlrm: gain per doubling at 320k is 0.3 * 32^-0.8 * (1 - 2^-0.8) = 0.0033 -> not saturated (noise 0.001)
    assert "not saturated" in lines["dlrm"] and "power law + floor: " in lines["dlrm"]
    assert "min gain 0.001" in out


def test_csv_json_and_the_python_api_agree(csv_file, capsys):
    import pandas

    assert main(["fit", "--csv", str(csv_file), "--x", "params", "--y", "ne", "--group", "arch",
                 "--bootstrap", "100", "--json"]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text and "Infinity" not in text  # strict JSON
    res = json.loads(text)
    dlrm = next(c for c in res["curves"] if c["axis"] == "dlrm")
    assert dlrm["law"] == "power_law" and dlrm["x"] == "params"
    assert dlrm["laws"]["power_law"]["params"]["alpha"] == pytest.approx(0.8, abs=0.1)
    assert dlrm["verdict"]["verdict"] == "not saturated"
    frame = pandas.DataFrame(_rows(), columns=["arch", "params", "seed", "ne"])
    py = tabular.fit_table(frame, x="params", y="ne", group="arch", n_resamples=100)
    assert py.fits["dlrm"].analysis.verdict.p_below == dlrm["verdict"]["p_below"]
    # the CSV holds the values to 6 decimals, the frame exactly: the fits agree to that precision
    assert py.fits["dlrm"].fit.params["alpha"] == pytest.approx(dlrm["laws"]["power_law"]["params"]["alpha"], abs=1e-3)
    mine = [r for r in _rows() if r[0] == "hstu"]
    arrays = tabular.fit_arrays([r[1] for r in mine], [r[3] for r in mine], n_resamples=100)
    assert arrays.fits[tabular.ONE_CURVE].analysis.chosen == py.fits["hstu"].analysis.chosen
    assert arrays.figure().axes[0].get_xlabel() == "x"


@pytest.mark.parametrize("text, args, message", [
    ("arch,size,ne\ndlrm,1,0.8\n", ["--x", "params", "--y", "ne"], "line 1: no column 'params'"),
    ("params,ne\n1,0.8\n2,0.7\nabc,0.6\n", ["--x", "params", "--y", "ne"], "line 4, column 'params': 'abc' is not a number"),
    ("params,ne\n1,0.8\n0,0.7\n", ["--x", "params", "--y", "ne"], "line 3, column 'params': x must be positive"),
    ("params,ne\n1,0.8\n-2,0.7\n", ["--x", "params", "--y", "ne"], "line 3, column 'params': x must be positive"),
    ("params,ne\n1,0.8\n2,\n", ["--x", "params", "--y", "ne"], "line 3, column 'ne': '' is not a number"),
    ("params,ne\n1,0.8\n2,nan\n", ["--x", "params", "--y", "ne"], "line 3, column 'ne': 'nan' is not a finite number"),
    ("params,ne\n1,0.8\n2,0.7,9\n", ["--x", "params", "--y", "ne"], "line 3: 3 fields, the header has 2"),
    ("params,ne\n", ["--x", "params", "--y", "ne"], "no data rows"),
    ("", ["--x", "params", "--y", "ne"], "the file is empty"),
    ("params,ne\n1,0.8\n", ["--x", "params"], "--csv needs --x COL and --y COL"),
    ("params,ne\n1,0.8\n", ["--x", "params", "--y", "ne", "--min-gain", "0"], "--min-gain must be a positive"),
])
def test_malformed_csv_exits_2_naming_line_and_column(tmp_path, capsys, text, args, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    assert main(["fit", "--csv", str(path), *args]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_and_mixed_sources_exit_2(tmp_path, csv_file, capsys):
    assert main(["fit", "--csv", str(tmp_path / "nope.csv"), "--x", "a", "--y", "b"]) == 2
    assert "no CSV file at" in capsys.readouterr().err
    assert main(["fit", str(tmp_path), "--csv", str(csv_file), "--x", "params", "--y", "ne"]) == 2
    assert main(["fit"]) == 2
    assert main(["fit", str(tmp_path), "--x", "params_per_row"]) == 2
    assert "--x for sweeps must be one of" in capsys.readouterr().err


def test_data_frame_errors_name_the_row_and_column():
    with pytest.raises(tabular.InputError, match=r"row 1, column 'x': x must be positive"):
        tabular.fit_table({"x": [1.0, 0.0, 3.0], "y": [3.0, 2.0, 1.0]})
    with pytest.raises(tabular.InputError, match=r"data: no column 'y'"):
        tabular.fit_table({"x": [1.0]})


def test_too_few_rows_is_reported_in_the_table_not_fitted():
    result = tabular.fit_arrays([1, 2, 4], [3.0, 2.0, 1.5])
    assert "not fitted: too few points" in result.text()
    four = tabular.fit_arrays([1, 2, 4, 8], [3.0, 2.0, 1.5, 1.2], n_resamples=20).text()
    assert "not identified" in four and "undetermined (no law identified)" in four


def test_the_help_states_the_default_threshold(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    assert f"{MIN_GAIN:g} per doubling" in capsys.readouterr().out.replace("\n", " ").replace("  ", " ")


def test_higher_is_better_fits_the_error_of_a_rising_metric(tmp_path, capsys):
    x = np.repeat(np.geomspace(1e3, 1e6, 6), 2)
    auc = 1 - (0.3 * (x / 1e3) ** -0.5 + 0.2) + np.tile([0.0005, -0.0005], 6)
    path = tmp_path / "auc.csv"
    path.write_text("n,score\n" + "".join(f"{a},{b}\n" for a, b in zip(x, auc)))
    assert main(["fit", "--csv", str(path), "--x", "n", "--y", "score", "--higher-is-better", "--json",
                 "--bootstrap", "100"]) == 0
    curve = json.loads(capsys.readouterr().out)["curves"][0]
    assert curve["laws"]["power_law"]["params"]["gamma"] == pytest.approx(0.2, abs=0.01)  # 1 - ceiling
    assert curve["measured"]["per_doubling"] > 0  # a rising metric gains
