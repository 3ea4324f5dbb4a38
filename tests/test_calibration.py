"""Calibration of every rule of the findings on simulated data whose truth is known.

For each rule (``embryo.results.findings.RULES``) simulated analyses are generated with a
true effect exactly at the rule's margin (the null: "reproduced" must be rare, at most
the 5% level) and at effects beyond it (its power), with items in clusters that share
something (a sentence's words), at the sizes of the demo (``config/config.yaml``), the
real-data preset (``config/real-cpu.yaml``) and the paper preset (``config/paper.yaml``):
checkpoints, test sentences and words, seeds and layers. The not-monotonic rule's
"not reproduced" is checked the other way: at a fall exactly at the margin it must be
rare too. The test asserts each rule's false-positive rate at the demo's and the
real-data preset's sizes (the paper's is slower: ``python -m tests.test_calibration``
prints the whole table, docs/results.md's). "Steps saved" is simulated with validation blocks
of different difficulty (shared by student and twin, as the blocks are) at the sizes of
the demo's KI pair, ``config/ki-studies.yaml`` and the paper preset's KI runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from embryo.results import findings as f
from embryo.results import stats

SIZES = {  # checkpoints, test sentences, words a sentence, fine-tuning seeds, layers
    "demo": {"checkpoints": 5, "sentences": 300, "words": 10, "seeds": 2, "layers": 2},
    "real-data preset": {"checkpoints": 8, "sentences": 500, "words": 12, "seeds": 3, "layers": 2},
    "paper preset": {"checkpoints": 66, "sentences": 2077, "words": 12, "seeds": 3, "layers": 12},
}
KI_SIZES = {  # checkpoints of student and twin, validation blocks
    "demo": {"checkpoints": 3, "blocks": 512},
    "KI studies preset": {"checkpoints": 9, "blocks": 128},
    "paper preset": {"checkpoints": 26, "blocks": 512},
}
HARD, HARD_FACTOR = 0.3, 0.5  # a sentence is hard with this chance: its words' p halved


def _sentences(size: dict, rng):
    """Each word's sentence, and each sentence's factor on its words' probabilities."""
    n = size["sentences"]
    sentence = np.repeat(np.arange(n), size["words"])
    factor = np.where(rng.random(n) < HARD, HARD_FACTOR, 1.0)[sentence]
    return sentence, factor


def _falling_curve(k: int, fall: float) -> np.ndarray:
    """Expected accuracy over k checkpoints: rising from 0.3 to 0.8, with a fall of
    ``fall`` from its peak at the middle checkpoint (0: monotone)."""
    curve = np.linspace(0.3, 0.8, k)
    m = k // 2
    curve[m] = curve[m - 1] - fall
    return curve


def simulate_not_monotonic(size: dict, fall: float, analyses: int, seed: int = 0) -> dict:
    """Shares of verdicts of the not-monotonic rule on probe-like series: words in
    sentences, each word right at checkpoint k with its sentence's factor times the
    curve's expected accuracy (scaled so that the expected score falls by exactly
    ``fall``), words' outcomes paired across checkpoints."""
    rng = np.random.default_rng(seed)
    k = size["checkpoints"]
    steps = list(range(k))
    counts = {}
    for _ in range(analyses):
        sentence, factor = _sentences(size, rng)
        mean_factor = factor.mean()
        curve = _falling_curve(k, fall / mean_factor)  # the expected score falls by ``fall``
        u = rng.random(len(sentence))  # a word's own difficulty, kept across checkpoints
        right = u[:, None] < factor[:, None] * curve[None, :]
        n = len(sentence)
        items = pd.DataFrame(
            {
                "run": "r",
                "task": "upos",
                "layer": 1,
                "label": "A",
                "step": np.tile(steps, n),
                "item": np.repeat(np.arange(n), k),
                "sentence": np.repeat(sentence, k),
                "predicted": np.where(right.ravel(), "A", "B"),
            }
        )
        probe = pd.DataFrame(
            {
                "run": "r",
                "task": "upos",
                "step": steps,
                "layer": 1,
                "accuracy": curve,
                "majority_baseline": 0.0,
            }
        )
        (row,) = f.not_monotonic({"probe": probe}, {"probe": items})
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    return {v: c / analyses for v, c in counts.items()}


FUNCTION, CONTENT = (
    ("ADP", "AUX", "CCONJ", "DET", "PART", "PRON", "SCONJ"),
    ("ADJ", "ADV", "NOUN", "PROPN", "VERB"),
)


