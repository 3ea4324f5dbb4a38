"""The three papers' headline findings, decided on this run's tables and per-item outcomes.

Each check reads the tidy tables (name -> DataFrame) and, where it compares checkpoints,
the per-item outcomes behind them (name -> DataFrame, :mod:`embryo.results.items`), and
returns rows of the findings table (:class:`~embryo.results.verdicts.Finding`): the claim,
the scope it was checked on, what was measured, the effect with its 95% interval, the
margin it is decided against (the smallest effect that matters: config
``findings.margins``), the verdict, the rule and what would have changed the verdict.
Every rule is stated once, in :data:`RULES`, and read from there by the table's ``rule``
column and by the docstrings here. Intervals and tests are scipy's or resamples of the
units the data come in (:mod:`embryo.results.stats`): a sentence's words together (POS,
probes), a relation's facts (LAMA), dev examples (downstream), and with pretraining
replicates or a suite's seeds the replicates jointly with them (the multibootstrap).
Deciding (:mod:`embryo.results.verdicts`) is kept apart from describing.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

from embryo.results import stats
from embryo.results.learning import MIN_FINAL_ACCURACY, learned_step, learned_steps
from embryo.results.verdicts import (
    COLUMNS,
    DESCRIPTIVE,
    EMBRYOLOGY,
    INCONCLUSIVE,
    INHERITANCE,
    NOT_REPRODUCED,
    REPRODUCED,
    TRANSFER,
    UNTESTABLE,
    Finding,
    decide,
    decided,
    interval_text,
    would_change,
)

__all__ = [
    "COLUMNS",
    "REPRODUCED",
    "NOT_REPRODUCED",
    "INCONCLUSIVE",
    "UNTESTABLE",
    "DESCRIPTIVE",
    "check",
    "read_items",
    "to_html",
]

# the tables the checks read, and the per-item outcomes (registry: items)
TABLES = (
    "mlm_pos",
    "probe",
    "edge_probe",
    "lama",
    "downstream",
    "transferability",
    "task_probe",
    "validation",
    "inheritance",
)
ITEMS = ("mlm_pos", "probe", "edge_probe", "lama", "downstream", "validation")

# Universal POS tags (UD v2): closed-class function words and open-class content words.
FUNCTION_TAGS = ("ADP", "AUX", "CCONJ", "DET", "PART", "PRON", "SCONJ")
CONTENT_TAGS = ("ADJ", "ADV", "NOUN", "PROPN", "VERB")
MIN_TOKENS = 20  # words of a tag scored at every checkpoint, to time it at all
MIN_TAGS = 2  # timed tags per group
MIN_CHECKPOINTS = 3
MIN_ITEMS = 50  # items a series needs (units of its percentile interval)
MIN_OFF_FLOOR = 10  # items of a 0/1 series right at some checkpoint, where its floor is 0

# config findings.margins (config/schema.yaml has each one's reason): the defaults
MARGINS = {
    "pos_order": 0.5,
    "probing": 0.02,
    "edge_probing": 0.02,
    "lama": 0.02,
    "downstream": 0.01,
    "transfer": 0.01,
    "steps_saved": 0.05,
    "teacher_settings": 0.05,
    "necessity": 0.5,
}
MIN_LAYERS = 4  # layer contrasts a rank correlation over layers needs

RULES = {
    "pos_order": (
        "effect: the median over content-word tags (ADJ ADV NOUN PROPN VERB) minus the median "
        "over function-word tags (ADP AUX CCONJ DET PART PRON SCONJ) of log2(1 + the step at "
        "which a tag first reaches 90% of its final accuracy), tags with {min_tokens} words "
        "and 5% final accuracy; 95% percentile bootstrap over sentences (a sentence's words "
        "together) and replicates (multibootstrap); reproduced: lower bound above {margin} "
        "doublings; not reproduced: upper bound below it; else inconclusive; a verdict whose "
        "side of the interval rests on a group whose median tag is learned at the last "
        "checkpoint (perhaps later) or the first (perhaps earlier: a branch) is inconclusive; "
        "fewer than {min_checkpoints} checkpoints, {min_tags} timed tags a group, or both "
        "groups at the first or both at the last checkpoint: untestable"
    ),
    "not_monotonic": (
        "per series (a run or a series of replicates; per probing task at its best layer, per "
        "LAMA relation, per downstream task), every pair of checkpoints i < j: the fall "
        "score(i) - score(j) with its standard error over a bootstrap of the data's units "
        "(sentences; facts; dev examples; replicates and fine-tuning seeds jointly); "
        "reproduced: some fall exceeds the margin {margin} (one-sided z, Benjamini-Hochberg "
        "over every pair of every series at FDR {level}); not reproduced: every fall's "
        "one-sided 95% upper bound below the margin; else inconclusive; series at their floor or ceiling "
        "throughout, with under {min_items} items or {min_checkpoints} checkpoints, or "
        "a downstream series of one fine-tuning seed: untestable"
    ),
    "more_data": (
        "per layer, benefit = score pretrained minus redrawn, paired over seeds; the increase "
        "of the benefit from the smallest to the largest training set, Welch one-sided t that "
        "it exceeds the margin {margin}, Benjamini-Hochberg over layers at FDR {level}: some "
        "layer significant and its smallest-size benefit's 95% interval within +-{margin} "
        "(negligible): reproduced; every increase's 95% upper bound below {margin}: not "
        "reproduced; else inconclusive; no layer with two seeds and a spread at both sizes: "
        "untestable"
    ),
    "necessity": (
        "per run, step and task, at the largest training set (where the paper reads it): the "
        "Spearman correlation over layers between the task probe's score at a layer's output "
        "and the score lost by redrawing that layer (pretrained minus redrawn, mean over "
        "seeds: single-layer contrasts, else progressive ones); 95% percentile bootstrap "
        "over fine-tuning seeds (scipy.stats.bootstrap; a seed fixes the subset for every "
        "scheme, so seeds are resampled jointly across layers; the probes are one fit per "
        "layer, not resampled); reproduced (probing neither necessary nor sufficient): upper "
        "bound below {margin}; not reproduced (probing predicts the layers needed): lower "
        "bound above it; else inconclusive; fewer than {min_layers} layer contrasts or 2 "
        "seeds: untestable"
    ),
    "scrambling": (
        "per run, step, task and training-set size: the score with the layers in their "
        "pretrained order (mean over seeds) minus the mean over permuted orders (each "
        "fine-tuned), Welch 95% interval (seeds of the pretrained order against the "
        "permutations); reproduced (the order matters): lower bound above {margin}; not "
        "reproduced: upper bound below it; else inconclusive; under 2 seeds or 2 "
        "permutations: untestable"
    ),
    "steps_saved": (
        "the share of the twin's steps the student saves reaching the twin's final validation "
        "perplexity (interpolated in log perplexity), with its 95% percentile bootstrap over "
        "validation blocks (every checkpoint's perplexity recomputed on the drawn blocks, the "
        "same draw for student and twin; a target the student does not reach counts as the "
        "most its steps allow, 1 - its last step / the twin's, which no verdict can gain "
        "from); reproduced: lower bound above {margin}; not reproduced: upper bound below "
        "it; else inconclusive (so too without per-block losses)"
    ),
    "teacher_settings": (
        "per study (size, data, domain: students alike but for the teacher, the setting the "
        "paper expects to help most listed first), the first student's share of steps saved "
        "minus each other's, 95% percentile bootstrap over validation blocks (one draw for "
        "every run of the study); reproduced: lower bound above {margin}; not reproduced: "
        "upper bound below it; else inconclusive; architecture: described, not decided"
    ),
    "students_downstream": (
        "per student with a twin and task, at their last common analysed checkpoint: the "
        "student's dev score minus the twin's, paired by fine-tuning seed and dev example, "
        "multibootstrap (seeds and examples resampled jointly); reproduced: lower bound "
        "above {margin}; not reproduced: upper bound below it; else inconclusive; one "
        "fine-tuning seed: untestable"
    ),
}


def rule(name: str, margin: float) -> str:
    """:data:`RULES` ``name`` with its margin and the module's thresholds."""
    return RULES[name].format(
        margin=f"{margin:g}",
        level=stats.LEVEL,
        min_tokens=MIN_TOKENS,
        min_tags=MIN_TAGS,
        min_checkpoints=MIN_CHECKPOINTS,
        min_items=MIN_ITEMS,
        min_layers=MIN_LAYERS,
    )


