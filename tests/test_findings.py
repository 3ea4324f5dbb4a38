"""The findings' rules and their statistics on data small enough to work out by hand."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from embryo.results import findings as f
from embryo.results import stats

# ---- the statistics, by hand


def test_mcnemar_drop_pvalues_by_hand():
    # 10 items; from checkpoint 0 to 1: 5 right -> wrong, none wrong -> right: p = 2^-5
    x = np.array([[1, 0, 1]] * 5 + [[0, 0, 0]] * 3 + [[1, 1, 1]] * 2)
    drop, p = stats.drop_pvalues(x)
    assert drop[0, 1] == pytest.approx(0.5) and p[0, 1] == pytest.approx(2**-5)
    # 1 -> 2: 5 wrong -> right: a rise; P(Binomial(5, 1/2) >= 0) = 1
    assert drop[1, 2] == pytest.approx(-0.5) and p[1, 2] == pytest.approx(1.0)
    assert p[0, 2] == 1.0  # no discordant item
    assert np.isnan(p[1, 0]) and np.isnan(drop[2, 2])  # only i < j
    # b = 3, c = 1: P(Binomial(4, 1/2) >= 3) = 5/16
    y = np.array([[1, 0]] * 3 + [[0, 1]])
    assert stats.drop_pvalues(y)[1][0, 1] == pytest.approx(5 / 16)


def test_benjamini_hochberg_by_hand():
    # sorted 0.01, 0.03, 0.04, 0.5: p * m / rank = 0.04, 0.06, 0.0533, 0.5, then the
    # running minimum from the top: 0.04, 0.0533, 0.0533, 0.5
    adjusted, rejected = stats.bh_reject([0.01, 0.04, 0.03, 0.5])
    assert adjusted == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    assert rejected.tolist() == [True, False, False, False]
    assert stats.bh_reject([])[1].tolist() == []


def test_seed_and_size_tests_by_hand():
    # differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, t = 0.2 / (0.1 / sqrt 3)
    fall, p, low, high = stats.seed_drop([0.5, 0.6, 0.7], [0.4, 0.4, 0.4])
    t = 0.2 / (0.1 / math.sqrt(3))
    assert fall == pytest.approx(0.2) and p == pytest.approx(sps.t.sf(t, 2))
    half = sps.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)
    assert (low, high) == pytest.approx((0.2 - half, 0.2 + half))
    assert math.isnan(stats.seed_drop([0.5], [0.4])[1])  # one seed: no test
    mean, low, high = stats.mean_interval([0.1, 0.2, 0.3])
    assert (mean, low, high) == pytest.approx((0.2, 0.2 - half, 0.2 + half))
    assert stats.mean_interval([0.0, 0.0]) == (0.0, 0.0, 0.0)
    # Welch: equal variances and sizes, so the t of the pooled test: 0.3 / sqrt(2 * 0.01 / 3)
    diff, p, low, high = stats.larger([0.4, 0.5, 0.6], [0.1, 0.2, 0.3])
    assert diff == pytest.approx(0.3)
    assert p == pytest.approx(sps.t.sf(0.3 / math.sqrt(2 * 0.01 / 3), 4))
    assert math.isnan(stats.larger([0.4, 0.4], [0.1, 0.1])[1])  # no spread: no test


def test_paired_interval_and_permutation_test():
    rng = np.random.default_rng(1)
    before = (rng.random(400) < 0.7).astype(float)
    after = np.where(rng.random(400) < 0.8, before, 1 - before)
    low, high = stats.paired_interval(before, after, labels=("t",))
    assert low < before.mean() - after.mean() < high
    assert stats.paired_interval(before, after, labels=("t",)) == (low, high)  # seeded
    # a metric test: perfect predictions against noise
    gold = (rng.random(200) < 0.5).astype(float)
    noise = (rng.random(200) < 0.5).astype(float)
    assert stats.metric_drop_pvalue(gold, noise, gold, "matthews") < 0.01
    assert stats.metric_drop_pvalue(noise, gold, gold, "matthews") > 0.9


# ---- POS learning order


def word_items(curves: dict, steps=(0, 10, 100), words=200, seed=0, mode="mask_prediction"):
    """Per-word outcomes: each tag's words right with the tag's accuracy at each step."""
    rng = np.random.default_rng(seed)
    rows, item = [], 0
    for tag, accuracies in curves.items():
        u = rng.random(words)  # a word right at a step when u < accuracy: curves are nested
        for w in range(words):
            for step, a in zip(steps, accuracies, strict=True):
                rows.append({"run": "r", "step": step, "item": item, "upos": tag,
                             mode: bool(u[w] < a), "other": True})  # fmt: skip
            item += 1
    items = pd.DataFrame(rows)
    other = "reconstruction" if mode == "mask_prediction" else "mask_prediction"
    return items.rename(columns={"other": other})


def pos(items):
    rows = f.pos_order(pd.DataFrame({"run": ["r"]}), items)
    return {r["finding"].rsplit("in ", 1)[1]: r for r in rows}["mask prediction"]


def test_pos_order_compares_the_groups_with_bootstrap_intervals():
    early, late = [0.0, 0.97, 1.0], [0.0, 0.5, 1.0]
    row = pos(word_items({"DET": early, "ADP": early, "NOUN": late, "VERB": late}))
    assert row["verdict"] == f.REPRODUCED and row["estimate"] == 90
    assert 0 < row["ci_low"] <= row["ci_high"] and "medians 10 vs 100" in row["measured"]
    assert "DET 10 [10, 10]" in row["measured"]
    row = pos(word_items({"DET": late, "ADP": late, "NOUN": early, "VERB": early}))
    assert row["verdict"] == f.NOT_REPRODUCED and row["ci_high"] < 0
    # 0.88 against 0.9 of the final: 20 words cannot tell step 10 from step 100
    close = [0.0, 0.88, 1.0]
    row = pos(word_items({"DET": early, "ADP": early, "NOUN": close, "VERB": close}, words=20))
    assert row["verdict"] == f.INCONCLUSIVE and row["ci_low"] <= 0 <= row["ci_high"]
    row = pos(word_items({"DET": early, "NOUN": late, "VERB": late}))
    assert row["verdict"] == f.INCONCLUSIVE  # one function-word tag
    rare = word_items({"DET": early, "ADP": early, "NOUN": late, "VERB": late}, words=5)
    assert pos(rare)["verdict"] == f.INCONCLUSIVE  # too few words to time


def test_replicates_of_a_series_give_one_row():
    early, late = [0.0, 0.97, 1.0], [0.0, 0.5, 1.0]
    curves = {"DET": early, "ADP": early, "NOUN": late, "VERB": late}
    items = pd.concat([word_items(curves, seed=k).assign(run=run)
                       for k, run in enumerate(("r", "r@s1"))])  # fmt: skip
    table = pd.DataFrame({"run": ["r", "r@s1"], "series": ["r", "r"]})
    rows = [r for r in f.pos_order(table, items) if r["finding"].endswith("mask prediction")]
    (row,) = rows
    assert row["scope"] == "series r (2 replicates)" and row["verdict"] == f.REPRODUCED
    assert row["estimate"] == 90 and "r@s1: 90" in row["measured"]


# ---- non-monotonic scores


def lama_items(accuracies, facts, steps=(0, 10, 100), seed=0):
    """Facts right (rank 1) or not at each step; each fact keeps a fixed difficulty."""
    rng = np.random.default_rng(seed)
    u = rng.random(facts)
    rows = [
        {"run": "r", "step": s, "item": k, "rank": 1 if u[k] < a else 2}
        for s, a in zip(steps, accuracies, strict=True)
        for k in range(facts)
    ]
    return pd.DataFrame(rows)


def test_not_monotonic_tests_every_pair_with_the_false_discovery_rate():
    (row,) = f.not_monotonic({}, {"lama": lama_items([0.1, 0.5, 0.3], 1000)})
    assert row["verdict"] == f.REPRODUCED and "from step 10 to step 100" in row["measured"]
    assert row["estimate"] == pytest.approx(0.2, abs=0.03) and row["ci_low"] > 0.1
    # a small fall over 150 facts: not significant, and not excluded either
    (row,) = f.not_monotonic({}, {"lama": lama_items([0.1, 0.5, 0.47], 150)})
    assert row["verdict"] == f.INCONCLUSIVE and row["ci_low"] < 0.03 < row["ci_high"]
    # 20 facts are too few to test at all
    (row,) = f.not_monotonic({}, {"lama": lama_items([0.1, 0.5, 0.3], 20)})
    assert row["verdict"] == f.INCONCLUSIVE and "r: 20 items, not tested" in row["measured"]
    # a monotone series beside one that cannot be told: not reproduced needs every series
    mixed = pd.concat([lama_items([0.1, 0.3, 0.5], 1000),
                       lama_items([0.1, 0.5, 0.47], 150).assign(run="q")])  # fmt: skip
    (row,) = f.not_monotonic({}, {"lama": mixed})
    assert row["verdict"] == f.INCONCLUSIVE and "least certain series: q" in row["measured"]
    # rising: the largest "fall" is the smallest rise, its interval below the margin
    (row,) = f.not_monotonic({}, {"lama": lama_items([0.1, 0.3, 0.5], 1000)})
    assert row["verdict"] == f.NOT_REPRODUCED and row["ci_high"] < f.MARGIN
    two = lama_items([0.5, 0.1], 1000, steps=(0, 10))
    assert f.not_monotonic({}, {"lama": two})[0]["verdict"] == f.INCONCLUSIVE


def test_replicates_are_pooled_and_tested_against_their_spread():
    def series(falls):
        frames = [lama_items([0.1, 0.5, 0.5 - fall], 1000, seed=k).assign(run=f"r@s{k}")
                  for k, fall in enumerate(falls)]  # fmt: skip
        runs = [f"r@s{k}" for k in range(len(falls))]
        tables = {"lama": pd.DataFrame({"run": runs, "series": "r"})}
        (row,) = f.not_monotonic(tables, {"lama": pd.concat(frames)})
        return row

    row = series([0.2, 0.21, 0.19])  # each replicate falls alike
    assert row["verdict"] == f.REPRODUCED and "r (over 3 replicates)" in row["measured"]
    # one replicate falls, the other rises: each alone is significant, together not
    row = series([0.2, -0.2])
    assert row["verdict"] == f.INCONCLUSIVE and "(over 2 replicates)" in row["measured"]


def test_downstream_series_over_seeds_or_items():
    steps, seeds = [0, 10, 100], [0, 1, 2]
    scores = {0: [0.5, 0.51, 0.49], 10: [0.8, 0.82, 0.81], 100: [0.70, 0.71, 0.70]}
    downstream = pd.DataFrame([
        {"run": "r", "task": "sst2", "metric": "accuracy", "step": s, "seed": k,
         "score": scores[s][k]}
        for s in steps for k in seeds
    ])  # fmt: skip
    (row,) = f.not_monotonic({"downstream": downstream}, {"downstream": pd.DataFrame()})
    assert row["verdict"] == f.REPRODUCED  # 0.81 -> 0.70 over three seeds
    assert "over seeds" not in row["measured"] and row["estimate"] == pytest.approx(0.1067, 1e-3)
    # one seed: the dev predictions item by item; a significant fall is still inconclusive
    rng = np.random.default_rng(0)
    gold = (rng.random(500) < 0.5).astype(int)
    u = rng.random(500)
    predictions = {
        s: np.where(u < a, gold, 1 - gold) for s, a in zip(steps, (0.5, 0.9, 0.6), strict=True)
    }
    items = pd.DataFrame([
        {"run": "r", "task": "sst2", "seed": 0, "step": s, "item": k, "label": gold[k],
         "prediction": predictions[s][k]}
        for s in steps for k in range(500)
    ])  # fmt: skip
    one = downstream[downstream["seed"] == 0]
    (row,) = f.not_monotonic({"downstream": one}, {"downstream": items})
    assert row["verdict"] == f.INCONCLUSIVE and "one fine-tuning seed" in row["measured"]
    # a metric that is not a mean over items: the permutation test
    one = one.assign(metric="matthews")
    (row,) = f.not_monotonic({"downstream": one}, {"downstream": items})
    assert row["verdict"] == f.INCONCLUSIVE and "(matthews)" in row["measured"]
    assert row["estimate"] > 0.4 and row["ci_low"] > 0


def test_probing_series_keep_one_layer():
    # layer 1 is best on average and rises; layer 0 falls (but is never chosen)
    probe = pd.DataFrame({
        "run": "r", "task": "upos", "step": [0, 0, 10, 10, 100, 100], "layer": [0, 1] * 3,
        "accuracy": [0.3, 0.2, 0.5, 0.9, 0.1, 0.95],
    })  # fmt: skip
    assert f.probe_layers(probe) == {("r", "upos"): 1}
    lama = lama_items([0.2, 0.9, 0.95], 2000)
    items = lama.assign(task="upos", layer=1, label="A",
                        predicted=np.where(lama["rank"] == 1, "A", "B"))  # fmt: skip
    (row,) = f.not_monotonic({"probe": probe}, {"probe": items})
    assert row["verdict"] == f.NOT_REPRODUCED and "layer 1" in row["measured"]


# ---- more data, more help (per layer)


def grid(benefit_small, benefit_large, seeds=(0, 1, 2, 3), sd=0.01, seed=0):
    """A two-layer grid: layer 1's benefit (single-1) at each size; layer 0 none."""
    rng = np.random.default_rng(seed)
    rows = []
    for n, benefit in (("100", benefit_small), ("full", benefit_large)):
        for s in seeds:
            base = 0.8 + rng.normal(0, sd)
            for reinit, score in (("none", base), ("single-0", base + rng.normal(0, sd)),
                                  ("single-1", base - benefit + rng.normal(0, sd)),
                                  ("progressive-k0", 0.5 + rng.normal(0, sd))):  # fmt: skip
                rows.append({"run": "r", "step": 4, "task": "t", "metric": "accuracy", "n": n,
                             "reinit": reinit, "seed": s, "score": score, "layers": 2})  # fmt: skip
    return pd.DataFrame(rows)


