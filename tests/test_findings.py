"""The findings' rules and their statistics on data small enough to work out by hand.

Checked: the resampling engine (clusters drawn whole, replicates drawn jointly with them,
metrics computed whole on each resample), the margin rule and what would change a
verdict, and each claim's rule reaching each verdict it can give: reproduced, not
reproduced, inconclusive, and untestable for a series at its floor, with too few items
or a single fine-tuning seed.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from embryo.results import findings as f
from embryo.results import stats
from embryo.results.verdicts import Finding, decide, would_change

# ---- the statistics, by hand


def test_benjamini_hochberg_by_hand():
    # sorted 0.01, 0.03, 0.04, 0.5: p * m / rank = 0.04, 0.06, 0.0533, 0.5, then the
    # running minimum from the top: 0.04, 0.0533, 0.0533, 0.5
    adjusted, rejected = stats.bh_reject([0.01, 0.04, 0.03, 0.5])
    assert adjusted == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    assert rejected.tolist() == [True, False, False, False]
    assert stats.bh_reject([])[1].tolist() == []


def test_seed_tests_by_hand():
    half = sps.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)
    mean, low, high = stats.mean_interval([0.1, 0.2, 0.3])
    assert (mean, low, high) == pytest.approx((0.2, 0.2 - half, 0.2 + half))
    assert stats.mean_interval([0.0, 0.0]) == (0.0, 0.0, 0.0)
    # Welch: equal variances and sizes, so the t of the pooled test: 0.3 / sqrt(2 * 0.01 / 3)
    diff, p, low, high = stats.larger([0.4, 0.5, 0.6], [0.1, 0.2, 0.3])
    assert diff == pytest.approx(0.3)
    assert p == pytest.approx(sps.t.sf(0.3 / math.sqrt(2 * 0.01 / 3), 4))
    assert math.isnan(stats.larger([0.4, 0.4], [0.1, 0.1])[1])  # no spread: no test


def test_cluster_bootstrap_draws_whole_clusters():
    """Two clusters, one all right and one all wrong: every resample's mean is 0, 1/2 or
    1 (a cluster drawn whole), never what drawing items one by one gives; with each item
    its own cluster the means spread over many values."""
    outcomes = np.array([[1.0]] * 10 + [[0.0]] * 10)  # [items, 1 checkpoint]
    clusters = np.array([0] * 10 + [1] * 10)
    curves = stats.mean_curves(outcomes, clusters, labels=("t",), resamples=400)
    assert curves.observed.tolist() == [0.5]
    assert set(np.round(curves.resampled[:, 0], 6)) <= {0.0, 0.5, 1.0}
    items = stats.mean_curves(outcomes, None, labels=("t",), resamples=400)
    assert len(set(np.round(items.resampled[:, 0], 6))) > 5
    # the same labels draw the same resamples
    again = stats.mean_curves(outcomes, clusters, labels=("t",), resamples=400)
    assert np.array_equal(curves.resampled, again.resampled)


def test_multibootstrap_draws_replicates_with_the_items():
    """Two replicates that disagree completely (one always right, one always wrong) on
    many items: drawing only items would give 0.5 every time, the multibootstrap puts
    mass at 0 and 1 too (both draws the same replicate)."""
    right, wrong = np.ones((200, 2)), np.zeros((200, 2))
    curves = stats.mean_curves(np.stack([right, wrong]), None, labels=("m",), resamples=2000)
    values = curves.resampled[:, 0]
    assert curves.observed.tolist() == [0.5, 0.5]
    assert 0.2 < (values == 0).mean() < 0.3 and 0.2 < (values == 1).mean() < 0.3


def test_metric_curves_compute_the_metric_on_each_resample():
    rng = np.random.default_rng(0)
    gold = (rng.random(300) < 0.5).astype(float)
    perfect, noise = gold, (rng.random(300) < 0.5).astype(float)
    curves = stats.metric_curves(
        np.stack([perfect, noise], -1), gold, "matthews", labels=("x",), resamples=500
    )
    assert curves.observed[0] == pytest.approx(1.0) and abs(curves.observed[1]) < 0.15
    assert (curves.resampled[:, 0] == 1).all() and curves.resampled[:, 1].std() > 0.02
    assert stats.bounds(curves.resampled[:, 0] - curves.resampled[:, 1])[0] > 0.5


def test_the_margin_rule_and_what_would_change_it():
    assert decide(0.03, 0.05, 0.02) == f.REPRODUCED
    assert decide(-0.01, 0.015, 0.02) == f.NOT_REPRODUCED
    assert decide(0.01, 0.05, 0.02) == f.INCONCLUSIVE
    assert decide(math.nan, 0.05, 0.02) == f.INCONCLUSIVE
    text = would_change(0.01, 0.05, 0.02)
    assert "lower bound above 0.02 (it is 0.01)" in text and "below 0.02 (it is 0.05)" in text


# ---- POS learning order


def word_items(
    curves: dict, steps=(0, 10, 100), words=200, seed=0, mode="mask_prediction", per_sentence=1
):
    """Per-word outcomes: each tag's words right with the tag's accuracy at each step;
    ``per_sentence`` words of one tag share a sentence."""
    rng = np.random.default_rng(seed)
    rows, item = [], 0
    for tag, accuracies in curves.items():
        u = rng.random(words)  # a word right at a step when u < accuracy: curves are nested
        for w in range(words):
            for step, a in zip(steps, accuracies, strict=True):
                rows.append(
                    {
                        "run": "r",
                        "step": step,
                        "item": item,
                        "upos": tag,
                        "sentence": item // per_sentence,
                        mode: bool(u[w] < a),
                        "other": True,
                    }
                )
            item += 1
    items = pd.DataFrame(rows)
    other = "reconstruction" if mode == "mask_prediction" else "mask_prediction"
    return items.rename(columns={"other": other})


def pos(items, margin=1.0):
    rows = f.pos_order(pd.DataFrame({"run": sorted(items["run"].unique())}), items, margin)
    return {r.finding.rsplit("in ", 1)[1]: r for r in rows}["mask prediction"]


def test_pos_order_compares_the_groups_in_doublings_with_sentence_intervals():
    early, late = [0.0, 0.97, 1.0], [0.0, 0.5, 1.0]
    row = pos(word_items({"DET": early, "ADP": early, "NOUN": late, "VERB": late}))
    # learned at step 10 and 100: log2(101) - log2(11) = 3.2 doublings
    assert row.verdict == f.REPRODUCED and row.estimate == pytest.approx(np.log2(101 / 11))
    assert row.ci_low > 1.0 and "medians 10 vs 100" in row.measured and row.margin == 1.0
    assert "DET 10 [10, 10]" in row.measured
    row = pos(word_items({"DET": late, "ADP": late, "NOUN": early, "VERB": early}))
    assert row.verdict == f.NOT_REPRODUCED and row.ci_high < 1.0  # function words later
    # 0.88 against 0.9 of the final: 20 words cannot tell step 10 from step 100
    close = [0.0, 0.88, 1.0]
    row = pos(word_items({"DET": early, "ADP": early, "NOUN": close, "VERB": close}, words=20))
    assert row.verdict == f.INCONCLUSIVE and row.ci_low <= 1.0 <= row.ci_high
    # a gap of 3.2 doublings against a margin of 4, but the content words are learned only
    # at the last checkpoint: the run's end cuts the gap short, so not "not reproduced"
    row = pos(word_items({"DET": early, "ADP": early, "NOUN": late, "VERB": late}), margin=4.0)
    assert row.verdict == f.INCONCLUSIVE and "learned at the last checkpoint" in row.measured
    # with a checkpoint after it, the same gap is measured whole: not reproduced
    steps, longer = (
        (0, 10, 100, 1000),
        {"early": [0.0, 0.97, 1.0, 1.0], "late": [0.0, 0.5, 1.0, 1.0]},
    )
    row = pos(
        word_items(
            {
                "DET": longer["early"],
                "ADP": longer["early"],
                "NOUN": longer["late"],
                "VERB": longer["late"],
            },
            steps=steps,
        ),
        margin=4.0,
    )
    assert row.verdict == f.NOT_REPRODUCED
    # every tag learned only at the last checkpoint: no order to read
    row = pos(word_items({"DET": late, "ADP": late, "NOUN": late, "VERB": late}))
    assert row.verdict == f.UNTESTABLE and "learned at the last checkpoint" in row.measured
    # function words learned at the first checkpoint (a branch's parent's: maybe earlier),
    # content words a little later: not "not reproduced", the gap may be larger
    row = pos(
        word_items(
            {"DET": [0.97, 1.0, 1.0], "ADP": [0.97, 1.0, 1.0], "NOUN": early, "VERB": early},
            steps=(300, 350, 400),
        )
    )
    assert row.verdict == f.INCONCLUSIVE and "first checkpoint" in row.measured
    row = pos(word_items({"DET": early, "NOUN": late, "VERB": late}))
    assert (
        row.verdict == f.UNTESTABLE
        and "needs 2 function-word and content-word tags" in row.measured
    )
    rare = word_items({"DET": early, "ADP": early, "NOUN": late, "VERB": late}, words=5)
    assert pos(rare).verdict == f.UNTESTABLE  # too few words to time


def test_sentences_are_resampled_whole():
    """The same words in sentences of 20 give a wider interval than in sentences of one:
    words of a sentence are drawn together."""
    early, mid = [0.0, 0.97, 1.0], [0.0, 0.84, 1.0]
    curves = {"DET": early, "ADP": early, "NOUN": mid, "VERB": mid}
    alone = pos(word_items(curves, words=200, per_sentence=1))
    grouped = pos(word_items(curves, words=200, per_sentence=20))
    assert grouped.ci_high - grouped.ci_low >= alone.ci_high - alone.ci_low


def test_replicates_of_a_series_give_one_row():
    early, late = [0.0, 0.97, 1.0], [0.0, 0.5, 1.0]
    curves = {"DET": early, "ADP": early, "NOUN": late, "VERB": late}
    items = pd.concat(
        [word_items(curves, seed=k).assign(run=run) for k, run in enumerate(("r", "r@s1"))]
    )
    table = pd.DataFrame({"run": ["r", "r@s1"], "series": ["r", "r"]})
    rows = [r for r in f.pos_order(table, items) if r.finding.endswith("mask prediction")]
    (row,) = rows
    assert row.scope == "series r (2 replicates)" and row.verdict == f.REPRODUCED
    assert "2 replicates" in row.measured


# ---- non-monotonic scores


def lama_items(accuracies, facts, steps=(0, 10, 100), seed=0, relation="P19"):
    """Facts right (rank 1) or not at each step; each fact keeps a fixed difficulty."""
    rng = np.random.default_rng(seed)
    u = rng.random(facts)
    rows = [
        {"run": "r", "step": s, "item": k, "relation": relation, "rank": 1 if u[k] < a else 2}
        for s, a in zip(steps, accuracies, strict=True)
        for k in range(facts)
    ]
    return pd.DataFrame(rows)


def monotonic(items, **kw):
    (row,) = f.not_monotonic({}, {"lama": items}, **kw)
    return row


def test_not_monotonic_needs_a_fall_beyond_the_margin():
    row = monotonic(lama_items([0.1, 0.5, 0.3], 1000))
    assert row.verdict == f.REPRODUCED and "from step 10 to step 100" in row.measured
    assert row.estimate == pytest.approx(0.2, abs=0.03) and row.ci_low > 0.1
    # a real fall of about 0.03: significant against 0, and bounded below a margin of 0.05
    margins = {**f.MARGINS, "lama": 0.05}
    row = monotonic(lama_items([0.1, 0.5, 0.47], 20000), margins_=margins)
    assert row.verdict == f.NOT_REPRODUCED and row.margin == 0.05 and row.ci_low > 0
    # a fall of about the margin itself: inconclusive
    row = monotonic(lama_items([0.1, 0.5, 0.45], 2000), margins_=margins)
    assert row.verdict == f.INCONCLUSIVE and row.ci_low < 0.05 < row.ci_high
    # rising: every fall's one-sided bound below the margin
    row = monotonic(lama_items([0.1, 0.3, 0.5], 1000))
    assert row.verdict == f.NOT_REPRODUCED and row.ci_high < 0.02
    assert "one-sided upper bound" in row.measured and "reproduced needs" in row.would_change


def test_floors_and_small_series_are_untestable():
    row = monotonic(lama_items([0.0, 0.0, 0.0], 1000))
    assert row.verdict == f.UNTESTABLE and "never 0.02 above its floor 0" in row.measured
    row = monotonic(lama_items([0.1, 0.5, 0.3], 20))
    assert row.verdict == f.UNTESTABLE and "20 items" in row.measured
    row = monotonic(lama_items([0.1, 0.5, 0.3], 1000, steps=(0, 10, 100))[lambda d: d.step < 100])
    assert row.verdict == f.UNTESTABLE and "2 checkpoints" in row.measured
    # one testable relation beside one at the floor: decided on the testable one
    both = pd.concat(
        [lama_items([0.1, 0.5, 0.3], 1000), lama_items([0.0, 0.0, 0.0], 1000, relation="P20")]
    )
    row = monotonic(both)
    assert row.verdict == f.REPRODUCED and "untestable 1 of 2 series" in row.measured
    assert "relation P20" in row.measured


def test_replicates_are_pooled_and_tested_against_their_spread():
    def series(falls):
        frames = [
            lama_items([0.1, 0.5, 0.5 - fall], 1000, seed=k).assign(run=f"r@s{k}")
            for k, fall in enumerate(falls)
        ]
        runs = [f"r@s{k}" for k in range(len(falls))]
        tables = {"lama": pd.DataFrame({"run": runs, "series": "r"})}
        (row,) = f.not_monotonic(tables, {"lama": pd.concat(frames)})
        return row

    row = series([0.2, 0.21, 0.19, 0.2])  # each replicate falls alike
    assert row.verdict == f.REPRODUCED and "(over 4 replicates)" in row.measured
    # one replicate falls, the other rises: each alone is significant, together not
    row = series([0.2, -0.2])
    assert row.verdict == f.INCONCLUSIVE and "(over 2 replicates)" in row.measured


def downstream_items(accuracies, seeds=(0,), n=500, steps=(0, 10, 100)):
    rng = np.random.default_rng(0)
    gold = (rng.random(n) < 0.5).astype(int)
    rows = []
    for seed in seeds:
        u = np.random.default_rng(seed + 1).random(n)
        for s, a in zip(steps, accuracies, strict=True):
            pred = np.where(u < a, gold, 1 - gold)
            rows += [
                {
                    "run": "r",
                    "task": "sst2",
                    "seed": seed,
                    "step": s,
                    "item": k,
                    "label": gold[k],
                    "prediction": pred[k],
                }
                for k in range(n)
            ]
    items = pd.DataFrame(rows)
    table = items.groupby(["run", "task", "seed", "step"], as_index=False).size()
    return table.assign(metric="accuracy", score=0.0), items


def test_downstream_is_tested_over_seeds_and_examples():
    table, items = downstream_items([0.5, 0.9, 0.6], seeds=(0, 1, 2))
    (row,) = f.not_monotonic({"downstream": table}, {"downstream": items})
    assert row.verdict == f.REPRODUCED and "(over 3 fine-tunings)" in row.measured
    # one fine-tuning seed of one run: untestable, whatever the fall
    table, items = downstream_items([0.5, 0.9, 0.6], seeds=(0,))
    (row,) = f.not_monotonic({"downstream": table}, {"downstream": items})
    assert row.verdict == f.UNTESTABLE and "one fine-tuning seed" in row.measured
    # a metric that is not a mean over examples, computed whole on each resample
    table, items = downstream_items([0.5, 0.9, 0.6], seeds=(0, 1))
    (row,) = f.not_monotonic({"downstream": table.assign(metric="matthews")}, {"downstream": items})
    assert row.verdict == f.REPRODUCED and "(matthews)" in row.measured and row.estimate > 0.4


def test_probing_series_keep_one_layer_and_their_floor():
    # layer 1 is best on average and rises; layer 0 falls (but is never chosen)
    probe = pd.DataFrame(
        {
            "run": "r",
            "task": "upos",
            "step": [0, 0, 10, 10, 100, 100],
            "layer": [0, 1] * 3,
            "accuracy": [0.3, 0.2, 0.5, 0.9, 0.1, 0.95],
            "majority_baseline": 0.1,
        }
    )
    assert f.probe_layers(probe) == {("r", "upos"): 1}
    lama = lama_items([0.2, 0.9, 0.95], 2000)
    items = lama.assign(
        task="upos",
        layer=1,
        label="A",
        sentence=lama["item"] // 10,
        predicted=np.where(lama["rank"] == 1, "A", "B"),
    )
    (row,) = f.not_monotonic({"probe": probe}, {"probe": items})
    assert row.verdict == f.NOT_REPRODUCED and "layer 1" in row.measured
    # a probe that never leaves its majority-class floor says nothing
    flat = lama_items([0.5, 0.5, 0.5], 2000)
    items = flat.assign(
        task="upos",
        layer=1,
        label="A",
        sentence=flat["item"] // 10,
        predicted=np.where(flat["rank"] == 1, "A", "B"),
    )
    (row,) = f.not_monotonic({"probe": probe.assign(majority_baseline=0.5)}, {"probe": items})
    assert row.verdict == f.UNTESTABLE and "floor 0.5" in row.measured


# ---- more data, more help (per layer)


def grid(benefit_small, benefit_large, seeds=(0, 1, 2, 3), sd=0.01, seed=0):
    """A two-layer grid: layer 1's benefit (single-1) at each size; layer 0 none."""
    rng = np.random.default_rng(seed)
    rows = []
    for n, benefit in (("100", benefit_small), ("full", benefit_large)):
        for s in seeds:
            base = 0.8 + rng.normal(0, sd)
            for reinit, score in (
                ("none", base),
                ("single-0", base + rng.normal(0, sd)),
                ("single-1", base - benefit + rng.normal(0, sd)),
                ("progressive-k0", 0.5 + rng.normal(0, sd)),
            ):
                rows.append(
                    {
                        "run": "r",
                        "step": 4,
                        "task": "t",
                        "metric": "accuracy",
                        "n": n,
                        "reinit": reinit,
                        "seed": s,
                        "score": score,
                        "layers": 2,
                    }
                )
    return pd.DataFrame(rows)