def margins(settings: dict | None) -> dict:
    """The margins of ``findings.margins`` over :data:`MARGINS`."""
    return {**MARGINS, **((settings or {}).get("margins") or {})}


def series_of(tables) -> dict:
    """{run: its series} from the tables' ``series`` columns (a run is its own otherwise)."""
    out = {}
    for table in tables.values():
        if {"run", "series"} <= set(table.columns):
            out |= dict(zip(table["run"], table["series"], strict=True))
    return out


def _groups(runs, of: dict) -> dict[str, list]:
    """{series: its runs} (a run without replicates is a series of one)."""
    groups: dict[str, list] = {}
    for run in sorted(set(runs)):
        groups.setdefault(of.get(run, run), []).append(run)
    return groups


def _stack(frames: list, value: str, cluster: str | None):
    """The items every frame (a run's, or a fine-tuning seed's, rows of step, item, value
    and cluster) scored at every checkpoint they all have: ``(data [frames, items, steps],
    steps, items, clusters)``, ``data`` None when there are none. ``clusters``: each item's
    ``cluster`` (None, or a column the frames lack: each item its own)."""
    import numpy as np

    wides = []
    for f in frames:
        values = f[value].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        wide = f.assign(_v=values).pivot_table(
            index="item", columns="step", values="_v", aggfunc="first"
        )
        wides.append(wide)
    steps = sorted(set.intersection(*(set(w.columns) for w in wides)))
    wides = [w[steps].dropna() for w in wides]
    items = sorted(set.intersection(*(set(w.index) for w in wides)))
    if not items or not steps:
        return None, [int(s) for s in steps], items, None
    data = np.stack([w.loc[items].to_numpy(dtype=float) for w in wides])
    if cluster is None or cluster not in frames[0].columns:
        clusters = np.arange(len(items))
    else:
        clusters = frames[0].groupby("item")[cluster].first().loc[items].to_numpy()
    return data, [int(s) for s in steps], items, clusters


# ---- POS learning order (Chiang et al. 2020, §4)


def pos_order(mlm_pos, items, margin: float = MARGINS["pos_order"]) -> list[Finding]:
    """Function words before content words? One row per series and mode.

    Both of the paper's measures (§4, Fig. 1-2): mask prediction and reconstruction; a
    word is right only if all its pieces are. Rule: ``RULES["pos_order"]``. The effect is
    in doublings of training (a tag learned at step 400 and one at 1,600 are two apart),
    so that runs of any length share one margin. Resampled: the test sentences, each with
    all its words (the words of a sentence share its context, and a sentence's words of
    several tags are drawn together), and with replicates the replicates jointly.
    """
    of = series_of({"mlm_pos": mlm_pos})
    rows = []
    for mode in ("mask_prediction", "reconstruction"):
        for name, runs in _groups(mlm_pos["run"], of).items():
            rows.append(_pos_row(name, runs, mode, items[items["run"].isin(runs)], margin))
    return rows


def _pos_row(name: str, runs: list, mode: str, words, margin: float) -> Finding:
    import numpy as np

    label = mode.replace("_", " ")
    finding = (
        "Parts of speech are learned at different speeds: function words before "
        f"content words (§4, Fig. 2), in {label}"
    )
    scope = f"run {name}" if len(runs) == 1 else f"series {name} ({len(runs)} replicates)"
    effect = "median log2(1 + learned step), content-word tags minus function-word tags (doublings)"
    the_rule = rule("pos_order", margin)
    frames = [words[words["run"] == r] for r in runs]
    data, steps, item_ids, sentences = _stack(frames, mode, "sentence")
    if data is None or len(steps) < MIN_CHECKPOINTS:
        return Finding(
            EMBRYOLOGY,
            finding,
            scope,
            f"{len(steps)} checkpoints scored (needs {MIN_CHECKPOINTS})",
            UNTESTABLE,
            the_rule,
            effect,
            margin=margin,
        )
    tag_of = frames[0].groupby("item")["upos"].first().loc[item_ids].to_numpy()
    timed = []
    for tag in (*FUNCTION_TAGS, *CONTENT_TAGS):
        mine = tag_of == tag
        if mine.sum() >= MIN_TOKENS and data[:, mine, -1].mean() >= MIN_FINAL_ACCURACY:
            timed.append(tag)
    function = [t for t in timed if t in FUNCTION_TAGS]
    content = [t for t in timed if t in CONTENT_TAGS]
    observed = {t: learned_step(steps, data[:, tag_of == t].mean((0, 1)).tolist()) for t in timed}
    if min(len(function), len(content)) < MIN_TAGS:
        listed = ", ".join(f"{t} {observed[t]}" for t in timed) or "no tag"
        measured = (
            f"tags timed (step reaching 90% of final): {listed}; needs {MIN_TAGS} "
            "function-word and content-word tags with "
            f"{MIN_TOKENS} words and 5% final accuracy"
        )
        return Finding(
            EMBRYOLOGY, finding, scope, measured, UNTESTABLE, the_rule, effect, margin=margin
        )
    resampled = _tag_steps(data, steps, tag_of, timed, sentences, labels=("pos", name, mode))
    doublings = np.log2(1 + resampled)  # [B, tags]
    gap = np.median(doublings[:, [timed.index(t) for t in content]], 1) - np.median(
        doublings[:, [timed.index(t) for t in function]], 1
    )
    low, high = stats.bounds(gap)
    estimate = float(
        np.median([np.log2(1 + observed[t]) for t in content])
        - np.median([np.log2(1 + observed[t]) for t in function])
    )
    tag_bounds = {t: stats.bounds(resampled[:, k]) for k, t in enumerate(timed)}

    def listed(group):
        return ", ".join(
            f"{t} {observed[t]} [{tag_bounds[t][0]:g}, {tag_bounds[t][1]:g}]"
            for t in sorted(group, key=observed.get)
        )

    medians = [float(np.median([observed[t] for t in g])) for g in (function, content)]
    # a group's median tag learned only at the last checkpoint may be learned later still
    # (right-censored); one learned at the first may have been learned before it (a branch's
    # first checkpoint is its parent's): that side of the group's step is not measured
    last = [m >= steps[-1] for m in medians]
    first = [m <= steps[0] for m in medians]
    if all(last) or all(first):
        where = "last" if all(last) else "first"
        measured = (
            f"both groups' median tags are learned at the {where} checkpoint "
            f"({steps[-1] if all(last) else steps[0]}): the order is not measured; "
            f"function words: {listed(function)}; content words: {listed(content)}"
        )
        return Finding(
            EMBRYOLOGY, finding, scope, measured, UNTESTABLE, the_rule, effect, margin=margin
        )
    measured = (
        "step reaching 90% of final [95% bootstrap interval]: function words: "
        f"{listed(function)}; content words: {listed(content)}; medians {medians[0]:g} vs "
        f"{medians[1]:g}; {len(item_ids)} words in {len(np.unique(sentences))} sentences"
        + (f", {len(runs)} replicates" if len(runs) > 1 else "")
    )
    verdict = decide(low, high, margin)
    change = would_change(low, high, margin, " doublings")
    # the side of the interval a censored group decides cannot decide: "not reproduced"
    # (an upper bound) needs the content words' step measured from above and the function
    # words' from below; "reproduced" the other way round
    censored = {
        NOT_REPRODUCED: [("content", "last", last[1]), ("function", "first", first[0])],
        REPRODUCED: [("function", "last", last[0]), ("content", "first", first[1])],
    }.get(verdict, [])
    reasons = [(group, where) for group, where, cut in censored if cut]
    if reasons:
        group, where = reasons[0]
        measured += (
            f"; the {group} words' median tag is learned at the {where} checkpoint, "
            "which bounds its step on one side only"
        )
        verdict = INCONCLUSIVE
        change = f"a checkpoint {'after' if where == 'last' else 'before'} the {group} words' median tag is learned"
    return Finding(
        EMBRYOLOGY,
        finding,
        scope,
        measured,
        verdict,
        the_rule,
        effect,
        estimate,
        low,
        high,
        margin,
        change,
    )