def simulate_pos(size: dict, gap: float, analyses: int, seed: int = 0) -> dict:
    """Shares of verdicts of the POS-order rule: checkpoints about half a doubling apart, each
    tag's expected accuracy rising along a logistic curve that first reaches 90% of its
    final value at its learned checkpoint, function-word tags learned at one checkpoint and
    content-word tags ``gap`` doublings later; words of random tags in sentences that
    share a factor."""
    rng = np.random.default_rng(seed)
    k = max(size["checkpoints"], 10)  # a gap of 3 doublings needs 6 checkpoints after the first
    # whole steps about half a doubling apart (1 + step = 1000, 1414, 2000, 2828, ...): one
    # checkpoint is 0.4998 doublings, the largest gap the grid has at or below the margin
    steps = np.round(1000 * 2 ** (0.5 * np.arange(k))).astype(int) - 1
    first = 2
    later = first + int(round(2 * gap))
    counts = {}
    for _ in range(analyses):
        sentence, factor = _sentences(size, rng)
        tags = rng.choice(FUNCTION + CONTENT, size=len(sentence))
        final = rng.uniform(0.4, 0.9, size=len(FUNCTION + CONTENT))
        learned = np.array([first if t in FUNCTION else later for t in FUNCTION + CONTENT])
        # rising gradually: 93% of the final accuracy at the learned checkpoint, 83% one
        # before it, so that the words drawn decide near the 90% threshold
        centre = learned[:, None] - 2.59
        rise = 1 / (1 + np.exp(-(np.arange(k)[None, :] - centre)))
        curves = final[:, None] * rise / rise[:, -1:]
        index = {t: i for i, t in enumerate(FUNCTION + CONTENT)}
        p = factor[:, None] * curves[[index[t] for t in tags]]
        right = rng.random(len(sentence))[:, None] < p
        n = len(sentence)
        items = pd.DataFrame(
            {
                "run": "r",
                "step": np.tile(steps, n),
                "item": np.repeat(np.arange(n), k),
                "sentence": np.repeat(sentence, k),
                "upos": np.repeat(tags, k),
                "mask_prediction": right.ravel(),
                "reconstruction": right.ravel(),
            }
        )
        row = f.pos_order(pd.DataFrame({"run": ["r"]}), items)[0]
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    return {v: c / analyses for v, c in counts.items()}


def simulate_more_data(
    size: dict, increase: float, analyses: int, seed: int = 0, sd: float = 0.02
) -> dict:
    """Shares of verdicts of the more-data rule on a progressive grid of ``layers``: one
    layer's benefit grows by ``increase`` from the small to the large training set (from
    0: negligible), the others' stay at 0.05; seeds' scores with noise ``sd``."""
    rng = np.random.default_rng(seed)
    layers, seeds = size["layers"], range(size["seeds"])
    counts = {}
    for _ in range(analyses):
        rows = []
        for n, big in (("500", False), ("full", True)):
            benefit = [increase if big else 0.0] + [0.05] * (layers - 1)
            for s in seeds:
                for kept in range(layers + 1):  # progressive-k{kept}: layers 0..kept-1 kept
                    scheme = "none" if kept == layers else f"progressive-k{kept}"
                    score = 0.8 - sum(benefit[kept:]) + rng.normal(0, sd)
                    rows.append(
                        {
                            "run": "r",
                            "step": 1,
                            "task": "t",
                            "metric": "accuracy",
                            "n": n,
                            "reinit": scheme,
                            "seed": s,
                            "layers": layers,
                            "score": score,
                        }
                    )
        row = f.more_data_more_help(pd.DataFrame(rows))[0]
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    return {v: c / analyses for v, c in counts.items()}


def simulate_steps_saved(
    size: dict,
    saving: float,
    analyses: int,
    seed: int = 0,
    difficulty: float = 0.3,
    noise: float = 0.05,
) -> dict:
    """Shares of verdicts of the steps-saved rule: the twin's mean loss falls linearly from
    5 to 2 over its T steps, the student's reaches 2 at T (1 - ``saving``) (linear, so
    interpolating between checkpoints is exact and the true saving is ``saving``); each
    validation block has a difficulty (sd ``difficulty``) shared by every checkpoint of
    both runs, and noise of its own at each (sd ``noise``); 100 masked tokens a block."""
    rng = np.random.default_rng(seed)
    k, n, last = size["checkpoints"], size["blocks"], 1000
    steps = np.linspace(0, last, k).round().astype(int)
    counts = {}
    for _ in range(analyses):
        hard = rng.normal(0, difficulty, n)
        frames, curves = [], {}
        for run, reach in (("s", last * (1 - saving)), ("w", last)):
            mean = 5 - 3 * steps / reach
            loss = mean[:, None] + hard[None] + rng.normal(0, noise, (k, n))
            frames.append(
                pd.DataFrame(
                    {
                        "run": run,
                        "step": np.repeat(steps, n),
                        "block": np.tile(np.arange(n), k),
                        "loss": 100 * loss.ravel(),
                        "tokens": 100,
                    }
                )
            )
            curves[run] = np.exp(loss.mean(1))
        validation = pd.DataFrame(
            [
                {"run": r, "step": t, "val_perplexity": v}
                for r, c in curves.items()
                for t, v in zip(steps, c, strict=True)
            ]
        )
        from embryo.inheritance.comparison import comparison

        inheritance = comparison([{"student": "s", "teacher": "t", "twin": "w"}], validation)
        (row,) = f.steps_saved(inheritance, validation, pd.concat(frames))
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    return {v: c / analyses for v, c in counts.items()}