def test_more_data_more_help_is_tested_per_layer_against_the_margin():
    # negligible with little data: its interval within +-0.01 needs seeds that agree closely
    row, described = f.more_data_more_help(grid(0.0, 0.1, sd=0.002))
    assert row.verdict == f.REPRODUCED and "layer 1 (single)" in row.measured
    assert row.estimate == pytest.approx(0.1, abs=0.03) and row.ci_low > 0.01
    assert described.verdict == f.DESCRIPTIVE and "progressive-k0" in described.measured
    # the benefit grows but is already large with little data: inconclusive
    row, _ = f.more_data_more_help(grid(0.1, 0.3))
    assert row.verdict == f.INCONCLUSIVE and "not negligible" in row.measured
    # no layer's benefit grows: not reproduced (every increase bounded below the margin)
    row, _ = f.more_data_more_help(grid(0.1, 0.0, sd=0.002))
    assert row.verdict == f.NOT_REPRODUCED
    # a growth of 0.1 against a margin of 0.2: not significant beyond it
    row, _ = f.more_data_more_help(grid(0.0, 0.1, sd=0.002), margin=0.2)
    assert row.verdict == f.NOT_REPRODUCED
    # noisier seeds: a benefit with little data that cannot be shown negligible
    row, _ = f.more_data_more_help(grid(0.0, 0.1, sd=0.02))
    assert row.verdict == f.INCONCLUSIVE
    # one seed per size: untestable
    row, _ = f.more_data_more_help(grid(0.0, 0.1, seeds=(0,)))
    assert row.verdict == f.UNTESTABLE and "no interval" in row.measured