def _tag_steps(data, steps, tag_of, tags, sentences, *, labels):
    """Per resample of sentences (and replicates), each tag's learned step: [B, tags].

    ``data`` [R, N, K] the words' outcomes, ``tag_of`` [N] their tags, ``sentences`` [N]
    their sentences: a resample draws sentences with replacement (each with all its words
    of every tag) and replicates with replacement, and a tag's curve is its drawn words'
    mean over the drawn replicates."""
    import numpy as np

    r, _, k = data.shape
    ids = np.unique(sentences, return_inverse=True)[1]
    c = int(ids.max()) + 1
    sums = np.zeros((len(tags), r, c, k))
    sizes = np.zeros((len(tags), c))
    for t, tag in enumerate(tags):
        mine = tag_of == tag
        for rep in range(r):
            np.add.at(sums[t, rep], ids[mine], data[rep, mine])
        sizes[t] = np.bincount(ids[mine], minlength=c)
    rng = stats.generator("sentences", *labels)
    out = np.empty((stats.RESAMPLES, len(tags)))
    flat = sums.transpose(2, 0, 1, 3).reshape(c, -1)  # [C, tags * R * K]
    for start in range(0, stats.RESAMPLES, stats.BATCH):
        b = min(stats.BATCH, stats.RESAMPLES - start)
        w = stats.draws(c, rng, b)  # [b, C]
        drawn = (w @ flat).reshape(b, len(tags), r, k)
        counts = (w @ sizes.T)[:, :, None, None]  # [b, tags, 1, 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            per_rep = np.where(counts > 0, drawn / np.maximum(counts, 1), np.nan)
        v = stats.draws(r, rng, b) if r > 1 else np.ones((b, 1))
        curves = np.einsum("br,btrk->btk", v, np.nan_to_num(per_rep)) / r
        out[start : start + b] = learned_steps(steps, curves)
    return out


# ---- not monotonic (Chiang et al. 2020, abstract, §5-§6)


class Series(NamedTuple):
    """A score over checkpoints, with its resamples, and what bounds it."""

    analysis: str
    name: str  # the series: a run, or a series of replicates
    part: str  # the task (and layer), the relation
    steps: tuple[int, ...]
    curves: stats.Curves
    units: int  # replicates (and fine-tuning seeds) pooled
    items: int
    floor: float
    ceiling: float = 1.0
    off_floor: int | None = None  # items right at some checkpoint (0/1 with floor 0)
    single_seed: bool = False  # a downstream series of one fine-tuning seed

    @property
    def label(self) -> str:
        kind = "fine-tunings" if self.analysis == "downstream" else "replicates"
        units = f" (over {self.units} {kind})" if self.units > 1 else ""
        return " ".join(filter(None, (self.name, self.part))) + units

    def untestable(self, margin: float) -> str:
        """Why the series cannot show a fall of the margin, or ""."""
        score = self.curves.observed
        if len(self.steps) < MIN_CHECKPOINTS:
            return f"{len(self.steps)} checkpoints"
        if self.items < MIN_ITEMS:
            return f"{self.items} items"
        if self.single_seed:
            return "one fine-tuning seed (its noise not measured)"
        if float(score.max()) - self.floor < margin:
            return f"never {margin:g} above its floor {self.floor:.3g} (at most {score.max():.3f})"
        if self.ceiling - float(score.min()) < margin:
            return f"within {margin:g} of its ceiling throughout"
        if self.off_floor is not None and self.off_floor < MIN_OFF_FLOOR:
            return f"{self.off_floor} items ever right"
        return ""


class PairTest(NamedTuple):
    """A fall from checkpoint i to a later checkpoint j of one series."""

    series: Series
    i: int
    j: int
    fall: float  # score(i) - score(j)
    p: float  # one-sided p that the fall exceeds the margin (z from the bootstrap's SE)
    upper: float  # one-sided 95% upper bound
    low: float  # two-sided 95% interval
    high: float
    q: float = math.nan  # Benjamini-Hochberg adjusted
    rejected: bool = False

    def describe(self) -> str:
        s = self.series
        q = f", q {self.q:.3g}" if math.isfinite(self.q) else ""
        return (
            f"{s.label}: {self.fall:+.3f} {interval_text(self.low, self.high)} from step "
            f"{s.steps[self.i]} to step {s.steps[self.j]}{q}"
        )


def pair_tests(series: Series, margin: float) -> list[PairTest]:
    """Every pair i < j of a series' checkpoints: the fall, the p-value that it exceeds
    ``margin``, its one-sided 95% upper bound and two-sided 95% interval.

    From the fall's standard error over the resamples (the bootstrap's normal
    approximation: the fall of a mean over hundreds of items, or of a metric over hundreds
    of examples, is near normal), so that a p-value can be as small as a family of
    thousands of pairs needs: a p-value counted off B resamples is never below 1 / (B + 1),
    which Benjamini-Hochberg over 2,145 pairs (66 checkpoints) could never reject. A fall
    with no spread over the resamples is decided by its value alone.
    """
    import numpy as np
    from scipy.stats import norm

    k = len(series.steps)
    i, j = np.triu_indices(k, 1)
    observed = series.curves.observed[i] - series.curves.observed[j]
    falls = series.curves.resampled[:, i] - series.curves.resampled[:, j]  # [B, pairs]
    se = falls.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (observed - margin) / se, np.where(observed > margin, np.inf, -np.inf))
    p = norm.sf(z)
    upper = observed + norm.ppf(1 - stats.LEVEL) * se
    half = norm.ppf(1 - stats.LEVEL / 2) * se
    return [
        PairTest(series, int(a), int(c), float(f), float(pp), float(u), float(f - h), float(f + h))
        for a, c, f, pp, u, h in zip(i, j, observed, p, upper, half, strict=True)
    ]


