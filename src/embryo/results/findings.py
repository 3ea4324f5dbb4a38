"""The three papers' headline findings, tested on the tables and per-item outcomes of this run.

Each check reads the tidy tables (name -> DataFrame) and, where it tests differences
between checkpoints, the per-item outcomes behind them (name -> DataFrame of the
analysis's per-item files, :mod:`embryo.results.items`), and returns rows of the
findings table: the ``study``, the paper's ``finding`` (with where it is stated), the
``scope`` it was checked on, what this run ``measured``, the ``effect`` size the verdict
rests on with its ``estimate`` and 95% interval (``ci_low``, ``ci_high``), the
``verdict`` and the ``rule`` that gave it. The verdict is ``reproduced``, ``not
reproduced`` or ``inconclusive`` (``descriptive`` for a row that reports without
testing) and comes only from the rule written here, applied to the numbers. A check
whose tables the config does not produce gives no row. Tests and intervals are scipy's
(:mod:`embryo.results.stats`), at the level :data:`embryo.results.stats.LEVEL` (a false
discovery rate of 5% over every comparison a verdict scans; 95% intervals).

The rules, in short (each function's docstring has the details):

- POS learning order (Chiang et al. 2020, §4, Fig. 2: tokens of different parts of
  speech are learned at different speeds; the check asks whether function words are
  learned before content words): the step at which each tag's accuracy first reaches
  90% of its final value, with a bootstrap interval over the tag's words; the median
  over content-word tags minus the median over function-word tags, with its interval.
- Not monotonic (Chiang et al. 2020, abstract, §5-§6: linguistic knowledge, world
  knowledge and downstream performance do not generally improve as pretraining
  proceeds): a paired one-sided test of a fall for every pair of checkpoints of every
  series, the false discovery rate controlled over all of them (Benjamini-Hochberg).
- More data, more help (Tamkin et al. 2020): per layer, the benefit of keeping it
  pretrained (paired over seeds) at the smallest and the largest training set.
- Steps saved (Qin et al. 2021, §4: a student pretrained with a smaller teacher reaches
  its from-scratch twin's final perplexity in fewer steps): the step at which the student
  first reaches it.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

from embryo.results import stats
from embryo.results.learning import (
    MIN_FINAL_ACCURACY,
    learned_step,
    learned_steps,
)

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
DESCRIPTIVE = "descriptive"  # a row that reports a number without testing a claim
COLUMNS = ["study", "finding", "scope", "measured", "effect", "estimate", "ci_low", "ci_high",
           "verdict", "rule"]  # fmt: skip
# the tables the checks read, and the per-item outcomes (registry: items)
TABLES = ("mlm_pos", "probe", "lama", "downstream", "transferability", "validation", "inheritance")
ITEMS = ("mlm_pos", "probe", "lama", "downstream")

# Universal POS tags (UD v2): closed-class function words and open-class content words.
FUNCTION_TAGS = ("ADP", "AUX", "CCONJ", "DET", "PART", "PRON", "SCONJ")
CONTENT_TAGS = ("ADJ", "ADV", "NOUN", "PROPN", "VERB")
MIN_TOKENS = 20  # words of a tag scored at the last checkpoint, to time it at all
MIN_TAGS = 2  # tags per group
MIN_CHECKPOINTS = 3
MIN_ITEMS = 100  # items a series scored item by item needs (its bootstrap interval, to mean much)
# the least change that matters: "not reproduced" needs the interval to exclude a change
# this large (an equivalence margin), not merely a test that fails to reject
MARGIN = 0.02

EMBRYOLOGY = "Embryology (Chiang et al. 2020)"
TRANSFER = "Transferability (Tamkin et al. 2020)"
INHERITANCE = "Knowledge inheritance (Qin et al. 2021)"


def _row(study, finding, scope, measured, verdict, rule, effect="", estimate=math.nan,
         interval=(math.nan, math.nan)) -> dict:  # fmt: skip
    values = (study, finding, scope, measured, effect, estimate, *interval, verdict, rule)
    return dict(zip(COLUMNS, values, strict=True))


def _interval(low, high, digits=3) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no interval"
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def _outcome_matrix(items, column, key="item"):
    """0/1 outcomes [items, steps] of the items scored at every step, and the steps."""
    wide = items.pivot_table(index=key, columns="step", values=column, aggfunc="first")
    wide = wide.dropna()
    return wide.to_numpy(dtype=float), [int(s) for s in wide.columns]


def pos_order(mlm_pos, items) -> list[dict]:
    """Function words before content words? One row per run and mode, from the per-word outcomes.

    Both of the paper's measures (§4, Fig. 1-2): mask prediction (the word masked) and
    reconstruction (the word left in place and asked back); a word is right only if all
    its pieces are. Per UPOS tag with at least :data:`MIN_TOKENS` words scored (at every
    checkpoint) and a final accuracy of at least :data:`MIN_FINAL_ACCURACY`: its
    :func:`learned_step`. Effect: the median learned step of the content-word tags minus
    that of the function-word tags (positive: function words first), with a 95%
    percentile bootstrap interval (``scipy.stats.bootstrap``, the words of each tag
    resampled independently, each word keeping its outcomes at every checkpoint; the
    words of a sentence are treated as independent, and the checkpoints as fixed). Each
    tag's learned step is shown with its own interval from the same resamples. Rule: with
    at least :data:`MIN_CHECKPOINTS` checkpoints and :data:`MIN_TAGS` timed tags per
    group, ``reproduced`` if the interval lies above 0, ``not reproduced`` if below,
    ``inconclusive`` if it holds 0 or the data are too few. ``mlm_pos`` (the summary
    table) names the runs; the outcomes are the items' (``items``: the per-word files).
    """
    of = series_of({"mlm_pos": mlm_pos})
    rows = []
    for mode in ("mask_prediction", "reconstruction"):
        groups = {}
        for run in sorted(mlm_pos["run"].unique()):
            groups.setdefault(of.get(run, run), []).append(run)
        for name, runs in groups.items():
            per_run = [_pos_row(run, mode, items[items["run"] == run]) for run in runs]
            rows += per_run if len(runs) < 2 else [_pooled_pos_row(name, runs, per_run)]
    return rows


def _pooled_pos_row(name, runs, per_run) -> dict:
    """The :func:`pos_order` row of a series of pretraining replicates: each replicate's
    gap, their mean, and the 95% t interval over replicates (``scipy.stats.ttest_1samp``)
    widened to hold every replicate's own bootstrap interval."""
    gaps = [r["estimate"] for r in per_run]
    row = dict(per_run[0])
    listed = "; ".join(f"{run}: {r['estimate']:g} {_interval(r['ci_low'], r['ci_high'], 0)}"
                       for run, r in zip(runs, per_run, strict=True))  # fmt: skip
    if not all(math.isfinite(g) for g in gaps):
        verdict, interval, estimate = INCONCLUSIVE, (math.nan, math.nan), math.nan
        listed += " (a replicate with too few checkpoints or timed tags)"
    else:
        estimate, low, high = stats.mean_interval(gaps)
        # at least as wide as every replicate's own (item) interval: two replicates that
        # agree on a step (learned steps are checkpoints) do not make the step exact
        low = min(low, *(r["ci_low"] for r in per_run))
        high = max(high, *(r["ci_high"] for r in per_run))
        interval = (low, high)
        verdict = REPRODUCED if low > 0 else NOT_REPRODUCED if high < 0 else INCONCLUSIVE
    row.update(
        scope=f"series {name} ({len(runs)} replicates)",
        measured=f"content minus function median learned step per replicate: {listed}",
        estimate=estimate, ci_low=interval[0], ci_high=interval[1], verdict=verdict,
        rule=row["rule"] + "; a series of pretraining replicates: the mean gap, with the 95% "
        "t interval over replicates widened to hold each replicate's own interval",
    )  # fmt: skip
    return row