def test_layer_contrasts_name_the_schemes_that_isolate_a_layer():
    schemes = ["none", "progressive-k0", "progressive-k1", "single-1", "block-0-1"]
    assert f.layer_contrasts(schemes, 2) == [
        ("layer 0 (progressive)", "progressive-k1", "progressive-k0"),
        ("layer 1 (progressive)", "none", "progressive-k1"),
        ("layer 1 (single)", "none", "single-1"),
        ("layers 0-1 (block)", "none", "block-0-1"),
    ]


# ---- knowledge inheritance, and the table


def blocks(run, losses: dict, n=40, noise=0.0, seed=0):
    """Validation items: ``n`` blocks of 100 masked tokens, each block's mean loss at a
    step that step's loss (plus noise, different per block and step)."""
    rng = np.random.default_rng(seed)
    rows = [
        {
            "run": run,
            "step": step,
            "block": b,
            "tokens": 100,
            "loss": 100 * (loss + rng.normal(0, noise)),
        }
        for step, loss in losses.items()
        for b in range(n)
    ]
    return pd.DataFrame(rows)


def ki_tables(student: dict, twin: dict, name="s", twin_name="w"):
    """The validation and inheritance tables of a student and its twin (losses by step),
    the saving computed as the inheritance table does."""
    from embryo.inheritance.comparison import comparison

    validation = pd.DataFrame(
        [
            {"run": r, "step": k, "val_perplexity": math.exp(v)}
            for r, curve in ((name, student), (twin_name, twin))
            for k, v in curve.items()
        ]
    )
    pair = {"student": name, "teacher": "t", "twin": twin_name}
    return comparison([pair], validation), validation