def probe_layers(probe) -> dict:
    """{(run, task): the layer whose probe has the best mean accuracy over checkpoints},
    the same layer for every replicate of a series."""
    probe = probe if "series" in probe else probe.assign(series=probe["run"])
    best = {
        key: int(rows.groupby("layer")["accuracy"].mean().idxmax())
        for key, rows in probe.groupby(["series", "task"], sort=True)
    }
    pairs = probe[["run", "series", "task"]].drop_duplicates()
    return {(r.run, r.task): best[(r.series, r.task)] for r in pairs.itertuples()}


def _probe_series(analysis: str, probe, items, of) -> list[Series]:
    """Per series and task, the probe at its best layer; items resampled by sentence;
    its floor the majority label's share (the probe's baseline)."""
    out = []
    layers = probe_layers(probe)
    for task in sorted(probe["task"].unique()):
        runs = sorted(probe.loc[probe["task"] == task, "run"].unique())
        for name, members in _groups(runs, of).items():
            layer = layers[(members[0], task)]
            frames = []
            for run in members:
                mine = items[
                    (items["run"] == run) & (items["task"] == task) & (items["layer"] == layer)
                ]
                frames.append(
                    mine.assign(correct=(mine["predicted"] == mine["label"]).astype(float))
                )
            data, steps, _, clusters = _stack(frames, "correct", "sentence")
            if data is None:
                continue
            rows = probe[
                (probe["run"].isin(members)) & (probe["task"] == task) & (probe["layer"] == layer)
            ]
            floor = float(rows["majority_baseline"].mean()) if "majority_baseline" in rows else 0.0
            curves = stats.mean_curves(data, clusters, labels=(analysis, name, task))
            out.append(
                Series(
                    analysis,
                    name,
                    f"{task} (layer {layer})",
                    tuple(steps),
                    curves,
                    len(members),
                    data.shape[1],
                    floor,
                )
            )
    return out


def _lama_series(items, of) -> list[Series]:
    """Per series and relation (as the paper plots LAMA), P@1 over its scored facts;
    each fact a unit (a relation's facts share its template, so the relation is the
    scope, not a unit); floor 0."""
    out = []
    scored = items.dropna(subset=["rank"])
    scored = scored.assign(correct=(scored["rank"] == 1).astype(float))
    relation = scored["relation"] if "relation" in scored else "all"
    scored = scored.assign(relation=relation)
    for rel in sorted(scored["relation"].unique()):
        mine = scored[scored["relation"] == rel]
        for name, members in _groups(mine["run"], of).items():
            frames = [mine[mine["run"] == r] for r in members]
            data, steps, _, clusters = _stack(frames, "correct", None)
            if data is None:
                continue
            curves = stats.mean_curves(data, clusters, labels=("lama", name, rel))
            off = int((data.max(axis=(0, 2)) > 0).sum())
            part = "" if rel == "all" else f"relation {rel}"
            out.append(
                Series(
                    "LAMA",
                    name,
                    part,
                    tuple(steps),
                    curves,
                    len(members),
                    data.shape[1],
                    0.0,
                    off_floor=off,
                )
            )
    return out


PER_ITEM = ("accuracy", "exact_match", "token_f1")  # downstream metrics that are item means


def _value(metric: str) -> str:
    """The per-item column a downstream metric is read from: right or wrong (accuracy),
    the question's own score (extractive QA), else the prediction (a metric computed whole)."""
    return {"accuracy": "correct", "exact_match": "exact_match", "token_f1": "token_f1"}.get(
        metric, "prediction"
    )


def _chance(metric: str, gold) -> float:
    """The score of a constant prediction: the majority class's share (accuracy), F1 of
    predicting the positive class everywhere, 0 for the correlations; for extractive QA
    the share of unanswerable questions (always answering "none": ``gold`` the gold
    answers as JSON)."""
    import numpy as np

    if metric in ("exact_match", "token_f1"):
        return float(np.mean([g == "[]" for g in gold]))
    gold = np.asarray(gold)
    if metric == "accuracy":
        return float(np.unique(gold, return_counts=True)[1].max() / len(gold))
    if metric == "f1":
        p = float((gold == 1).mean())
        return 2 * p / (1 + p) if p else 0.0
    return 0.0


def _downstream_series(downstream, items, of) -> list[Series]:
    """Per series and task: every (replicate, fine-tuning seed) a unit, resampled jointly
    with the dev examples (the multibootstrap); accuracy as a mean over examples, other
    metrics computed whole on each resample. A series of one run fine-tuned with one seed
    is untestable: one seed cannot tell a checkpoint from fine-tuning noise."""
    import numpy as np

    out = []
    for task in sorted(downstream["task"].unique()):
        rows = downstream[downstream["task"] == task]
        metric = rows["metric"].iloc[0]
        for name, members in _groups(rows["run"], of).items():
            frames = []
            for run in members:
                mine = items[(items["run"] == run) & (items["task"] == task)]
                for _, seeded in mine.groupby("seed"):
                    frames.append(seeded)
            if not frames:
                continue
            frames = [
                f.assign(correct=(f["prediction"] == f["label"]).astype(float)) for f in frames
            ]
            data, steps, item_ids, _ = _stack(frames, _value(metric), None)
            if data is None:
                continue
            gold = frames[0].groupby("item")["label"].first().loc[item_ids].to_numpy()
            labels = ("downstream", name, task)
            if metric in PER_ITEM:
                curves = stats.mean_curves(data, None, labels=labels)
            else:
                curves = stats.metric_curves(data, gold.astype(float), metric, labels=labels)
            out.append(
                Series(
                    "downstream",
                    name,
                    f"{task} ({metric})",
                    tuple(steps),
                    curves,
                    len(frames),
                    data.shape[1],
                    _chance(metric, gold),
                    single_seed=len(frames) == 1,
                )
            )
    return [s for s in out if len(np.atleast_1d(s.curves.observed))]


def _series(tables, items) -> dict[str, list[Series]]:
    """Per analysis of the not-monotonic family, its series."""
    of, found = series_of(tables), {}
    for analysis, table in (("probing", "probe"), ("edge probing", "edge_probe")):
        if table in tables and table in items and len(items[table]):
            found[analysis] = _probe_series(analysis, tables[table], items[table], of)
    if "lama" in items and len(items["lama"]):
        found["LAMA"] = _lama_series(items["lama"], of)
    if "downstream" in tables and "downstream" in items and len(items["downstream"]):
        found["downstream"] = _downstream_series(tables["downstream"], items["downstream"], of)
    return found


MARGIN_OF = {
    "probing": "probing",
    "edge probing": "edge_probing",
    "LAMA": "lama",
    "downstream": "downstream",
}