def _tag_outcomes(words, mode: str):
    """Per timed tag (see :func:`pos_order`), its words' 0/1 outcomes [words, steps]; the steps."""
    matrices, steps = {}, []
    for tag, group in words.groupby("upos", sort=True):
        if tag not in FUNCTION_TAGS + CONTENT_TAGS:
            continue
        outcomes, tag_steps = _outcome_matrix(group, mode)
        steps = tag_steps or steps
        if len(outcomes) >= MIN_TOKENS and outcomes[:, -1].mean() >= MIN_FINAL_ACCURACY:
            matrices[tag] = outcomes
    return matrices, steps


def _pos_row(run, mode: str, words) -> dict:
    """The :func:`pos_order` row of one run and mode."""
    import numpy as np
    from scipy import stats as sps

    name = mode.replace("_", " ")
    matrices, steps = _tag_outcomes(words, mode)
    function = [t for t in matrices if t in FUNCTION_TAGS]
    content = [t for t in matrices if t in CONTENT_TAGS]
    tags = function + content
    n_steps = words["step"].nunique()
    observed = {t: learned_step(steps, matrices[t].mean(0).tolist()) for t in tags}
    effect = "median learned step, content-word tags minus function-word tags (steps)"
    rule = (
        f"95% bootstrap interval of the median learned step (90% of final {name} accuracy) "
        "of content-word tags minus function-word tags above 0 (function words first); "
        f"below 0: not reproduced; holding 0, under {MIN_CHECKPOINTS} checkpoints or under "
        f"{MIN_TAGS} tags per group: inconclusive"
    )
    finding = (
        "Parts of speech are learned at different speeds: function words before content "
        f"words (§4, Fig. 2), in {name}"
    )
    if n_steps < MIN_CHECKPOINTS or min(len(function), len(content)) < MIN_TAGS:
        listed = ", ".join(f"{t} {observed[t]}" for t in tags) or "no tag learned"
        measured = f"step reaching 90% of final: {listed} ({n_steps} checkpoints)"
        return _row(EMBRYOLOGY, finding, f"run {run}", measured, INCONCLUSIVE, rule, effect)

    def statistic(*samples, axis=-1):
        # samples: each timed tag's resampled word indices [batch, words of the tag]
        curves = [matrices[t][s].mean(-2) for t, s in zip(tags, samples, strict=True)]
        learned = np.stack([learned_steps(steps, c) for c in curves])  # [tags, batch]
        gap = np.median(learned[len(function) :], 0) - np.median(learned[: len(function)], 0)
        return np.concatenate([gap[None], learned])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sps.DegenerateDataWarning)
        result = sps.bootstrap(
            tuple(np.arange(len(matrices[t])) for t in tags),
            statistic,
            vectorized=True,
            n_resamples=stats.RESAMPLES,
            batch=50,
            confidence_level=1 - stats.LEVEL,
            method="percentile",
            rng=stats.generator("pos_order", run, mode),
        )
    low, high = (np.asarray(b, dtype=float) for b in result.confidence_interval)
    medians = [float(np.median([observed[t] for t in group])) for group in (function, content)]

    def listed(group):
        return ", ".join(
            f"{t} {observed[t]} [{low[1 + tags.index(t)]:g}, {high[1 + tags.index(t)]:g}]"
            for t in sorted(group, key=observed.get)
        )

    measured = (
        "step reaching 90% of final [95% bootstrap interval]: function words: "
        f"{listed(function)}; content words: {listed(content)}; medians "
        f"{medians[0]:g} vs {medians[1]:g}"
    )
    verdict = REPRODUCED if low[0] > 0 else NOT_REPRODUCED if high[0] < 0 else INCONCLUSIVE
    return _row(EMBRYOLOGY, finding, f"run {run}", measured, verdict, rule, effect,
                medians[1] - medians[0], (float(low[0]), float(high[0])))  # fmt: skip