def test_savings_interpolate_in_log_perplexity_by_hand():
    # twin ends at loss 2 (step 200); the student's loss falls 3 -> 1 from step 0 to 100:
    # log perplexity 2 is reached half way, at step 50: 75% of the twin's steps saved
    student = f.validation_blocks(blocks("s", {0: 3.0, 100: 1.0}), "s")
    twin = f.validation_blocks(blocks("w", {0: 5.0, 100: 3.0, 200: 2.0}), "w")
    assert f.savings(student, twin, np.ones((1, 40)))[0] == pytest.approx(0.75)
    # a student that never gets there counts as the most its steps allow: 1 - 100 / 200
    slow = f.validation_blocks(blocks("s", {0: 3.0, 100: 2.5}), "s")
    assert f.savings(slow, twin, np.ones((1, 40)))[0] == pytest.approx(0.5)


def test_steps_saved_has_an_interval_over_validation_blocks():
    twin = {0: 5.0, 100: 3.0, 200: 2.0}
    inheritance, validation = ki_tables({0: 5.0, 100: 2.0, 200: 1.5}, twin)
    quiet = pd.concat([blocks("s", {0: 5.0, 100: 2.0, 200: 1.5}), blocks("w", twin)])
    (row,) = f.steps_saved(inheritance, validation, quiet)
    assert row.verdict == f.REPRODUCED and "50.0% of the steps saved" in row.measured
    assert (row.estimate, row.ci_low, row.ci_high) == pytest.approx((0.5, 0.5, 0.5))
    # noisy blocks: the crossing moves with the draw, and a margin near the saving cannot
    # be decided
    noisy = pd.concat(
        [blocks("s", {0: 5.0, 100: 2.0, 200: 1.5}, noise=1.0), blocks("w", twin, noise=1.0, seed=1)]
    )
    (row,) = f.steps_saved(inheritance, validation, noisy, margin=0.45)
    assert row.verdict == f.INCONCLUSIVE and row.ci_low < 0.45 < row.ci_high
    # no saving: the student matches its twin step for step
    inheritance, validation = ki_tables(twin, twin)
    (row,) = f.steps_saved(
        inheritance, validation, pd.concat([blocks("s", twin), blocks("w", twin)])
    )
    assert row.verdict == f.NOT_REPRODUCED and row.ci_high == pytest.approx(0.0)
    # without per-block losses: no interval, so no verdict
    (row,) = f.steps_saved(inheritance, validation, None)
    assert row.verdict == f.INCONCLUSIVE and "no per-block" in row.measured