def not_monotonic(tables, items, margins_: dict | None = None) -> list[Finding]:
    """Do probing, edge probing, LAMA and downstream scores rise monotonically? One row each.

    The paper: linguistic and world knowledge and downstream performance "do not
    generally improve as pretraining proceeds", shown per probing task, per LAMA
    relation and per downstream task; tested as a curve that falls from a peak by more
    than the margin at a later checkpoint. Rule: ``RULES["not_monotonic"]``. The family
    whose false discovery rate is controlled is every pair of every testable series of
    the analysis; "not reproduced" is an intersection-union test (every pair's one-sided
    bound below the margin), which needs no correction for their number.
    """
    margins_ = margins_ or MARGINS
    rows = []
    for analysis, found in _series(tables, items).items():
        margin = margins_[MARGIN_OF[analysis]]
        finding = (
            f"{analysis} scores do not rise monotonically with pretraining steps (abstract, §5-§6)"
        )
        effect = "fall in score from a checkpoint to a later one"
        the_rule = rule("not_monotonic", margin)
        reasons = {s.label: s.untestable(margin) for s in found}
        testable = [s for s in found if not reasons[s.label]]
        untestable = [f"{label}: {why}" for label, why in reasons.items() if why]
        left = (
            (
                f"; untestable {len(untestable)} of {len(found)} series: "
                + "; ".join(untestable[:6])
                + ("; ..." if len(untestable) > 6 else "")
            )
            if untestable
            else ""
        )
        if not testable:
            rows.append(
                Finding(
                    EMBRYOLOGY,
                    finding,
                    analysis,
                    (f"no series can show a fall of {margin:g}" + left),
                    UNTESTABLE,
                    the_rule,
                    effect,
                    margin=margin,
                )
            )
            continue
        tests = [t for s in testable for t in pair_tests(s, margin)]
        adjusted, rejected = stats.bh_reject([t.p for t in tests])
        tests = [
            t._replace(q=float(q), rejected=bool(r))
            for t, q, r in zip(tests, adjusted, rejected, strict=True)
        ]
        falling = [t for t in tests if t.rejected]
        head = (
            f"{len({t.series.label for t in falling})} of {len(testable)} series fall by more "
            f"than {margin:g} ({len(tests)} pairs tested)"
        )
        if falling:
            chosen = min(falling, key=lambda t: (t.q, -t.fall))
            verdict = REPRODUCED
            shown = "; ".join(t.describe() for t in sorted(falling, key=lambda t: t.q)[:4])
            change = (
                f"not reproduced needs every fall's one-sided upper bound below {margin:g}; "
                f"inconclusive, no fall with q at or below {stats.LEVEL} (the smallest is {chosen.q:.3g})"
            )
        else:
            chosen = max(tests, key=lambda t: (t.upper, t.fall))
            verdict = NOT_REPRODUCED if chosen.upper < margin else INCONCLUSIVE
            shown = (
                f"the least certain: {chosen.describe()}, one-sided upper bound {chosen.upper:.3f}"
            )
            change = (
                f"reproduced needs a fall beyond the margin that clears Benjamini-Hochberg at {stats.LEVEL}; "
                f"not reproduced every one-sided upper bound below {margin:g} (the largest is {chosen.upper:.3g})"
            )
        rows.append(
            Finding(
                EMBRYOLOGY,
                finding,
                analysis,
                f"{head}; {shown}{left}",
                verdict,
                the_rule,
                effect,
                chosen.fall,
                chosen.low,
                chosen.high,
                margin,
                change,
            )
        )
    return rows


# ---- more data, more help (Tamkin et al. 2020)


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


class LayerTest(NamedTuple):
    """A layer's benefit at the smallest and largest size, and its increase."""

    label: str
    benefit: dict  # size -> per-seed benefits
    increase: float
    p: float  # Welch one-sided, increase above the margin
    low: float
    high: float
    small: tuple  # mean, low, high of the benefit at the smallest size
    q: float = math.nan
    rejected: bool = False

    def negligible(self, margin: float) -> bool:
        _, low, high = self.small
        return math.isfinite(low) and -margin < low and high < margin


def more_data_more_help(transferability, margin: float = MARGINS["transfer"]) -> list[Finding]:
    """Do pretrained layers help more when fine-tuning data are plentiful? Per run, step, task.

    Tamkin et al. (2020, abstract): "parameters that provide tremendous performance
    improvement when data is plentiful may provide negligible benefits in data-scarce
    settings". Tested per layer (:func:`layer_contrasts`); the seeds at two sizes are
    different subsets, so the two sizes' benefits are independent samples (Welch). Rule:
    ``RULES["more_data"]``. A second, ``descriptive`` row gives the score lost by
    redrawing every layer at each size.
    """
    table = transferability
    if table.empty:
        return []
    rows = []
    claim = (
        "Parameters that help a lot when fine-tuning data are plentiful may give "
        "negligible benefits when they are scarce (abstract, Fig. 1)"
    )
    the_rule = rule("more_data", margin)
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
            increase, _, low, high = stats.larger(benefit[large], benefit[small])
            p = stats.larger(benefit[large] - margin, benefit[small])[1]
            tests.append(
                LayerTest(
                    label, benefit, increase, p, low, high, stats.mean_interval(benefit[small])
                )
            )
        effect = f"increase of a layer's benefit ({metric}), n={large} minus n={small}"
        testable = [t for t in tests if math.isfinite(t.p)]
        if not testable:
            measured = (
                f"{len(tests)} layer contrasts, none with two seeds and a spread at "
                f"both n={small} and n={large}: no interval"
            )
            rows.append(
                Finding(
                    TRANSFER, claim, scope, measured, UNTESTABLE, the_rule, effect, margin=margin
                )
            )
        else:
            adjusted, rejected = stats.bh_reject([t.p for t in testable])
            testable = [
                t._replace(q=float(q), rejected=bool(r))
                for t, q, r in zip(testable, adjusted, rejected, strict=True)
            ]
            winners = [t for t in testable if t.rejected and t.negligible(margin)]
            if winners:
                verdict = REPRODUCED
            elif all(t.high < margin for t in testable):
                verdict = NOT_REPRODUCED
            else:
                verdict = INCONCLUSIVE
            chosen = min(winners or testable, key=lambda t: (t.q, -t.increase))
            measured = f"{len(testable)} layers tested; " + "; ".join(
                _describe_layer(t, sizes) for t in sorted(testable, key=lambda t: t.q)[:4]
            )
            if verdict == INCONCLUSIVE and any(t.rejected for t in testable):
                measured += (
                    " (the benefit grows with data, but is not negligible at the smallest size)"
                )
            rows.append(
                Finding(
                    TRANSFER,
                    claim,
                    scope,
                    measured,
                    verdict,
                    the_rule,
                    effect,
                    chosen.increase,
                    chosen.low,
                    chosen.high,
                    margin,
                    would_change(chosen.low, chosen.high, margin),
                )
            )
        rows += _all_layers(group, layers, metric, scope, sizes)
    return rows


def _sized(values: dict, sizes) -> str:
    """Per training-set size, the mean of the per-seed values with its 95% t interval."""
    parts = []
    for n in sizes:
        if n in values:
            mean, low, high = stats.mean_interval(values[n])
            parts.append(f"n={n}: {mean:+.3f} {interval_text(low, high)}")
    return ", ".join(parts)


def _describe_layer(test: LayerTest, sizes) -> str:
    return (
        f"{test.label}: benefit {_sized(test.benefit, sizes)}; increase {test.increase:+.3f} "
        f"{interval_text(test.low, test.high)} (q {test.q:.3g})"
    )


def _all_layers(group, layers, metric, scope, sizes) -> list[Finding]:
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
        Finding(
            TRANSFER,
            "Score lost by redrawing every layer, at the smallest and largest training set "
            "(for reading beside the per-layer test; not the paper's claim)",
            scope,
            measured,
            DESCRIPTIVE,
            "no verdict: the loss at the largest size minus at the smallest, with its Welch 95% "
            "interval over seeds",
            f"loss at n={sizes[-1]} minus at n={sizes[0]} ({metric})",
            diff,
            low,
            high,
        )
    ]