def test_more_data_more_help_is_tested_per_layer():
    row, described = f.more_data_more_help(grid(0.0, 0.1))
    assert row["verdict"] == f.REPRODUCED and "layer 1 (single)" in row["measured"]
    assert row["estimate"] == pytest.approx(0.1, abs=0.03) and row["ci_low"] > 0
    # the all-layer loss is a descriptive row, however large
    assert described["verdict"] == f.DESCRIPTIVE and "progressive-k0" in described["measured"]
    # the benefit grows but is already large with little data: inconclusive
    row, _ = f.more_data_more_help(grid(0.1, 0.3))
    assert row["verdict"] == f.INCONCLUSIVE and "not negligible" in row["measured"]
    # no layer's benefit grows: not reproduced (every increase excluded above the margin)
    row, _ = f.more_data_more_help(grid(0.1, 0.0, sd=0.002))
    assert row["verdict"] == f.NOT_REPRODUCED
    # one seed per size: no interval
    row, _ = f.more_data_more_help(grid(0.0, 0.1, seeds=(0,)))
    assert row["verdict"] == f.INCONCLUSIVE and "no interval" in row["measured"]


def test_layer_contrasts_name_the_schemes_that_isolate_a_layer():
    schemes = ["none", "progressive-k0", "progressive-k1", "single-1", "block-0-1"]
    assert f.layer_contrasts(schemes, 2) == [
        ("layer 0 (progressive)", "progressive-k1", "progressive-k0"),
        ("layer 1 (progressive)", "none", "progressive-k1"),
        ("layer 1 (single)", "none", "single-1"),
        ("layers 0-1 (block)", "none", "block-0-1"),
    ]