def test_teacher_settings_compare_students_over_the_same_blocks():
    twin = {0: 5.0, 100: 3.0, 200: 2.0}
    big, _ = ki_tables({0: 5.0, 100: 2.0, 200: 1.5}, twin, name="big")  # saves 50%
    small, validation = ki_tables({0: 5.0, 100: 2.5, 200: 1.9}, twin, name="small")
    inheritance = pd.concat([big, small.assign(teacher="t2")])
    items = pd.concat(
        [
            blocks("big", {0: 5.0, 100: 2.0, 200: 1.5}),
            blocks("small", {0: 5.0, 100: 2.5, 200: 1.9}),
            blocks("w", twin),
        ]
    )
    (row,) = f.teacher_settings(inheritance, items, {"size": ["big", "small"]})
    expected = (
        0.5
        - f.savings(
            f.validation_blocks(items, "small"), f.validation_blocks(items, "w"), np.ones((1, 40))
        )[0]
    )
    assert row.verdict == f.REPRODUCED and row.estimate == pytest.approx(expected)
    assert "big (teacher t) vs small (teacher t2)" in row.scope
    (row,) = f.teacher_settings(inheritance, items, {"size": ["small", "big"]})
    assert row.verdict == f.NOT_REPRODUCED and row.estimate < 0
    (row,) = f.teacher_settings(inheritance, items, {"architecture": ["big", "small"]})
    assert row.verdict == f.DESCRIPTIVE and math.isfinite(row.ci_low)
    (row,) = f.teacher_settings(inheritance, None, {"data": ["big", "small"]})
    assert row.verdict == f.UNTESTABLE
    assert f.teacher_settings(inheritance, items, {"lineage": ["big", "small"]}) == []


