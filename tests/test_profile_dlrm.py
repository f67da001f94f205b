"""The DLRM step profile's --quick mode runs end to end and writes a consistent JSON."""

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = {"fwd_matmuls", "bwd_matmuls", "gathers", "scatter_add", "interaction", "elementwise"}


def test_profile_dlrm_quick(tmp_path):
    out = tmp_path / "profile.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "profile_dlrm.py"), "--quick", "--out", str(out)],
        cwd=ROOT / "benchmarks",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert res["quick"] and res["batch"] == 64
    assert set(res["ms"]) == PARTS | {"step", "interaction_autodiff", "step_autodiff"}
    assert all(math.isfinite(v) and v > 0 for v in res["ms"].values())
    assert set(res["share_of_parts"]) == PARTS
    assert math.isclose(sum(res["share_of_parts"].values()), 1.0, rel_tol=1e-9)
    assert math.isclose(res["parts_sum_ms"], sum(res["ms"][k] for k in PARTS), rel_tol=1e-9)
    assert math.isclose(res["step_overhead_ms"], res["ms"]["step"] - res["parts_sum_ms"], rel_tol=1e-6, abs_tol=1e-9)
    # the matmuls are part of the step's FLOPs, so the bound's FLOPs exceed the matmuls' own
    assert 0 < res["matmul_flops_per_step"] < res["train_flops_per_step"]
    for k in ("step_mfu", "matmul_only_mfu_bound", "matmul_rate_of_peak", "step_autodiff_mfu", "step_speedup_vs_autodiff", "interaction_speedup_vs_autodiff"):
        assert math.isfinite(res[k]) and res[k] > 0
    # same time base: the bound over the matmuls' own rate is the FLOP ratio
    assert math.isclose(res["matmul_only_mfu_bound"] / res["matmul_rate_of_peak"], res["train_flops_per_step"] / res["matmul_flops_per_step"], rel_tol=1e-9)