# ---- knowledge inheritance, and the table


def test_steps_saved_needs_an_early_checkpoint_below_the_twins_end():
    def tables(student_ppl, reached, saving):
        validation = pd.DataFrame({"run": "s", "step": [0, 50, 100], "val_perplexity": student_ppl})
        inheritance = pd.DataFrame({
            "student": "s", "teacher": "t", "twin": "w", "twin_step": [50, 100],
            "twin_perplexity": [40.0, 20.0], "student_step": [30, reached], "saving": [0.4, saving],
        })  # fmt: skip
        return inheritance, validation

    (row,) = f.steps_saved(*tables([100, 18, 15], 45, 0.55))
    assert row["verdict"] == f.REPRODUCED and "55.0% of the steps saved" in row["measured"]
    assert row["estimate"] == 0.55
    (row,) = f.steps_saved(*tables([100, 25, 19], 95, 0.05))
    assert row["verdict"] == f.INCONCLUSIVE
    (row,) = f.steps_saved(*tables([100, 25, 21], math.nan, math.nan))
    assert row["verdict"] == f.NOT_REPRODUCED and "never reaches" in row["measured"]


def test_check_skips_what_the_config_did_not_produce():
    assert f.check({}) == []


def test_findings_page_escapes_and_colours_each_verdict():
    rows = [
        f._row("s", "a < b", "run r", "1 & 2", v, "rule") for v in (f.REPRODUCED, f.INCONCLUSIVE)
    ]
    page = f.to_html(pd.DataFrame(rows, columns=f.COLUMNS))
    assert page.count("<tr style=") == 2 and "a &lt; b" in page and "1 &amp; 2" in page
    assert "#d9f2d9" in page and "#eeeeee" in page