def test_students_downstream_pair_seeds_and_examples():
    def items(student_acc, twin_acc, seeds=(0, 1), n=400):
        rng = np.random.default_rng(0)
        rows = []
        for run, acc in (("s", student_acc), ("w", twin_acc)):
            for seed in seeds:
                right = rng.random(n) < acc
                rows += [
                    {
                        "run": run,
                        "step": 100,
                        "task": "t",
                        "seed": seed,
                        "item": i,
                        "label": 1,
                        "prediction": int(r),
                    }
                    for i, r in enumerate(right)
                ]
        return pd.DataFrame(rows)

    inheritance = pd.DataFrame({"student": ["s"], "teacher": ["t"], "twin": ["w"]})
    downstream = pd.DataFrame({"task": ["t"], "metric": ["accuracy"]})
    (row,) = f.students_downstream(inheritance, downstream, items(0.9, 0.6))
    assert row.verdict == f.REPRODUCED and row.estimate == pytest.approx(0.3, abs=0.05)
    assert "2 fine-tuning seeds" in row.measured
    same = items(0.7, 0.7)
    same.loc[same["run"] == "w", "prediction"] = same.loc[
        same["run"] == "s", "prediction"
    ].to_numpy()
    (row,) = f.students_downstream(inheritance, downstream, same)
    assert row.verdict == f.NOT_REPRODUCED and row.estimate == 0.0  # identical predictions
    (row,) = f.students_downstream(inheritance, downstream, items(0.9, 0.6, seeds=(0,)))
    assert row.verdict == f.UNTESTABLE and "one fine-tuning seed" in row.measured


