"""The findings' rules on tables small enough to work out by hand."""

import math

import pandas as pd
import pytest

from embryo.results import findings as f


def test_learned_step_is_the_first_checkpoint_at_90_percent_of_the_last():
    assert f.learned_step([0, 10, 100], [0.0, 0.45, 0.5]) == 10
    assert f.learned_step([0, 10, 100], [0.0, 0.44, 0.5]) == 100
    assert f.learned_step([0, 10, 100], [0.0, 0.2, 0.01]) is None  # nothing learned


def test_largest_drop_looks_at_every_later_checkpoint():
    drop, a, b, _ = f.largest_drop([0, 1, 2, 3], [0.2, 0.6, 0.5, 0.7], [0.02] * 4)
    assert (round(drop, 6), a, b) == (0.1, 1, 2)
    drop, *_ = f.largest_drop([0, 1, 2], [0.1, 0.2, 0.3], [0.02] * 3)
    assert drop == pytest.approx(-0.1)  # never falls: the smallest rise, negated
    # a smaller fall far beyond its noise beats a larger one inside its own
    drop, a, b, tol = f.largest_drop([0, 1, 2, 3], [0.9, 0.5, 0.99, 0.95], [0.5, 0.02, 0.01, 0.01])
    assert (round(drop, 6), a, b, tol) == (0.04, 2, 3, 0.01)


def test_binomial_noise():
    # two standard errors of a difference of proportions at p = 0.5, n = 200: 2 * sqrt(0.5 * 0.5 * 2 / 200)
    assert f.binomial_noise(0.5, 200) == pytest.approx(0.1)
    assert f.binomial_noise(0.999, 10**6) == f.FLOOR
    assert f.binomial_noise(0.5, None) == f.FLOOR


def pos_table(curves: dict, steps=(0, 10, 100), total=50, mode="mask_prediction"):
    rows = [
        {"run": "r", "step": s, "mode": mode, "tagset": "upos", "tag": tag,
         "total": total, "accuracy": a}
        for tag, accs in curves.items()
        for s, a in zip(steps, accs, strict=True)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_pos_order_compares_function_and_content_word_medians():
    early, late = [0.0, 0.9, 1.0], [0.0, 0.5, 1.0]
    table = pos_table({"DET": early, "ADP": early, "NOUN": late, "VERB": late})
    (row,) = f.pos_order(table)
    assert row["verdict"] == f.REPRODUCED
    assert "medians 10 vs 100" in row["measured"]
    (row,) = f.pos_order(pos_table({"DET": late, "ADP": late, "NOUN": early, "VERB": early}))
    assert row["verdict"] == f.NOT_REPRODUCED
    (row,) = f.pos_order(pos_table({"DET": early, "ADP": early, "NOUN": early, "VERB": early}))
    assert row["verdict"] == f.INCONCLUSIVE  # equal medians
    (row,) = f.pos_order(pos_table({"DET": early, "NOUN": late, "VERB": late}))
    assert row["verdict"] == f.INCONCLUSIVE  # one function-word tag
    rare = pos_table({"DET": early, "ADP": early, "NOUN": late, "VERB": late}, total=5)
    assert f.pos_order(rare)[0]["verdict"] == f.INCONCLUSIVE  # too few words to time
    # one row per mode: mask prediction first, then reconstruction
    both = pd.concat([
        pos_table({"DET": early, "ADP": early, "NOUN": late, "VERB": late}, mode=mode)
        for mode in ("reconstruction", "mask_prediction")
    ])  # fmt: skip
    rows = f.pos_order(both)
    assert [r["finding"].rsplit("in ", 1)[1] for r in rows] == ["mask prediction", "reconstruction"]
    assert {r["verdict"] for r in rows} == {f.REPRODUCED}


def test_not_monotonic_counts_drops_beyond_the_noise():
    def lama(p_at_1, facts):
        return pd.DataFrame(
            {"run": "r", "step": [0, 10, 100], "relation": "P1", "p_at_1": p_at_1, "facts": facts}
        )

    # 0.5 -> 0.3 over 1000 facts: noise 2 * sqrt(2 * 0.25 / 1000) = 0.045
    (row,) = f.not_monotonic({"lama": lama([0.1, 0.5, 0.3], 1000)})
    assert (
        row["verdict"] == f.REPRODUCED and "falls 0.200 from step 10 to step 100" in row["measured"]
    )
    # the same fall over 20 facts: noise 0.316
    (row,) = f.not_monotonic({"lama": lama([0.1, 0.5, 0.3], 20)})
    assert row["verdict"] == f.NOT_REPRODUCED
    (row,) = f.not_monotonic({"lama": lama([0.1, 0.3, 0.5], 1000)})
    assert row["verdict"] == f.NOT_REPRODUCED
    two = lama([0.5, 0.1, 0.1], 1000).iloc[:2]
    assert f.not_monotonic({"lama": two})[0]["verdict"] == f.INCONCLUSIVE


def test_downstream_and_probing_series():
    downstream = pd.DataFrame({
        "run": "r", "task": "sst2", "metric": "accuracy", "n_dev": 872,
        "step": [0, 0, 10, 10, 100, 100], "seed": [0, 1] * 3,
        "score": [0.5, 0.5, 0.8, 0.82, 0.7, 0.7],
    })  # fmt: skip
    probe = pd.DataFrame({
        "run": "r", "task": "upos", "n_test": 5000,
        "step": [0, 0, 10, 10, 100, 100], "layer": [0, 1] * 3,
        "accuracy": [0.3, 0.2, 0.5, 0.9, 0.95, 0.1],
    })  # fmt: skip
    rows = {r["scope"]: r for r in f.not_monotonic({"downstream": downstream, "probe": probe})}
    assert rows["downstream"]["verdict"] == f.REPRODUCED  # 0.81 -> 0.70
    assert rows["probing"]["verdict"] == f.NOT_REPRODUCED  # best layer: 0.3, 0.9, 0.95


def summary(losses_small, losses_large, ci=math.nan):
    rows = []
    for n, loss in (("100", losses_small), ("full", losses_large)):
        rows += [
            {"run": "r", "step": 4, "task": "t", "metric": "accuracy", "n": n, "reinit": "none",
             "kept_layers": 2, "mean": 0.8, "ci95": ci},
            {"run": "r", "step": 4, "task": "t", "metric": "accuracy", "n": n,
             "reinit": "progressive-k0", "kept_layers": 0, "mean": 0.8 - loss, "ci95": ci},
        ]  # fmt: skip
    return pd.DataFrame(rows)


def test_more_data_more_help_compares_the_loss_at_the_extreme_sizes():
    (row,) = f.more_data_more_help(summary(0.01, 0.2))
    assert row["verdict"] == f.REPRODUCED  # gap 0.19 > hypot(0.028, 0.028) = 0.04
    assert f.more_data_more_help(summary(0.2, 0.01))[0]["verdict"] == f.NOT_REPRODUCED
    assert f.more_data_more_help(summary(0.05, 0.06))[0]["verdict"] == f.INCONCLUSIVE
    # wide intervals over seeds: the same gap is noise
    assert f.more_data_more_help(summary(0.01, 0.2, ci=0.2))[0]["verdict"] == f.INCONCLUSIVE


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