class Series(NamedTuple):
    """A score over checkpoints, with what its test between two checkpoints pairs on.

    ``kind``: ``binary`` (``data`` 0/1 outcomes [items, checkpoints], the score their
    mean), ``metric`` (``data`` predictions [items, checkpoints] scored by ``metric``
    against ``gold``) or ``seeds`` (``data`` scores [seeds, checkpoints], one row per
    fine-tuning seed, or per pretraining replicate of a series: :func:`pool_replicates`).
    ``run`` and ``part`` (the task, the layer) name it.
    """

    label: str
    steps: tuple[int, ...]
    kind: str
    data: object
    metric: str = "accuracy"
    gold: object = None
    run: str = ""
    part: str = ""

    def scores(self):
        from embryo.transfer.metrics import score_along

        if self.kind == "metric":
            return score_along(self.metric, self.data.T, self.gold)
        return self.data.mean(0)  # 0/1 outcomes, or the scores of seeds / replicates


def pair_tests(series: Series):
    """Every pair i < j of checkpoints: (i, j, fall = score i - score j, one-sided p of a fall).

    ``binary``: exact McNemar (:func:`embryo.results.stats.drop_pvalues`); ``metric``: the
    paired permutation test (:func:`embryo.results.stats.metric_drop_pvalue`), run only
    where the score falls (elsewhere p = 1, which is conservative); ``seeds``: the paired
    t-test over seeds (:func:`embryo.results.stats.seed_drop`; p = 1 without a spread).
    """
    import numpy as np

    k = len(series.steps)
    score = series.scores()
    out = []
    if series.kind == "binary":
        drop, p = stats.drop_pvalues(series.data)
        return [
            (i, j, float(drop[i, j]), float(p[i, j])) for i in range(k) for j in range(i + 1, k)
        ]
    for i in range(k):
        for j in range(i + 1, k):
            fall = float(score[i] - score[j])
            if series.kind == "seeds":
                p = stats.seed_drop(series.data[:, i], series.data[:, j])[1]
                p = 1.0 if not np.isfinite(p) else p
            elif fall > 0:
                p = stats.metric_drop_pvalue(series.data[:, i], series.data[:, j], series.gold,
                                             series.metric, seed_labels=(series.label, i, j))  # fmt: skip
            else:
                p = 1.0
            out.append((i, j, fall, p))
    return out


def fall_interval(series: Series, i: int, j: int) -> tuple[float, float]:
    """95% interval of the fall from checkpoint i to j: the paired bootstrap over items, or
    the t interval over seeds."""
    if series.kind == "seeds":
        return stats.seed_drop(series.data[:, i], series.data[:, j])[2:]
    labels = (series.label, i, j)
    if series.kind == "binary":
        return stats.paired_interval(series.data[:, i], series.data[:, j], labels=labels)
    import numpy as np

    from embryo.transfer.metrics import score_along

    def fall(x, y, axis=-1):
        # x (= y): the resampled item indices, the same at both checkpoints
        k = x.astype(int)
        gold = series.gold[k]
        before = score_along(series.metric, series.data[k, i], gold)
        return before - score_along(series.metric, series.data[k, j], gold)

    index = np.arange(len(series.gold), dtype=float)
    return stats.paired_interval(index, index, fall, labels=labels)