# ---- Tamkin et al.: probing vs necessity, scrambling


def necessity_tables(benefit_of, probe, seeds=(0, 1, 2, 3), sd=0.005):
    """A four-layer grid at one size with single-layer contrasts (layer l's benefit
    ``benefit_of[l]``) and a task probe scoring ``probe[l]`` at layer l + 1."""
    rng = np.random.default_rng(0)
    rows = []
    for s in seeds:
        base = 0.8 + rng.normal(0, sd)
        rows.append({"reinit": "none", "seed": s, "score": base})
        rows += [
            {"reinit": f"single-{k}", "seed": s, "score": base - b + rng.normal(0, sd)}
            for k, b in enumerate(benefit_of)
        ]
    grid = pd.DataFrame(rows).assign(
        run="r", step=4, task="t", metric="accuracy", n="full", layers=len(benefit_of)
    )
    probes = pd.DataFrame(
        {"run": "r", "step": 4, "task": "t", "layer": range(len(probe) + 1), "score": [0.5, *probe]}
    )
    return grid, probes


def test_probing_necessity_is_a_rank_correlation_over_layers():
    probe = [0.6, 0.7, 0.8, 0.9]
    # the layers that probe best are the least needed: Spearman -1, far below 0.5
    (row,) = f.probing_necessity(*necessity_tables([0.20, 0.15, 0.10, 0.05], probe))
    assert row.verdict == f.REPRODUCED and row.estimate == pytest.approx(-1.0)
    assert row.ci_high < 0.5 and "Spearman -1.00" in row.measured
    # probing predicts what each layer is needed for: Spearman +1, every resample too
    (row,) = f.probing_necessity(*necessity_tables([0.05, 0.10, 0.15, 0.20], probe))
    assert row.verdict == f.NOT_REPRODUCED and row.ci_low == pytest.approx(1.0)
    # two layers cannot rank: untestable
    grid, probes = necessity_tables([0.1, 0.2], probe[:2])
    (row,) = f.probing_necessity(grid, probes)
    assert row.verdict == f.UNTESTABLE and "needs 4" in row.measured
    # one seed: no interval
    (row,) = f.probing_necessity(*necessity_tables([0.2, 0.15, 0.1, 0.05], probe, seeds=(0,)))
    assert row.verdict == f.UNTESTABLE


