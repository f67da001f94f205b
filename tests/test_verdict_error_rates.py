"""How often the saturation verdict is wrong, measured on points drawn from known laws.

Truths (error units e = NE-like, floor 0.7, Bayes bound 0.5 passed as gamma_min): x = 1, 2,
4, ... (5-7 points, drawn per replicate), 2 seeds per x, Gaussian noise of standard deviation
0.005, 0.01 or 0.02 per trial (the quickstart's seed spread), ``e = B x^-alpha + 0.7`` with B
set so that the true gain per doubling at the largest x is

* saturating:      0.1 x the threshold (alpha 1, 1.5 or 2),
* at threshold:    exactly the threshold (alpha 0.3, 0.7 or 1),
* not saturating: 10 x the threshold (alpha 0.1, 0.3 or 0.5),

with the default threshold (``MIN_GAIN`` = 1e-3) and 200 bootstrap resamples per ensemble.
A wrong firm verdict is "not saturated" for a saturating truth, "saturated" for a
not-saturating one, and either for a truth exactly at the threshold.

Measured (1000 replicates per truth, replicate stream seed 2024; share of replicates):

=============== ========= ============ =============
truth           saturated undetermined not saturated
=============== ========= ============ =============
saturating      0.149     0.848        0.003
at threshold    0.011     0.966        0.023
not saturating  0.000     0.249        0.751
=============== ========= ============ =============

Every wrong firm verdict is at or below 2.3% (binomial 95% upper bound 3.4% for 23/1000);
"undetermined" absorbs the rest. The power is modest at this noise: one saturating curve in
seven is called saturated. For comparison, on the same draws (200 replicates, seed 12345):
the AICc-per-resample ensemble alone called saturating truths "not saturated" in 11.5% and
threshold truths in 35.5%; the power-law + floor ensemble alone called threshold truths
"saturated" in 6%. Requiring both (:mod:`scaling.axis_analysis`) is what brings every cell
under 5%.

This test reruns the study with 150 replicates per truth (seed 7) and asserts each wrong
cell below 5% (at the measured rates the expected counts are 0.5, 1.7, 3.5 and 0 of 150;
the limit is 7), and that the verdict still has power (firm and right at least 5% for
saturating truths and 50% for not-saturating ones: measured 15% and 75%).
"""

from collections import Counter

import numpy as np
import pytest

from scaling import MIN_GAIN, analyse_axis

TRUTHS = {"saturating": (0.1, (1.0, 1.5, 2.0)), "at threshold": (1.0, (0.3, 0.7, 1.0)),
          "not saturating": (10.0, (0.1, 0.3, 0.5))}
NOISE = (0.005, 0.01, 0.02)
WRONG = {"saturating": ("not saturated",), "at threshold": ("saturated", "not saturated"),
         "not saturating": ("saturated",)}
REPLICATES = 150


def draw(truth: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    ratio, alphas = TRUTHS[truth]
    m, alpha, sigma = rng.integers(5, 8), rng.choice(alphas), rng.choice(NOISE)
    x = np.repeat(2.0 ** np.arange(m), 2)
    beta = ratio * MIN_GAIN / (x.max() ** -alpha * (1 - 2 ** -alpha))
    return x, beta * x ** -alpha + 0.7 + rng.normal(0, sigma, x.size)


def confusion(replicates: int, seed: int) -> dict[str, dict[str, float]]:
    out = {}
    for truth in TRUTHS:
        rng = np.random.default_rng(seed)
        counts = Counter()
        for _ in range(replicates):
            x, y = draw(truth, rng)
            counts[analyse_axis(x, y, gamma_min=0.5, seed=int(rng.integers(1 << 30))).verdict.verdict] += 1
        out[truth] = {v: counts[v] / replicates for v in ("saturated", "undetermined", "not saturated")}
    return out


@pytest.fixture(scope="module")
def table():
    return confusion(REPLICATES, seed=7)


def test_wrong_firm_verdicts_stay_under_5_percent(table):
    print("\n" + "\n".join(f"{t:<15} " + "  ".join(f"{v} {p:.3f}" for v, p in row.items()) for t, row in table.items()))
    for truth, row in table.items():
        for wrong in WRONG[truth]:
            assert row[wrong] < 0.05, (truth, wrong, row)
        assert sum(row.values()) == pytest.approx(1.0)


def test_the_verdict_has_power_where_the_truth_is_clear(table):
    assert table["saturating"]["saturated"] >= 0.05
    assert table["not saturating"]["not saturated"] >= 0.5