def probe_layers(probe) -> dict:
    """{(run, task): the layer whose probe has the best mean accuracy over checkpoints}.

    The replicates of a series (the table's ``series`` column) share the layer chosen on
    all of them, so that they can be pooled (:func:`pool_replicates`).
    """
    probe = probe if "series" in probe else probe.assign(series=probe["run"])
    best = {
        key: int(rows.groupby("layer")["accuracy"].mean().idxmax())
        for key, rows in probe.groupby(["series", "task"], sort=True)
    }
    pairs = probe[["run", "series", "task"]].drop_duplicates()
    return {(r.run, r.task): best[(r.series, r.task)] for r in pairs.itertuples()}


def series_of(tables) -> dict:
    """{run: its series} from the tables' ``series`` columns (a run is its own otherwise)."""
    out = {}
    for table in tables.values():
        if {"run", "series"} <= set(table.columns):
            out |= dict(zip(table["run"], table["series"], strict=True))
    return out


def pool_replicates(series: list, of: dict) -> list:
    """The series of pretraining replicates pooled: one ``seeds`` series per series name
    and part, with each replicate's score per checkpoint (the checkpoints all have), so
    that a fall is tested against the spread between replicates. Others are kept."""
    import numpy as np

    groups = {}
    for s in series:
        groups.setdefault((of.get(s.run, s.run), s.part), []).append(s)
    out = []
    for (name, part), members in groups.items():
        if len(members) < 2:
            out += members
            continue
        steps = sorted(set.intersection(*(set(m.steps) for m in members)))
        scores = [dict(zip(m.steps, m.scores(), strict=True)) for m in members]
        data = np.array([[sc[t] for t in steps] for sc in scores], dtype=float)
        label = " ".join(filter(None, (name, part))) + f" (over {len(members)} replicates)"
        out.append(Series(label, tuple(steps), "seeds", data, members[0].metric, None, name, part))
    return out


def _probe_series(probe, items) -> list[Series]:
    """Per run and task, the probe at the layer with the best mean accuracy over checkpoints.

    One layer per series, so that two checkpoints are compared on the same probe (the
    best layer of each checkpoint would be a maximum over layers, biased up by the
    choice, and not a paired comparison).
    """
    import numpy as np

    out = []
    for (run, task), layer in probe_layers(probe).items():
        mine = items[(items["run"] == run) & (items["task"] == task) & (items["layer"] == layer)]
        mine = mine.assign(correct=(mine["predicted"] == mine["label"]).astype(float))
        outcomes, steps = _outcome_matrix(mine, "correct")
        if len(steps):
            part = f"{task} (layer {layer})"
            out.append(Series(f"{run} {part}", tuple(steps), "binary", np.asarray(outcomes),
                              run=run, part=part))  # fmt: skip
    return out


def _lama_series(items) -> list[Series]:
    """Per run: P@1 over all scored facts (each fact an item: right when its rank is 1)."""
    out = []
    scored = items.dropna(subset=["rank"])
    for run, rows in scored.groupby("run", sort=True):
        rows = rows.assign(correct=(rows["rank"] == 1).astype(float))
        outcomes, steps = _outcome_matrix(rows, "correct")
        if len(steps):
            out.append(Series(str(run), tuple(steps), "binary", outcomes, run=run))
    return out


def _downstream_series(downstream, items) -> list[Series]:
    """Per run and task: over seeds when every checkpoint has two or more (the seed is the
    unit fine-tuning noise comes in), else the one seed's dev predictions item by item."""
    out = []
    for (run, task), rows in downstream.groupby(["run", "task"], sort=True):
        metric = rows["metric"].iloc[0]
        part = f"{task} ({metric})"
        label, names = f"{run} {part}", {"run": run, "part": part}
        seeds = rows.pivot_table(index="seed", columns="step", values="score").dropna()
        if len(seeds) >= 2:
            out.append(Series(label, tuple(int(s) for s in seeds.columns), "seeds",
                              seeds.to_numpy(dtype=float), metric, **names))  # fmt: skip
            continue
        seed = rows["seed"].min()
        mine = items[(items["run"] == run) & (items["task"] == task) & (items["seed"] == seed)]
        predictions = mine.pivot_table(index="item", columns="step", values="prediction")
        gold = mine.groupby("item")["label"].first().loc[predictions.index].to_numpy(dtype=float)
        steps = tuple(int(s) for s in predictions.columns)
        if metric == "accuracy":
            correct = (predictions.to_numpy() == gold[:, None]).astype(float)
            out.append(Series(label, steps, "binary", correct, metric, **names))
        else:
            out.append(Series(label, steps, "metric", predictions.to_numpy(dtype=float), metric,
                              gold, **names))  # fmt: skip
    return out


