"""`recscale report` on synthetic sweep directories: sections, tables, figures, failures, bad input."""

import dataclasses
import re

import pytest
from test_analysis_study import study_records, two_archs

from analysis import synthetic
from recscale.cli import main
from sweeps import store


def _sweep(d, records):
    for r in records:
        store.write(d, r)
    return d


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    study = study_records(sweep="study")
    study.append(synthetic.record(sweep="study", arch="dlrm", seed=0, axes={"mlp": 512}, params=512_000, examples=2**19,
                                  metrics={}, status="diverged", message="loss became nan at step 17"))
    cmp = [r for r in two_archs() if r.arch == "hstu_rank"]
    cmp.append(synthetic.record(sweep="cmp", arch="hstu_rank", seed=0, axes={"horizontal": 256}, params=1, examples=1,
                                metrics={}, status="failed", message="Traceback\nRuntimeError: out of memory"))
    a, b = _sweep(root / "study", study), _sweep(root / "cmp", [dataclasses.replace(r, sweep="cmp") for r in cmp])
    out = root / "out"
    assert main(["report", str(a), str(b), "--out", str(out), "--bootstrap", "20"]) == 0
    return out, (out / "report.md").read_text()


def test_report_has_every_section(report):
    _, text = report
    for heading in ("# recscale report: study, cmp", "## Trials", "## Seed table: dlrm", "### Per-axis laws and saturation verdicts",
                    "### Which law, by evidence", "### Best approach", "## Per-axis fits", "## Compute", "### IsoFLOP: dlrm:mlp",
                    "## Architecture comparison", "## Learning curves", "## Failed or diverged trials"):
        assert heading in text, heading
    # ours comes before the published: row, x, law, alpha
    ours_data = re.search(r"^\| data \| training examples \| power law \+ floor \| ([0-9.]+) \|", text, re.M)
    assert float(ours_data.group(1)) == pytest.approx(0.25, abs=0.02)
    assert "| parameter |" in text and "V ~ H ~ O ~ M" in text  # the published row beside ours
    assert "- parameter: saturation agrees (ours saturated [1.00], published yes)" in text
    assert "min gain 0.001" in text and "P(gain < min)" in text
    assert "laws cross at" in text


def test_report_names_sweeps_relative_to_itself_never_by_absolute_path(report, tmp_path):
    out, text = report
    assert "Sweeps: `../study`, `../cmp`." in text
    assert str(out.parent) not in text and "/tmp/" not in text
    from analysis.report import relative_to

    assert relative_to(tmp_path / "runs" / "a", tmp_path / "docs" / "reports" / "a") == "../../../runs/a"
    assert relative_to(tmp_path / "r" / "a", tmp_path / "r") == "a"
    # in a repository, a sweep inside it is named relatively and one outside it by its name
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    docs = tmp_path / "repo" / "docs" / "reports" / "a"
    assert relative_to(tmp_path / "repo" / "runs" / "a", docs) == "../../../runs/a"
    assert relative_to(tmp_path / "studies" / "a", docs) == "a"


def test_committed_reports_hold_no_absolute_machine_paths():
    from pathlib import Path

    reports = sorted((Path(__file__).resolve().parents[1] / "docs" / "reports").glob("*/report.md"))
    assert reports
    for path in reports:
        text = path.read_text()
        assert not re.search(r"`/(work|tmp|home|Users|root)/", text), path
        assert re.search(r"^Sweeps: `[^/`]+`", text, re.MULTILINE), path


def test_report_lists_failed_and_diverged_trials(report):
    _, text = report
    failures = text.split("## Failed or diverged trials")[1]
    assert "diverged" in failures and "loss became nan at step 17" in failures
    assert "failed" in failures and "RuntimeError: out of memory" in failures
    assert re.search(r"\| dlrm \| \d+ \| 1 \| 0 \|", text) and re.search(r"\| hstu_rank \| 8 \| 0 \| 1 \|", text)


def test_report_figures_exist_beside_it(report):
    out, text = report
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert {"dlrm_parameter_scaling.png", "dlrm_data_scaling.png", "dlrm_compute_scaling.png", "frontier.png",
            "architectures.png", "learning_curves.png", "isoflop_dlrm_mlp.png"} <= set(linked)
    for name in linked:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_bad_input_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no sweep at" in capsys.readouterr().err
    only_failed = _sweep(tmp_path / "failed", [synthetic.record(sweep="f", arch="dlrm", seed=0, axes={"mlp": 1}, params=1,
                                                                 examples=1, metrics={}, status="failed")])
    assert main(["report", str(only_failed)]) == 2
    assert "no finished trials" in capsys.readouterr().err
    ok = _sweep(tmp_path / "ok", synthetic.axis_records("mlp", [1, 2, 4, 8], alpha=0.3, beta=1.0, gamma=0.6))
    assert main(["report", str(ok), "--metric", "auc"]) == 2
    assert "metric 'auc'" in capsys.readouterr().err
    assert main(["report", str(ok), "--bootstrap", "1"]) == 2