def _layer_benefits(group, layers: int, size: str) -> dict[int, dict]:
    """{encoder layer: {seed: benefit}} at training-set ``size``: the score with the layer
    pretrained minus redrawn, from single-layer contrasts where the grid ran one for
    every layer, else from the progressive ones (:func:`layer_contrasts`)."""
    import re

    found: dict[str, dict[int, dict]] = {"single": {}, "progressive": {}}
    for label, kept, redrawn in layer_contrasts(group["reinit"].unique(), layers):
        kind = re.fullmatch(r"layer (\d+) \((single|progressive)\)", label)
        if not kind:
            continue
        rows = group[group["n"].astype(str) == size]
        a = rows[rows["reinit"] == kept].groupby("seed")["score"].mean()
        b = rows[rows["reinit"] == redrawn].groupby("seed")["score"].mean()
        seeds = sorted(set(a.index) & set(b.index))
        if seeds:
            found[kind[2]][int(kind[1])] = {s: float(a[s] - b[s]) for s in seeds}
    single = found["single"]
    return single if len(single) == layers else found["progressive"]


def _probe_and_benefits(probe, benefits: dict):
    """Per encoder layer with a probe at its output: the probe's score [L], the benefit of
    each seed all layers share [L, S], and those seeds."""
    import numpy as np

    common = sorted(set.intersection(*(set(b) for b in benefits.values())))
    kept = [layer for layer in sorted(benefits) if layer + 1 in probe.index]
    x = np.array([probe[layer + 1] for layer in kept])
    y = np.array([[benefits[layer][s] for s in common] for layer in kept])
    return x, y, common


def probing_necessity(transferability, task_probe, margin: float = MARGINS["necessity"]):
    """Is a layer's probing score what its pretrained parameters are needed for? Per run,
    step and task.

    Tamkin et al. (2020, abstract and §4, Fig. 2): "layers with high probing performance
    on downstream GLUE tasks are neither necessary nor sufficient for high accuracy on
    those tasks", read off per-layer probe accuracy beside the score lost by redrawing
    the layer (the released ``scripts/figures/make_plot.py`` draws the two side by side).
    Tested as the rank correlation over layers at the largest training set, where the
    paper finds them apart (they "align more closely" as data shrink: the smallest size's
    correlation is given in ``measured``). Unit resampled: the fine-tuning seed (it fixes
    the subset, the head and the draw for every scheme at once). Rule:
    ``RULES["necessity"]``; the claim is an absence, so "reproduced" is the interval
    below the margin.
    """
    import numpy as np
    from scipy import stats as sps

    rows = []
    if transferability.empty or task_probe.empty:
        return rows
    the_rule = rule("necessity", margin)
    claim = (
        "Layers with high probing performance are neither necessary nor sufficient "
        "for high accuracy on the task (abstract, §4, Fig. 2)"
    )
    effect = "Spearman correlation over layers: task probe score vs score lost by redrawing"
    for (run, step, task), group in transferability.groupby(["run", "step", "task"], sort=True):
        probes = task_probe[
            (task_probe["run"] == run) & (task_probe["step"] == step) & (task_probe["task"] == task)
        ]
        if probes.empty:
            continue
        probe = probes.groupby("layer")["score"].mean()
        layers = int(group["layers"].iloc[0])
        sizes = sorted({str(n) for n in group["n"]}, key=_size_key)
        scope = f"run {run} step {step}, {task}, n={sizes[-1]}"

        benefits = _layer_benefits(group, layers, sizes[-1])
        if len(benefits) < MIN_LAYERS:
            rows.append(
                Finding(
                    TRANSFER,
                    claim,
                    scope,
                    f"{len(benefits)} layer contrasts (a correlation over layers "
                    f"needs {MIN_LAYERS})",
                    UNTESTABLE,
                    the_rule,
                    effect,
                    margin=margin,
                )
            )
            continue
        x, y, seeds = _probe_and_benefits(probe, benefits)
        observed = float(sps.spearmanr(x, y.mean(1)).statistic)
        if len(seeds) < 2:
            low = high = math.nan
            why = f"{len(seeds)} seed"
        else:

            def statistic(index, x=x, y=y):
                return sps.spearmanr(x, y[:, np.asarray(index, dtype=int)].mean(1)).statistic

            res = sps.bootstrap(
                (np.arange(len(seeds)),),
                statistic,
                vectorized=False,
                method="percentile",
                n_resamples=stats.RESAMPLES,
                random_state=stats.generator("necessity", run, step, task),
            )
            low, high = (float(v) for v in res.confidence_interval)
            why = ""
        small = ""
        if len(sizes) > 1:
            b_small = _layer_benefits(group, layers, sizes[0])
            if len(b_small) >= MIN_LAYERS:
                xs, ys, _ = _probe_and_benefits(probe, b_small)
                small = f"; at n={sizes[0]} {float(sps.spearmanr(xs, ys.mean(1)).statistic):+.2f}"
        measured = (
            f"{len(x)} layers, {len(seeds)} seeds: probe score "
            + ", ".join(f"{v:.3f}" for v in x)
            + "; score lost by redrawing "
            + ", ".join(f"{v:+.3f}" for v in y.mean(1))
            + f"; Spearman {observed:+.2f} {interval_text(low, high, 2)}{small}"
        )
        if why:
            rows.append(
                Finding(
                    TRANSFER,
                    claim,
                    scope,
                    f"{measured} ({why}: no interval)",
                    UNTESTABLE,
                    the_rule,
                    effect,
                    observed,
                    margin=margin,
                )
            )
            continue
        rows.append(
            decided(
                TRANSFER,
                claim,
                scope,
                measured,
                the_rule,
                effect,
                observed,
                low,
                high,
                margin,
                below=True,
            )
        )
    return rows


def scrambling(transferability, margin: float = MARGINS["transfer"]) -> list[Finding]:
    """Does the pretrained order of the layers matter? Per run, step, task and size.

    Tamkin et al. (2020, §6, Fig. 5; ``run_scrambling.sh``): the layers kept but their
    order permuted, then fine-tuned; the paper reads the scores of permuted models
    below the pretrained order's as the layers' parameters depending on where they sit.
    Units: the pretrained order's fine-tuning seeds and the permutations (independent:
    Welch). Rule: ``RULES["scrambling"]``.
    """
    rows = []
    if transferability.empty:
        return rows
    the_rule = rule("scrambling", margin)
    claim = (
        "Permuting the pretrained layers' order costs score: where a layer sits "
        "matters (§6, Fig. 5)"
    )
    scrambled = transferability["reinit"].astype(str).str.startswith("scramble-")
    for (run, step, task, n), group in transferability[
        scrambled | (transferability["reinit"] == "none")
    ].groupby(["run", "step", "task", "n"], sort=True):
        perms = group[group["reinit"] != "none"].groupby("reinit")["score"].mean()
        kept = group.loc[group["reinit"] == "none", "score"].to_numpy(dtype=float)
        if perms.empty or not len(kept):
            continue
        metric = group["metric"].iloc[0]
        scope = f"run {run} step {step}, {task}, n={n}"
        effect = f"{metric}: pretrained order minus the mean over permuted orders"
        diff, _, low, high = stats.larger(kept, perms.to_numpy(dtype=float))
        measured = (
            f"pretrained order {_sized({'x': kept}, ['x'])[4:]} over {len(kept)} seeds; "
            f"{len(perms)} permutations {_sized({'x': perms.to_numpy()}, ['x'])[4:]}"
        )
        if not math.isfinite(low):
            rows.append(
                Finding(
                    TRANSFER,
                    claim,
                    scope,
                    measured + ": no interval",
                    UNTESTABLE,
                    the_rule,
                    effect,
                    diff,
                    margin=margin,
                )
            )
            continue
        rows.append(
            decided(TRANSFER, claim, scope, measured, the_rule, effect, diff, low, high, margin)
        )
    return rows