def _series(tables, items) -> dict[str, list[Series]]:
    """Per analysis, its score series (see :func:`not_monotonic`), replicates pooled."""
    of, series = series_of(tables), {}
    if "probe" in tables and "probe" in items:
        series["probing"] = _probe_series(tables["probe"], items["probe"])
    if "lama" in items:
        series["LAMA"] = _lama_series(items["lama"])
    if "downstream" in tables and "downstream" in items:
        series["downstream"] = _downstream_series(tables["downstream"], items["downstream"])
    return {analysis: pool_replicates(found, of) for analysis, found in series.items()}


def _undecided(analysis: str, series: Series) -> bool:
    """A downstream series of one fine-tuning seed: its item-level test cannot tell the
    checkpoint from the fine-tuning's own noise, which one seed does not measure."""
    return analysis == "downstream" and series.kind != "seeds"


def _units(series: Series) -> int:
    """What a series' test rests on: items, or seeds / replicates."""
    return len(series.data)


def not_monotonic(tables, items) -> list[dict]:
    """Do probing, LAMA and downstream scores rise monotonically with steps? One row each.

    Series: the probe of each run and task at its best layer (:func:`_probe_series`); LAMA
    P@1 over all scored facts per run; the downstream dev score per run and task (over
    seeds when there are two or more per checkpoint, else item by item); the runs of a
    series of pretraining replicates pooled into one series, each replicate's score a unit
    (:func:`pool_replicates`: the fall is tested against the spread between replicates,
    by the paired t-test over them). A series needs :data:`MIN_CHECKPOINTS` checkpoints
    and, scored item by item, :data:`MIN_ITEMS` items (a smaller one is listed, not
    tested). For every pair of checkpoints i < j of every series, a paired one-sided test
    that the score at j is below that at i (:func:`pair_tests`); the p-values of all pairs
    of all series of the analysis form one family, adjusted by Benjamini-Hochberg at
    :data:`embryo.results.stats.LEVEL`. Rule: ``reproduced`` (the paper: they do not rise
    monotonically) if some fall is significant, unless every significant fall is of a
    downstream series with a single fine-tuning seed; ``not reproduced`` if none is and,
    in every series, the 95% interval (:func:`fall_interval`) of its largest fall lies
    below :data:`MARGIN` (no fall that matters is compatible with the data; a
    single-seed downstream series can show neither); ``inconclusive`` otherwise. Effect:
    the most significant fall, or without one the largest fall of the series least
    certain to be monotone (the highest upper bound), with its interval.
    """
    rows = []
    for analysis, found in _series(tables, items).items():
        finding = (
            f"{analysis} scores do not rise monotonically with pretraining steps (abstract, §5-§6)"
        )
        rule = (
            "paired one-sided test of a fall for every pair of checkpoints of every series "
            "(0/1 items: exact McNemar; other metrics: permutation of the two checkpoints' "
            "predictions per item; two or more seeds or pretraining replicates: paired t over "
            f"them), Benjamini-Hochberg over all pairs at FDR {stats.LEVEL}: some fall "
            "significant: reproduced (only single-seed downstream falls: inconclusive); none, "
            f"and every series' largest fall with a 95% interval below {MARGIN}: not "
            f"reproduced; else inconclusive. Series need {MIN_CHECKPOINTS} checkpoints and, "
            f"scored item by item, {MIN_ITEMS} items"
        )
        effect = "fall in score from the earlier to the later checkpoint"
        series = [s for s in found if len(s.steps) >= MIN_CHECKPOINTS]
        small = [s for s in series if s.kind != "seeds" and _units(s) < MIN_ITEMS]
        series = [s for s in series if s not in small]
        left_out = "".join(f"; {s.label}: {_units(s)} items, not tested" for s in small)
        if not series:
            measured = f"no series with {MIN_CHECKPOINTS} checkpoints" + (
                f" and {MIN_ITEMS} items" if small else ""
            )
            rows.append(_row(EMBRYOLOGY, finding, analysis, measured + left_out, INCONCLUSIVE,
                             rule, effect))  # fmt: skip
            continue
        tests = [(s, *t) for s in series for t in pair_tests(s)]
        adjusted, rejected = stats.bh_reject([t[4] for t in tests])
        tests = [(*t, q, r) for t, q, r in zip(tests, adjusted, rejected, strict=True)]
        significant = [t for t in tests if t[6]]

        def describe(t):
            s, i, j, fall, _, q, _ = t
            return f"{s.label}: {fall:+.3f} from step {s.steps[i]} to step {s.steps[j]} (q {q:.3g})"

        falling = sorted({t[0].label for t in significant})
        measured = (
            f"{len(falling)} of {len(series)} series fall significantly ({len(tests)} pairs "
            "tested); "
        )
        if significant:
            chosen = min(significant, key=lambda t: (t[5], -t[3]))
            low, high = fall_interval(*chosen[:3])
            measured += "; ".join(describe(t) for t in sorted(significant, key=lambda t: t[5])[:4])
            if all(_undecided(analysis, t[0]) for t in significant):
                verdict = INCONCLUSIVE
                measured += " (one fine-tuning seed: fine-tuning noise not measured)"
            else:
                verdict = REPRODUCED
        else:
            # per series its largest fall, with its interval; the least certain one reported
            bounds = []
            for s in series:
                largest = max((t for t in tests if t[0] is s), key=lambda t: t[3])
                bounds.append((largest, fall_interval(*largest[:3])))
            chosen, (low, high) = max(bounds, key=lambda b: (b[1][1], b[0][3]))
            certain = all(math.isfinite(h) and h < MARGIN for _, (_, h) in bounds)
            undecided = any(_undecided(analysis, t[0]) for t, _ in bounds)
            verdict = NOT_REPRODUCED if certain and not undecided else INCONCLUSIVE
            measured += f"largest fall of the least certain series: {describe(chosen)}"
            if undecided:
                measured += " (one fine-tuning seed: fine-tuning noise not measured)"
        fall = chosen[3]
        measured += f"; fall {fall:+.3f} {_interval(low, high)}{left_out}"
        rows.append(_row(EMBRYOLOGY, finding, analysis, measured, verdict, rule, effect, fall,
                         (low, high)))  # fmt: skip
    return rows