def _tolerance(n: int) -> float:
    """The level plus two binomial standard errors of a simulated rate."""
    return stats.LEVEL + 2 * np.sqrt(stats.LEVEL * (1 - stats.LEVEL) / n)


@pytest.fixture
def fewer_resamples(monkeypatch):
    """999 resamples instead of 4,999: the rates, not their last digit, are the question."""
    monkeypatch.setattr(stats, "RESAMPLES", 999)


@pytest.mark.parametrize("size", ["demo", "real-data preset"])
def test_not_monotonic_is_calibrated_at_its_margin(size, fewer_resamples):
    n = 60
    at_margin = simulate_not_monotonic(SIZES[size], f.MARGINS["probing"], n, seed=1)
    assert at_margin.get(f.REPRODUCED, 0) <= _tolerance(n), at_margin
    assert at_margin.get(f.NOT_REPRODUCED, 0) <= _tolerance(n), at_margin
    assert simulate_not_monotonic(SIZES[size], 0.15, 20, seed=2).get(f.REPRODUCED, 0) >= 0.9


@pytest.mark.parametrize("size", ["demo", "real-data preset"])
def test_pos_order_is_calibrated_at_its_margin(size, fewer_resamples):
    n = 40
    at_margin = simulate_pos(SIZES[size], f.MARGINS["pos_order"], n, seed=3)
    assert at_margin.get(f.REPRODUCED, 0) <= _tolerance(n), at_margin
    assert simulate_pos(SIZES[size], 3.0, 10, seed=4).get(f.REPRODUCED, 0) >= 0.9


@pytest.mark.parametrize("size", ["demo", "real-data preset", "paper preset"])
def test_more_data_is_calibrated_at_its_margin(size):
    n = 200
    at_margin = simulate_more_data(SIZES[size], f.MARGINS["transfer"], n, seed=5)
    assert at_margin.get(f.REPRODUCED, 0) <= _tolerance(n), at_margin


@pytest.mark.parametrize("size", ["demo", "KI studies preset"])
def test_steps_saved_is_calibrated_at_its_margin(size, fewer_resamples):
    n = 60
    at_margin = simulate_steps_saved(KI_SIZES[size], f.MARGINS["steps_saved"], n, seed=6)
    assert at_margin.get(f.REPRODUCED, 0) <= _tolerance(n), at_margin
    assert simulate_steps_saved(KI_SIZES[size], 0.3, 10, seed=7).get(f.REPRODUCED, 0) >= 0.9


def cells():
    """Every rule x effect x size: (rule, size, truth, simulate)."""
    m = f.MARGINS
    for name, size in SIZES.items():
        for label, effect in (
            ("at the margin (null)", m["probing"]),
            ("monotone", 0.0),
            ("margin + 0.02", m["probing"] + 0.02),
            ("margin + 0.05", m["probing"] + 0.05),
            ("margin + 0.10", m["probing"] + 0.10),
        ):
            yield (
                "not monotonic (probe accuracy)",
                name,
                label,
                lambda n, s=size, e=effect: simulate_not_monotonic(s, e, n, seed=11),
            )
        for label, gap in (
            ("at the margin (null)", m["pos_order"]),
            ("1 doubling", 1.0),
            ("2 doublings", 2.0),
            ("3 doublings", 3.0),
        ):
            yield (
                "POS order",
                name,
                label,
                lambda n, s=size, g=gap: simulate_pos(s, g, n, seed=12),
            )
        for label, inc in (
            ("at the margin (null)", m["transfer"]),
            ("margin + 0.02", m["transfer"] + 0.02),
            ("margin + 0.05", m["transfer"] + 0.05),
            ("margin + 0.10", m["transfer"] + 0.10),
        ):
            yield (
                "more data, more help",
                name,
                label,
                lambda n, s=size, i=inc: simulate_more_data(s, i, n, seed=13),
            )
    for name, size in KI_SIZES.items():
        for label, saving in (
            ("at the margin (null)", m["steps_saved"]),
            ("no saving", 0.0),
            ("margin + 0.05", m["steps_saved"] + 0.05),
            ("margin + 0.15", m["steps_saved"] + 0.15),
        ):
            yield (
                "steps saved",
                name,
                label,
                lambda n, s=size, v=saving: simulate_steps_saved(s, v, n, seed=14),
            )


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    stats.RESAMPLES = 999
    verdicts = [f.REPRODUCED, f.NOT_REPRODUCED, f.INCONCLUSIVE, f.UNTESTABLE]
    print(f"{n} simulated analyses per cell, {stats.RESAMPLES} resamples each")
    print("| rule | size | truth | " + " | ".join(verdicts) + " |")
    print("|---" * (3 + len(verdicts)) + "|")
    for rule, size, truth, simulate in cells():
        shares = simulate(n)
        print(
            f"| {rule} | {size} | {truth} | "
            + " | ".join(f"{shares.get(v, 0.0):.3f}" for v in verdicts)
            + " |",
            flush=True,
        )