def test_scrambling_compares_the_pretrained_order_with_permutations():
    def grid(kept, perms):
        rows = [{"reinit": "none", "seed": s, "score": v} for s, v in enumerate(kept)]
        rows += [
            {"reinit": f"scramble-s{i + 1}", "seed": 0, "score": v} for i, v in enumerate(perms)
        ]
        return pd.DataFrame(rows).assign(run="r", step=4, task="t", metric="accuracy", n=500)

    (row,) = f.scrambling(grid([0.80, 0.81, 0.82], [0.60, 0.62, 0.65, 0.61]))
    assert row.verdict == f.REPRODUCED and row.estimate == pytest.approx(0.81 - 0.62)
    diff, _, low, high = stats.larger([0.80, 0.81, 0.82], [0.60, 0.62, 0.65, 0.61])
    assert (row.ci_low, row.ci_high) == pytest.approx((low, high))
    (row,) = f.scrambling(grid([0.800, 0.801, 0.799], [0.800, 0.799, 0.801, 0.800, 0.800]))
    assert row.verdict == f.NOT_REPRODUCED
    (row,) = f.scrambling(grid([0.8], [0.6]))
    assert row.verdict == f.UNTESTABLE


def test_every_rule_is_stated_once_and_read_by_its_rows():
    row, _ = f.more_data_more_help(grid(0.0, 0.1, sd=0.002))
    assert row.rule == f.rule("more_data", 0.01) and "0.01" in row.rule
    (lama,) = f.not_monotonic({}, {"lama": lama_items([0.1, 0.5, 0.3], 1000)})
    assert lama.rule == f.rule("not_monotonic", 0.02)
    assert set(f.RULES) == {
        "pos_order",
        "not_monotonic",
        "more_data",
        "steps_saved",
        "necessity",
        "scrambling",
        "teacher_settings",
        "students_downstream",
    }
    assert set(f.MARGINS) == set(schema_margins())


def schema_margins():
    from pathlib import Path

    import yaml

    schema = yaml.safe_load((Path(__file__).parents[1] / "config/schema.yaml").read_text())
    return schema["properties"]["findings"]["properties"]["margins"]["properties"]


def test_check_skips_what_the_config_did_not_produce():
    assert f.check({}) == []


def test_findings_page_escapes_and_colours_each_verdict():
    rows = [
        Finding("s", "a < b", "run r", "1 & 2", v, "rule")._asdict()
        for v in (f.REPRODUCED, f.INCONCLUSIVE, f.UNTESTABLE)
    ]
    page = f.to_html(pd.DataFrame(rows, columns=f.COLUMNS))
    assert page.count("<tr style=") == 3 and "a &lt; b" in page and "1 &amp; 2" in page
    assert "#d9f2d9" in page and "#eeeeee" in page and "#fff4d6" in page