def _size_key(n) -> float:
    """Training-set sizes in order: numbers, then 'full' (all of it)."""
    return math.inf if str(n) == "full" else float(n)


def layer_contrasts(schemes, layers: int) -> list[tuple[str, str, str]]:
    """(label, scheme with the layer pretrained, scheme with it redrawn) the grid ran.

    Progressive: layer k's benefit is ``progressive-k{k+1}`` minus ``progressive-k{k}``
    (the layers below kept, those above redrawn; ``progressive-k{L}`` is ``none``);
    single: ``none`` minus ``single-{l}`` (every other layer kept); block: ``none`` minus
    ``block-{i}-{j}`` (layers i..j together). Only pairs whose two schemes are in
    ``schemes`` are returned.
    """
    have = set(schemes)
    name = {f"progressive-k{layers}": "none"}

    def ran(scheme):
        return name.get(scheme, scheme) in have or scheme in have

    out = []
    for k in range(layers):
        kept, redrawn = f"progressive-k{k + 1}", f"progressive-k{k}"
        if ran(kept) and ran(redrawn):
            kept = kept if kept in have else name.get(kept, kept)
            out.append((f"layer {k} (progressive)", kept, redrawn))
    for layer in range(layers):
        if "none" in have and f"single-{layer}" in have:
            out.append((f"layer {layer} (single)", "none", f"single-{layer}"))
    for scheme in sorted(have):
        if scheme.startswith("block-") and "none" in have:
            i, j = scheme.split("-")[1:]
            out.append((f"layers {i}-{j} (block)", "none", scheme))
    return out


def _benefits(group, kept: str, redrawn: str) -> dict:
    """Per training-set size, the per-seed score with ``kept`` minus with ``redrawn``
    (paired by seed: the seed fixes the subset, the new head and the draw)."""
    import numpy as np

    out = {}
    for n, rows in group.groupby("n"):
        a = rows[rows["reinit"] == kept].set_index("seed")["score"]
        b = rows[rows["reinit"] == redrawn].set_index("seed")["score"]
        seeds = sorted(set(a.index) & set(b.index))
        if seeds:
            out[str(n)] = np.asarray(a.loc[seeds], dtype=float) - np.asarray(b.loc[seeds], float)
    return out


