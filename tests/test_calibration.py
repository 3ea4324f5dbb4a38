"""Calibration of the non-monotonicity rule on simulated series whose truth is known.

Each simulated analysis holds several series (runs) of checkpoints scored on the same
items, as a LAMA or probing analysis is: item i is right at checkpoint k with probability
``sigmoid(a_i + theta_k)`` (a fixed difficulty ``a_i`` per item, so that outcomes are
paired across checkpoints, and independent draws per checkpoint). With ``theta``
non-decreasing the expected score never falls: a "reproduced" is a false positive, and
the rule (Benjamini-Hochberg over every pair at 5%) should give one in at most 5% of
analyses, up to the simulation's error. With a real dip the share of "reproduced" is
the power. ``python -m tests.test_calibration`` prints the table with more analyses.
"""

import numpy as np
import pandas as pd

from embryo.results import findings as f
from embryo.results import stats

ITEMS, SERIES, STEPS = 400, 3, (0, 10, 20, 40, 80, 160)


def theta(shape: str, dip: float = 0.0):
    """Per checkpoint, the shift of every item's logit: monotone shapes, or one with a dip."""
    if shape == "flat":  # the least favourable monotone case: no change at all
        return np.zeros(len(STEPS))
    if shape == "plateau":  # rising, then flat for half the checkpoints
        return np.array([-2.0, -1.0, 0.0, 0.0, 0.0, 0.0])
    if shape == "rising":
        return np.linspace(-2.0, 1.0, len(STEPS))
    # "dip": rising, then the fourth checkpoint falls by ``dip`` logits below the third
    t = np.array([-2.0, -1.0, 0.0, 0.0, 0.5, 1.0])
    t[3] -= dip
    return t


def simulate(shape: str, analyses: int, dip: float = 0.0, seed: int = 0) -> float:
    """The share of simulated analyses the rule calls "reproduced"."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(analyses):
        frames = []
        for run in range(SERIES):
            # only the first series dips; the others are monotone
            t = theta(shape if run == 0 else ("plateau" if shape == "dip" else shape), dip)
            a = rng.normal(0.0, 1.0, ITEMS)
            p = 1 / (1 + np.exp(-(a[:, None] + t[None, :])))
            right = rng.random(p.shape) < p
            frames.append(pd.DataFrame({
                "run": f"r{run}", "step": np.repeat([STEPS], ITEMS, 0).ravel(),
                "item": np.repeat(np.arange(ITEMS), len(STEPS)),
                "rank": np.where(right.ravel(), 1, 2),
            }))  # fmt: skip
        (row,) = f.not_monotonic({}, {"lama": pd.concat(frames, ignore_index=True)})
        hits += row["verdict"] == f.REPRODUCED
    return hits / analyses


def dip_size(dip: float) -> float:
    """The dip in expected accuracy (over items of N(0, 1) difficulty) of ``dip`` logits."""
    a = np.random.default_rng(0).normal(0.0, 1.0, 200_000)
    t = theta("dip", dip)
    return float(np.mean(1 / (1 + np.exp(-(a + t[2])))) - np.mean(1 / (1 + np.exp(-(a + t[3])))))


def test_false_positives_stay_at_the_level_and_real_dips_are_found():
    n = 150
    for shape in ("flat", "plateau", "rising"):
        rate = simulate(shape, n, seed=1)
        # the level plus two binomial standard errors of the simulation
        assert rate <= stats.LEVEL + 2 * np.sqrt(stats.LEVEL * (1 - stats.LEVEL) / n), shape
    # a dip of 0.16 in accuracy among 400 items is found nearly always
    assert 0.15 < dip_size(0.8) < 0.17
    assert simulate("dip", 60, dip=0.8, seed=2) >= 0.9


if __name__ == "__main__":
    n = 1000
    print(f"{SERIES} series of {len(STEPS)} checkpoints, {ITEMS} items; {n} analyses each")
    for shape in ("flat", "plateau", "rising"):
        rate = simulate(shape, n, seed=1)
        se = np.sqrt(rate * (1 - rate) / n)
        print(f"monotone {shape:8s}: reproduced in {rate:.3f} (+-{2 * se:.3f})")
    for dip in (0.2, 0.35, 0.5, 0.65, 0.8):
        rate = simulate("dip", n // 2, dip=dip, seed=2)
        print(f"dip of {dip_size(dip):.3f} in accuracy: power {rate:.3f} ({n // 2} analyses)")