# ---- knowledge inheritance (Qin et al. 2021)


class Blocks(NamedTuple):
    """A run's validation curve by block: steps [K], summed loss and masked tokens [K, N]."""

    steps: object
    loss: object
    tokens: object

    def perplexity(self, weights):
        """[K, B]: each checkpoint's perplexity on each of B draws of the blocks
        (``weights`` [B, N]: how often each block is drawn)."""
        import numpy as np

        return np.exp((self.loss @ weights.T) / (self.tokens @ weights.T))


def validation_blocks(items, run) -> Blocks | None:
    """:class:`Blocks` of ``run`` from the validation items (None without them)."""
    if items is None or not len(items):
        return None
    mine = items[items["run"] == run]
    if mine.empty:
        return None
    loss = mine.pivot_table(index="step", columns="block", values="loss", aggfunc="first")
    tokens = mine.pivot_table(index="step", columns="block", values="tokens", aggfunc="first")
    if loss.isna().any().any():
        return None
    return Blocks(loss.index.to_numpy(), loss.to_numpy(float), tokens.to_numpy(float))


def savings(student: Blocks, twin: Blocks, weights):
    """[B]: the share of the twin's steps the student saves reaching the twin's final
    perplexity, on each draw of the blocks (``weights`` [B, N]); a target the student
    does not reach counts as the most its steps allow (1 - its last step / the twin's)."""
    import numpy as np

    from embryo.inheritance.comparison import reaching_step

    target = twin.perplexity(weights)[-1]
    last = float(twin.steps[-1])
    curves = student.perplexity(weights)
    out = np.empty(len(target))
    for b, goal in enumerate(target):
        reached = reaching_step(student.steps, curves[:, b], goal)
        out[b] = 1 - (student.steps[-1] if reached is None else reached) / last
    return out


def _draw(n_blocks: int, *labels):
    return stats.draws(n_blocks, stats.generator("blocks", *labels), stats.RESAMPLES)


def steps_saved(inheritance, validation, items=None, margin: float = MARGINS["steps_saved"]):
    """Does the student reach its twin's final perplexity in fewer steps? One row per student.

    Qin et al. (2021, §4, Fig. 2): "KI saves 27.3% of the computational cost" for BASE ->
    LARGE, read as the steps a student needs to reach the perplexity its twin ends at.
    The inheritance table's row of the twin's last checkpoint gives the twin's final
    perplexity and the step the student first reaches it
    (:func:`embryo.inheritance.comparison.matching_steps`); the interval resamples the
    validation blocks (``items``: per block and checkpoint, the summed loss and masked
    tokens), the unit a validation loss averages over. Rule: ``RULES["steps_saved"]``.
    """
    rows = []
    if "twin" not in inheritance:
        return rows
    the_rule = rule("steps_saved", margin)
    for student, group in inheritance.dropna(subset=["twin"]).groupby("student", sort=True):
        last = group.sort_values("twin_step").iloc[-1]
        target = float(last["twin_perplexity"])
        curve = validation[validation["run"] == student].sort_values("step")
        ppl = curve["val_perplexity"].astype(float).to_numpy()
        saving = float(last["saving"])
        measured = (
            f"twin {last['twin']} ends at perplexity {target:.2f} (step {int(last['twin_step'])}); "
            f"student {student} ends at {ppl[-1]:.2f}"
        )
        if math.isfinite(saving):
            measured += (
                f", reaches the twin's final perplexity at step "
                f"{last['student_step']:.0f}: {saving:.1%} of the steps saved"
            )
        else:
            measured += " and never reaches the twin's final perplexity"
            saving = 1 - float(curve["step"].iloc[-1]) / float(last["twin_step"])
        mine, twin = validation_blocks(items, student), validation_blocks(items, last["twin"])
        low = high = math.nan
        if mine is not None and twin is not None and mine.loss.shape[1] == twin.loss.shape[1]:
            draws = savings(mine, twin, _draw(mine.loss.shape[1], "steps_saved", student))
            low, high = stats.bounds(draws)
            measured += f"; over {mine.loss.shape[1]} validation blocks"
        else:
            measured += "; no per-block validation losses (no interval)"
        claim = (
            "A student pretrained with a smaller teacher reaches its from-scratch twin's "
            "final perplexity in fewer steps (§4)"
        )
        rows.append(
            decided(
                INHERITANCE,
                claim,
                f"student {student}, teacher {last['teacher']}",
                measured,
                the_rule,
                "share of the twin's steps saved",
                saving,
                low,
                high,
                margin,
            )
        )
    return rows


# what each study claims of its first-listed student against each other (§4.3-4.4)
STUDY_CLAIMS = {
    "size": "A larger teacher saves the student more steps (§4.3)",
    "data": "A teacher pretrained on more data of the students' domain saves more steps (§4.3, "
    "Observations 1-2)",
    "domain": "In domain adaptation, a teacher of the new domain saves more steps than one of "
    "the old (§4.4)",
    "architecture": "Teachers of one size made deeper or wider: the difference in steps saved "
    "(§4.3; described, not decided)",
}


def teacher_settings(
    inheritance, items, studies: dict, margin: float = MARGINS["teacher_settings"]
):
    """Which teacher helps more? Per study, its first student against each other.

    Qin et al. (2022, §4.3-4.4) compare students alike but for their teacher: its size,
    architecture, pretraining data and domain. ``studies``: the config's
    ``inheritance.studies`` (students in order, the setting expected to help most first).
    The difference in the share of steps saved (:func:`savings`) is resampled over
    validation blocks, one draw for every run of the study (they are scored on the same
    blocks). Rule: ``RULES["teacher_settings"]``.
    """
    import numpy as np

    rows = []
    if "twin" not in inheritance:
        return rows
    the_rule = rule("teacher_settings", margin)
    pairs = inheritance.dropna(subset=["twin"]).drop_duplicates("student").set_index("student")
    for study, students in (studies or {}).items():
        if study not in STUDY_CLAIMS or len(students) < 2:
            continue
        students = [s for s in students if s in pairs.index]
        twin = {s: pairs.loc[s, "twin"] for s in students}
        blocks = {r: validation_blocks(items, r) for s in students for r in (s, twin[s])}
        sizes = {b.loss.shape[1] for b in blocks.values() if b is not None}
        shared = None not in blocks.values() and len(sizes) == 1
        if shared:
            n_blocks = sizes.pop()
            w, ones = _draw(n_blocks, "teacher_settings", study), np.ones((1, n_blocks))
            saved = {s: savings(blocks[s], blocks[twin[s]], w) for s in students}
            observed = {s: float(savings(blocks[s], blocks[twin[s]], ones)[0]) for s in students}
        first = students[0] if students else None
        for other in students[1:]:
            scope = (
                f"{study}: {first} (teacher {pairs.loc[first, 'teacher']}) vs {other} "
                f"(teacher {pairs.loc[other, 'teacher']})"
            )
            effect = f"share of steps saved, {first} minus {other}"
            if not shared:
                rows.append(
                    Finding(
                        INHERITANCE,
                        STUDY_CLAIMS[study],
                        scope,
                        "no per-block validation losses shared by the runs",
                        UNTESTABLE,
                        the_rule,
                        effect,
                        margin=margin,
                    )
                )
                continue
            low, high = stats.bounds(saved[first] - saved[other])
            diff = observed[first] - observed[other]
            measured = (
                f"{first} saves {observed[first]:.1%}, {other} {observed[other]:.1%} of "
                f"their twins' steps (over {n_blocks} validation blocks)"
            )
            row = decided(
                INHERITANCE,
                STUDY_CLAIMS[study],
                scope,
                measured,
                the_rule,
                effect,
                diff,
                low,
                high,
                margin,
            )
            if study == "architecture":  # described, not decided
                row = row._replace(verdict=DESCRIPTIVE, would_change="")
            rows.append(row)
    return rows