def more_data_more_help(transferability) -> list[dict]:
    """Do pretrained layers help more when fine-tuning data are plentiful? Per run, step, task.

    Tamkin et al. (2020, abstract): "parameters that provide tremendous performance
    improvement when data is plentiful may provide negligible benefits in data-scarce
    settings". Tested per layer, as stated: a layer's *benefit* at a training-set size is
    the dev score with the layer pretrained minus with it redrawn, per seed
    (:func:`layer_contrasts`, :func:`_benefits`). For each layer, Welch's one-sided
    t-test that its mean benefit at the largest size exceeds that at the smallest (the
    seeds at two sizes are different subsets: independent samples), Benjamini-Hochberg
    over the layers of the row at :data:`embryo.results.stats.LEVEL`. Rule:
    ``reproduced`` if some layer's increase is significant and its benefit at the
    smallest size is indistinguishable from zero (its 95% t interval holds 0); ``not
    reproduced`` if no increase is significant and every layer's 95% interval of the
    increase lies below :data:`MARGIN`; ``inconclusive`` otherwise (including a
    significant increase whose small-data benefit is not zero, and fewer than two seeds
    per size, which give no interval). Effect: the chosen layer's increase (largest minus
    smallest size) with its Welch interval. A second, ``descriptive`` row gives the score
    lost by redrawing every layer at each size (no verdict: with every layer redrawn a
    model is near chance whatever the data, which is not the paper's claim).
    """
    table = transferability
    if table.empty:
        return []
    rows = []
    claim = ("Parameters that help a lot when fine-tuning data are plentiful may give "
             "negligible benefits when they are scarce (abstract, Fig. 1)")  # fmt: skip
    rule = (
        "per layer, benefit = score pretrained minus redrawn, paired over seeds; Welch "
        "one-sided t of benefit at the largest size above that at the smallest, Benjamini-"
        f"Hochberg over layers at FDR {stats.LEVEL}: some layer significant with its "
        "smallest-size benefit's 95% interval holding 0: reproduced; none significant and "
        f"every increase's 95% interval below {MARGIN}: not reproduced; else inconclusive"
    )
    for (run, step, task), group in table.groupby(["run", "step", "task"], sort=True):
        layers = int(group["layers"].iloc[0])
        metric = group["metric"].iloc[0]
        scope = f"run {run} step {step}, {task}"
        sizes = sorted({str(n) for n in group["n"]}, key=_size_key)
        if len(sizes) < 2:
            continue
        small, large = sizes[0], sizes[-1]
        tests = []
        for label, kept, redrawn in layer_contrasts(group["reinit"].unique(), layers):
            benefit = _benefits(group, kept, redrawn)
            if small not in benefit or large not in benefit:
                continue
            diff, p, low, high = stats.larger(benefit[large], benefit[small])
            tests.append((label, benefit, diff, p, low, high,
                          stats.mean_interval(benefit[small])))  # fmt: skip
        effect = f"increase of a layer's benefit ({metric}), n={large} minus n={small}"
        testable = [t for t in tests if math.isfinite(t[3])]
        if testable:
            adjusted, rejected = stats.bh_reject([t[3] for t in testable])
            testable = [(*t, q, r) for t, q, r in zip(testable, adjusted, rejected, strict=True)]

        def negligible(t):
            _, low, high = t[6]
            return math.isfinite(low) and low <= 0 <= high

        if not testable:
            verdict, chosen = INCONCLUSIVE, None
            measured = (f"{len(tests)} layer contrasts, none with two seeds and a spread at "
                        f"both n={small} and n={large}: no interval")  # fmt: skip
        else:
            winners = [t for t in testable if t[8] and negligible(t)]
            if winners:
                verdict = REPRODUCED
            elif not any(t[8] for t in testable) and all(t[5] < MARGIN for t in testable):
                verdict = NOT_REPRODUCED
            else:
                verdict = INCONCLUSIVE
            chosen = min(winners or testable, key=lambda t: (t[7], -t[2]))
            ranked = sorted(testable, key=lambda t: t[7])
            measured = f"{len(testable)} layers tested; " + "; ".join(
                _describe_layer(t, sizes) for t in ranked[:4]
            )
            if verdict == INCONCLUSIVE and any(t[8] for t in testable):
                measured += (
                    " (the benefit grows with data, but is not negligible at the smallest size)"
                )
        rows.append(
            _row(TRANSFER, claim, scope, measured, verdict, rule, effect,
                 chosen[2] if chosen else math.nan,
                 (chosen[4], chosen[5]) if chosen else (math.nan, math.nan))
        )  # fmt: skip
        rows += _all_layers(group, layers, metric, scope, sizes)
    return rows


def _sized(values: dict, sizes) -> str:
    """Per training-set size, the mean of the per-seed values with its 95% t interval."""
    parts = []
    for n in sizes:
        if n in values:
            mean, low, high = stats.mean_interval(values[n])
            parts.append(f"n={n}: {mean:+.3f} {_interval(low, high)}")
    return ", ".join(parts)


def _describe_layer(test, sizes) -> str:
    label, benefit, diff, _, low, high, _, q = test[:8]
    return (f"{label}: benefit {_sized(benefit, sizes)}; increase {diff:+.3f} "
            f"{_interval(low, high)} (q {q:.3g})")  # fmt: skip


def _all_layers(group, layers, metric, scope, sizes) -> list[dict]:
    """The descriptive row: the score lost by redrawing every layer, at each size."""
    redrawn = next(
        (s for s in ("progressive-k0", f"block-0-{layers - 1}") if s in set(group["reinit"])), None
    )
    if redrawn is None or "none" not in set(group["reinit"]):
        return []
    loss = _benefits(group, "none", redrawn)
    if sizes[0] not in loss or sizes[-1] not in loss:
        return []
    diff, _, low, high = stats.larger(loss[sizes[-1]], loss[sizes[0]])
    measured = f"{metric} lost by redrawing every layer ({redrawn}): {_sized(loss, sizes)}"
    return [
        _row(
            TRANSFER,
            "Score lost by redrawing every layer, at the smallest and largest training set "
            "(for reading beside the per-layer test; not the paper's claim)",
            scope,
            measured,
            DESCRIPTIVE,
            "no verdict: the loss at the largest size minus at the smallest, with its Welch "
            "95% interval over seeds",
            f"loss at n={sizes[-1]} minus at n={sizes[0]} ({metric})",
            diff,
            (low, high),
        )
    ]


