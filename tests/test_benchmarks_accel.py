"""The accelerator benchmark's --quick mode runs end to end and writes its JSON."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_accel_quick_writes_every_section(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_accel.py"), "--quick", "--out", str(out)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "backend cpu" in proc.stdout
    res = json.loads(out.read_text())
    assert res["quick"] and res["backend"] == "cpu" and res["devices"]
    assert res["matmul_peak_flops"]["float32"] > 0 and res["matmul_peak_flops"]["bfloat16"] > 0
    assert {(r["precision"], r["updates"]) for r in res["dlrm"]} == {
        (p, u) for p in ("float32", "bfloat16") for u in ("dense", "row-wise sparse")}
    assert {(r["model"], r["preset"]) for r in res["seq"]} == {("hstu", "ml-1m"), ("sasrec", "ml-1m")}
    for r in res["dlrm"] + res["seq"]:
        assert 0 < r["mfu"] < 1 and r["step_s"] > 0
    assert [r["lanes"] for r in res["packed"]] == [1, 4] and res["packed"][0]["speedup"] == 1.0
    assert all(r["trials_per_hour"] > 0 for r in res["packed"])
    assert res["sharded"] is None  # one CPU device