def students_downstream(inheritance, downstream, items, margin: float = MARGINS["downstream"]):
    """Does a student fine-tune better than its twin? Per student and task.

    Qin et al. (2021, §4, Table 1): students that inherited knowledge score higher on
    downstream tasks than their from-scratch twins at the same step. At the last
    checkpoint both analysed, the student's dev score minus the twin's, paired by
    fine-tuning seed and dev example: the two are stacked as two "checkpoints" of one
    curve (:func:`embryo.results.stats.mean_curves` or ``metric_curves``), whose
    multibootstrap resamples seeds and examples jointly. Rule:
    ``RULES["students_downstream"]``.
    """
    import pandas as pd

    rows = []
    if "twin" not in inheritance or downstream.empty or items is None or not len(items):
        return rows
    the_rule = rule("students_downstream", margin)
    claim = "A student fine-tunes better than its from-scratch twin (§4, Table 1)"
    pairs = inheritance.dropna(subset=["twin"]).drop_duplicates("student")
    for student, twin in zip(pairs["student"], pairs["twin"], strict=True):
        for task in sorted(downstream["task"].unique()):
            a = items[(items["run"] == student) & (items["task"] == task)]
            b = items[(items["run"] == twin) & (items["task"] == task)]
            steps = sorted(set(a["step"]) & set(b["step"]))
            seeds = sorted(set(a["seed"]) & set(b["seed"]))
            if not steps or not seeds:
                continue
            step = steps[-1]
            metric = downstream.loc[downstream["task"] == task, "metric"].iloc[0]
            value = _value(metric)
            # per seed, the student as "step" 0 and the twin as 1: data [seeds, items, 2]
            frames = []
            for seed in seeds:
                f = pd.concat(
                    [
                        rows_[(rows_["step"] == step) & (rows_["seed"] == seed)].assign(step=k)
                        for k, rows_ in enumerate((a, b))
                    ]
                )
                frames.append(f.assign(correct=(f["prediction"] == f["label"]).astype(float)))
            data, _, item_ids, _ = _stack(frames, value, None)
            scope = f"student {student} vs twin {twin}, {task} ({metric}), step {step}"
            effect = f"{metric}: student minus twin"
            if data is None:
                continue
            labels = ("students_downstream", student, task)
            if metric in PER_ITEM:
                curves = stats.mean_curves(data, None, labels=labels)
            else:
                gold = frames[0].groupby("item")["label"].first().loc[item_ids].to_numpy(float)
                curves = stats.metric_curves(data, gold, metric, labels=labels)
            diff = float(curves.observed[0] - curves.observed[1])
            measured = (
                f"student {curves.observed[0]:.3f}, twin {curves.observed[1]:.3f} over "
                f"{data.shape[1]} dev examples and {len(seeds)} fine-tuning seed{'' if len(seeds) == 1 else 's'}"
            )
            if len(seeds) < 2:
                rows.append(
                    Finding(
                        INHERITANCE,
                        claim,
                        scope,
                        measured + ": one fine-tuning seed (its noise not measured)",
                        UNTESTABLE,
                        the_rule,
                        effect,
                        diff,
                        margin=margin,
                    )
                )
                continue
            low, high = stats.bounds(curves.resampled[:, 0] - curves.resampled[:, 1])
            rows.append(
                decided(
                    INHERITANCE, claim, scope, measured, the_rule, effect, diff, low, high, margin
                )
            )
    return rows


# ---- reading the items, and the whole check

# what the checks read of each analysis's per-item files
ITEM_COLUMNS = {
    "mlm_pos": ["run", "step", "item", "sentence", "upos", "mask_prediction", "reconstruction"],
    "probe": ["run", "step", "task", "layer", "item", "sentence", "label", "predicted"],
    "edge_probe": ["run", "step", "task", "layer", "item", "sentence", "label", "predicted"],
    "lama": ["run", "step", "item", "relation", "rank"],
    "downstream": [
        "run",
        "step",
        "task",
        "seed",
        "item",
        "label",
        "prediction",
        "exact_match",
        "token_f1",
    ],
    "validation": ["run", "step", "block", "loss", "tokens"],
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
        if name in ("probe", "edge_probe") and name in tables:
            filters = [("layer", "in", sorted(set(probe_layers(tables[name]).values())))]
        out[name] = read(files, ITEM_COLUMNS[name], filters)
    return out


def check(tables: dict, items: dict | None = None, settings: dict | None = None) -> list[dict]:
    """Every check whose tables (and per-item outcomes) are present, in the order of the
    studies, as rows of the findings table (dicts with :data:`COLUMNS`). ``settings``:
    the config's ``findings`` section (its margins)."""
    items = items or {}
    m = margins(settings)
    rows: list[Finding] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if "mlm_pos" in tables and "mlm_pos" in items:
            rows += pos_order(tables["mlm_pos"], items["mlm_pos"], m["pos_order"])
        rows += not_monotonic(tables, items, m)
        if "transferability" in tables:
            rows += more_data_more_help(tables["transferability"], m["transfer"])
        if "transferability" in tables:
            rows += scrambling(tables["transferability"], m["transfer"])
            if "task_probe" in tables:
                rows += probing_necessity(
                    tables["transferability"], tables["task_probe"], m["necessity"]
                )
        if "inheritance" in tables and "validation" in tables:
            blocks = items.get("validation")
            rows += steps_saved(
                tables["inheritance"], tables["validation"], blocks, m["steps_saved"]
            )
            rows += teacher_settings(
                tables["inheritance"],
                blocks,
                (settings or {}).get("studies"),
                m["teacher_settings"],
            )
            if "downstream" in tables:
                rows += students_downstream(
                    tables["inheritance"],
                    tables["downstream"],
                    items.get("downstream"),
                    m["downstream"],
                )
    return [row._asdict() for row in rows]


def to_html(table) -> str:
    """The findings table as a small self-contained HTML page (the report shows it inline)."""
    import html

    colours = {
        REPRODUCED: "#d9f2d9",
        NOT_REPRODUCED: "#f8d7d7",
        INCONCLUSIVE: "#eeeeee",
        UNTESTABLE: "#fff4d6",
        DESCRIPTIVE: "#ffffff",
    }
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