def steps_saved(inheritance, validation) -> list[dict]:
    """Does the student reach its twin's final perplexity in fewer steps? One row per student.

    The inheritance table's row of the twin's last checkpoint gives the twin's final
    perplexity and the step at which the student first reaches it (interpolated in log
    perplexity between the student's checkpoints, :func:`embryo.inheritance.comparison.matching_steps`),
    the validation table the student's own checkpoints. Rule: ``reproduced`` if a student
    checkpoint before its last is already at or below the twin's final perplexity (so the
    saving does not rest on the interpolation alone), ``inconclusive`` if only its last
    checkpoint is, ``not reproduced`` if none is.
    """
    rows = []
    if "twin" not in inheritance:
        return rows
    for student, group in inheritance.dropna(subset=["twin"]).groupby("student", sort=True):
        last = group.sort_values("twin_step").iloc[-1]
        target = float(last["twin_perplexity"])
        curve = validation[validation["run"] == student].sort_values("step")
        ppl = curve["val_perplexity"].astype(float).to_numpy()
        measured = (
            f"twin {last['twin']} ends at perplexity {target:.2f} (step {int(last['twin_step'])}); "
            f"student {student} ends at {ppl[-1]:.2f}"
        )
        if (ppl[:-1] <= target).any():
            verdict = REPRODUCED
        elif ppl[-1] <= target:
            verdict = INCONCLUSIVE
        else:
            verdict = NOT_REPRODUCED
        if math.isfinite(last["student_step"]):
            measured += (
                f", reaches the twin's final perplexity at step {last['student_step']:.0f}: "
                f"{last['saving']:.1%} of the steps saved"
            )
        else:
            measured += " and never reaches the twin's final perplexity"
        rows.append(
            _row(
                INHERITANCE,
                "A student pretrained with a smaller teacher reaches its from-scratch twin's "
                "final perplexity in fewer steps (§4)",
                f"student {student}, teacher {last['teacher']}",
                measured,
                verdict,
                "a student checkpoint before its last at or below the twin's final validation "
                "perplexity; only the last: inconclusive; none: not reproduced (no interval: "
                "one validation loss per checkpoint, on one held-out set)",
                "share of the twin's steps saved",
                float(last["saving"]),
            )
        )
    return rows


# what the checks read of each analysis's per-item files
ITEM_COLUMNS = {
    "mlm_pos": ["run", "step", "item", "upos", "mask_prediction", "reconstruction"],
    "probe": ["run", "step", "task", "layer", "item", "label", "predicted"],
    "lama": ["run", "step", "item", "rank"],
    "downstream": ["run", "step", "task", "seed", "item", "label", "prediction"],
}


def read_items(tables: dict, paths: dict) -> dict:
    """The per-item outcomes the checks need, per table: {name: DataFrame}.

    ``paths``: {table: its per-item files}. Only the columns of :data:`ITEM_COLUMNS` are
    read, and of the probes only the layers :func:`probe_layers` chooses.
    """
    from embryo.results.items import read_items as read

    out = {}
    for name, files in paths.items():
        filters = None
        if name == "probe" and "probe" in tables:
            filters = [("layer", "in", sorted(set(probe_layers(tables["probe"]).values())))]
        out[name] = read(files, ITEM_COLUMNS[name], filters)
    return out


def check(tables: dict, items: dict | None = None) -> list[dict]:
    """Every check whose tables (and per-item outcomes) are present, in the order of the studies."""
    items = items or {}
    rows = []
    if "mlm_pos" in tables and "mlm_pos" in items:
        rows += pos_order(tables["mlm_pos"], items["mlm_pos"])
    rows += not_monotonic(tables, items)
    if "transferability" in tables:
        rows += more_data_more_help(tables["transferability"])
    if "inheritance" in tables and "validation" in tables:
        rows += steps_saved(tables["inheritance"], tables["validation"])
    return rows


def to_html(table) -> str:
    """The findings table as a small self-contained HTML page (the report shows it inline)."""
    import html

    colours = {REPRODUCED: "#d9f2d9", NOT_REPRODUCED: "#f8d7d7", INCONCLUSIVE: "#eeeeee",
               DESCRIPTIVE: "#ffffff"}  # fmt: skip
    rows = []
    for row in table.itertuples(index=False):
        cells = "".join(f"<td>{html.escape(str(getattr(row, c)))}</td>" for c in COLUMNS)
        rows.append(f'<tr style="background:{colours.get(row.verdict, "#fff")}">{cells}</tr>')
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Findings</title><style>'
        "body{font:13px sans-serif;margin:1em}table{border-collapse:collapse}"
        "td,th{border:1px solid #bbb;padding:4px 6px;vertical-align:top;text-align:left}"
        "td:nth-child(4){max-width:40em}td:nth-child(6){max-width:24em;color:#555}"
        f"</style></head><body><table><tr>{head}</tr>{''.join(rows)}</table></body></html>\n"
    )
