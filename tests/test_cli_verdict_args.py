"""fit, plot and report judge an axis with the same resamples and threshold by default, so
the table and the figure of one sweep never disagree on a verdict near its threshold."""

import pytest

from recscale.cli import main, parser
from recscale.commands.fit import BOOTSTRAP, check_verdict_args
from scaling.verdict import MIN_GAIN


@pytest.mark.parametrize("command", ["fit", "plot", "report"])
def test_every_judging_command_has_the_same_defaults(command):
    args = parser().parse_args([command, "runs/x"])
    assert args.bootstrap == BOOTSTRAP == 1000 and args.min_gain is None
    check_verdict_args(args)
    assert args.min_gain == MIN_GAIN
    args = parser().parse_args([command, "runs/x", "--bootstrap", "50", "--min-gain", "0.002"])
    assert (args.bootstrap, args.min_gain) == (50, 0.002)


@pytest.mark.parametrize("command", ["fit", "plot", "report"])
@pytest.mark.parametrize("bad", [["--bootstrap", "1"], ["--min-gain", "0"], ["--min-gain", "-1"], ["--min-gain", "inf"]])
def test_bad_verdict_arguments_exit_2_before_reading_records(command, bad, tmp_path, capsys):
    assert main([command, str(tmp_path / "missing"), *bad]) == 2
    err = capsys.readouterr().err
    assert ("--bootstrap" in err or "--min-gain" in err) and "no finished trials" not in err
