"""Time the scaling fits: a 10-point power law with 1000 bootstrap resamples, and a joint law.

Run: python benchmarks/bench_fit.py
"""

from __future__ import annotations

import time

import numpy as np

from scaling import bootstrap, bootstrap_joint, fit_joint_law, fit_power_law


def _timed(label: str, func):
    start = time.perf_counter()
    result = func()
    print(f"{label}: {time.perf_counter() - start:.2f} s")
    return result


def main() -> None:
    rng = np.random.default_rng(0)
    x = np.geomspace(1e4, 1e8, 10)
    y = (5.0 * x ** -0.3 + 0.8) * np.exp(rng.normal(0, 0.003, x.size))
    fit = _timed("power law fit, 10 points", lambda: fit_power_law(x, y))
    boot = _timed("bootstrap, 1000 resamples", lambda: bootstrap(fit, x, y, n_resamples=1000))
    lo, hi = boot.interval("alpha")
    print(f"  alpha = {fit.alpha:.4f} [{lo:.4f}, {hi:.4f}], failed refits: {boot.n_failed}")

    n, d = (v.ravel() for v in np.meshgrid(np.geomspace(1e6, 1e9, 7), np.geomspace(1e8, 1e11, 7)))
    loss = (1.82 + 482.0 * n ** -0.348 + 2085.0 * d ** -0.366) * np.exp(rng.normal(0, 0.003, n.size))
    joint = _timed("joint law fit, 49 points (4500-point grid)", lambda: fit_joint_law(n, d, loss))
    jboot = _timed("joint bootstrap, 200 resamples", lambda: bootstrap_joint(joint, n, d, loss, n_resamples=200))
    lo, hi = jboot.interval("a")
    print(f"  a = {joint.a:.4f} [{lo:.4f}, {hi:.4f}], failed refits: {jboot.n_failed}")


if __name__ == "__main__":
    main()
