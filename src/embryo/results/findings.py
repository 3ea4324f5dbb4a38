"""The three papers' headline findings, checked against the tables of this run.

Each check reads the tidy tables (name -> DataFrame) and returns rows of the findings
table: the ``study``, the paper's ``finding`` (with where it is stated), the ``scope`` it
was checked on (a run, a task), what this run ``measured`` (the numbers behind the
verdict), the ``verdict`` and the ``rule`` that gave it. The verdict is one of
``reproduced``, ``not reproduced`` or ``inconclusive`` and comes only from the rule written
here, applied to the numbers; nothing is judged by hand. A check whose tables the config
does not produce gives no row.

The rules, in short (each function's docstring has the details):

- POS learning order (Chiang et al. 2020, §4, Fig. 2: tokens of different parts of
  speech are learned at different speeds; the check asks whether function words are
  learned before content words): the step at which each tag's mask-prediction (and,
  in a row of its own, reconstruction) accuracy first reaches 90% of its final value,
  median over function-word tags against median over content-word tags.
- Not monotonic (Chiang et al. 2020, abstract, §5-§6: linguistic knowledge, world
  knowledge and downstream performance do not generally improve as pretraining
  proceeds): whether a score falls between two checkpoints by more than its noise.
- More data, more help (Tamkin et al. 2020, abstract: pretrained parameters that help a
  lot when fine-tuning data are plentiful may give little when they are scarce): the
  score lost by reinitialising every layer, at the smallest and the largest training set.
- Steps saved (Qin et al. 2021, §4: a student pretrained with a smaller teacher reaches
  its from-scratch twin's final perplexity in fewer steps): the step at which the student
  first reaches it.
"""

from __future__ import annotations

import math

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
COLUMNS = ["study", "finding", "scope", "measured", "verdict", "rule"]
# the tables the checks read
TABLES = ("mlm_pos", "probe", "lama", "downstream", "transfer_summary", "validation", "inheritance")

# Universal POS tags (UD v2): closed-class function words and open-class content words.
FUNCTION_TAGS = ("ADP", "AUX", "CCONJ", "DET", "PART", "PRON", "SCONJ")
CONTENT_TAGS = ("ADJ", "ADV", "NOUN", "PROPN", "VERB")
LEARNED_FRACTION = 0.9  # "learned": accuracy first at 90% of the final accuracy
# a tag the last checkpoint gets right less often has no learning curve to time (nor to
# rescale, in the POS figure of embryo.plots.embryology)
MIN_FINAL_ACCURACY = 0.05
MIN_TOKENS = 20  # words of a tag scored at the last checkpoint, to time it at all
MIN_TAGS = 2  # tags per group
MIN_CHECKPOINTS = 3
FLOOR = 0.02  # the least change that counts, when the noise is smaller or unknown

EMBRYOLOGY = "Embryology (Chiang et al. 2020)"
TRANSFER = "Transferability (Tamkin et al. 2020)"
INHERITANCE = "Knowledge inheritance (Qin et al. 2021)"


def _row(study, finding, scope, measured, verdict, rule) -> dict:
    return dict(zip(COLUMNS, (study, finding, scope, measured, verdict, rule), strict=True))


def binomial_noise(p: float, n: float) -> float:
    """Two standard errors of a difference of two proportions near ``p``, each of ``n`` trials.

    ``2 * sqrt(2 * p * (1 - p) / n)``, at least :data:`FLOOR`; :data:`FLOOR` when ``n`` is
    unknown. A change smaller than this is not told apart from sampling noise.
    """
    if not n or not math.isfinite(n) or not math.isfinite(p):
        return FLOOR
    p = min(max(p, 0.0), 1.0)
    return max(FLOOR, 2 * math.sqrt(2 * p * (1 - p) / n))


def learned_step(steps, accuracies, fraction: float = LEARNED_FRACTION) -> int | None:
    """The first checkpoint whose accuracy reaches ``fraction`` of the last one's.

    ``steps`` ascending. None when the last accuracy is below :data:`MIN_FINAL_ACCURACY`
    (nothing learned, so no order). E.g. steps (0, 10, 100), accuracies (0.0, 0.45, 0.5):
    90% of 0.5 is 0.45, first reached at step 10.
    """
    final = accuracies[-1]
    if not final >= MIN_FINAL_ACCURACY:
        return None
    for step, accuracy in zip(steps, accuracies, strict=True):
        if accuracy >= fraction * final:
            return int(step)
    return int(steps[-1])


def pos_order(mlm_pos) -> list[dict]:
    """Function words before content words? One row per run and mode, from ``mlm_pos``.

    Both of the paper's measures (§4, Fig. 1-2): mask prediction (the word masked) and
    reconstruction (the word left in place and asked back). Per UPOS tag with at least
    :data:`MIN_TOKENS` words at the last checkpoint: :func:`learned_step` of its accuracy
    (a word is right only if all its pieces are). Rule: with at least
    :data:`MIN_CHECKPOINTS` checkpoints and :data:`MIN_TAGS` timed tags in each group,
    ``reproduced`` if the median step of the function-word tags is below that of the
    content-word tags, ``not reproduced`` if it is above, ``inconclusive`` if they are
    equal or the data are too few.
    """
    import statistics

    rows = []
    table = mlm_pos[mlm_pos["tagset"] == "upos"]
    for (mode, run), runs in table.groupby(["mode", "run"], sort=True):
        steps = sorted(runs["step"].unique())
        last = runs[runs["step"] == steps[-1]].set_index("tag")["total"]
        timed = {}
        for tag, curve in runs.groupby("tag"):
            if tag not in FUNCTION_TAGS + CONTENT_TAGS or last.get(tag, 0) < MIN_TOKENS:
                continue
            curve = curve.sort_values("step")
            step = learned_step(curve["step"].tolist(), curve["accuracy"].tolist())
            if step is not None:
                timed[tag] = step
        function = {t: s for t, s in timed.items() if t in FUNCTION_TAGS}
        content = {t: s for t, s in timed.items() if t in CONTENT_TAGS}

        def listed(group):
            return ", ".join(f"{t} {s}" for t, s in sorted(group.items(), key=lambda x: x[1]))

        measured = (
            f"step reaching 90% of final: function words: {listed(function) or 'none learned'}"
        )
        measured += f"; content words: {listed(content) or 'none learned'}"
        if len(steps) < MIN_CHECKPOINTS or min(len(function), len(content)) < MIN_TAGS:
            verdict = INCONCLUSIVE
            measured += f" ({len(steps)} checkpoints)"
        else:
            f, c = statistics.median(function.values()), statistics.median(content.values())
            measured += f"; medians {f:g} vs {c:g}"
            verdict = REPRODUCED if f < c else NOT_REPRODUCED if f > c else INCONCLUSIVE
        rows.append(
            _row(
                EMBRYOLOGY,
                "Parts of speech are learned at different speeds: function words before "
                f"content words (§4, Fig. 2), in {mode.replace('_', ' ')}",
                f"run {run}",
                measured,
                verdict,
                f"median learned step (90% of final {mode.replace('_', ' ')} accuracy) of "
                "function-word tags below that of content-word tags; equal medians, under "
                f"{MIN_CHECKPOINTS} checkpoints or under {MIN_TAGS} tags per group: "
                "inconclusive",
            )
        )
    return rows


def largest_drop(steps, scores, noise) -> tuple[float, int, int, float]:
    """The fall of a score from a checkpoint to a later one that most exceeds its noise.

    Returns (drop, from step, to step, noise of that pair); drop <= 0 when the series
    never falls. ``noise[i]`` is the noise of ``scores[i]`` (see :func:`binomial_noise`);
    a pair's noise is that of the earlier, higher score. E.g. scores (0.2, 0.6, 0.5, 0.7)
    at steps (0, 1, 2, 3) with equal noise: a drop of 0.1, from step 1 to step 2.
    """
    best, margin = (-math.inf, steps[0], steps[0], FLOOR), -math.inf
    for i in range(len(scores)):
        for j in range(i + 1, len(scores)):
            drop = scores[i] - scores[j]
            if drop - noise[i] > margin:
                best, margin = (drop, int(steps[i]), int(steps[j]), noise[i]), drop - noise[i]
    return best


def _series(tables) -> dict[str, list[tuple[str, object]]]:
    """Per analysis, its score series: (label, DataFrame of step, score, n) per run and task."""
    series = {}
    if "probe" in tables:
        # the best layer's accuracy at each step, per run and probing task
        table = tables["probe"]
        best = table.loc[table.groupby(["run", "task", "step"])["accuracy"].idxmax()]
        series["probing"] = [
            (f"{run} {task}", rows.rename(columns={"accuracy": "score", "n_test": "n"}))
            for (run, task), rows in best.groupby(["run", "task"], sort=True)
        ]
    if "lama" in tables:
        # P@1 over all facts of the relations kept (a mean weighted by facts)
        table = tables["lama"].assign(hits=lambda t: t["p_at_1"] * t["facts"])
        sums = table.groupby(["run", "step"], as_index=False)[["hits", "facts"]].sum()
        sums = sums.assign(score=sums["hits"] / sums["facts"], n=sums["facts"])
        series["LAMA"] = [(str(run), rows) for run, rows in sums.groupby("run", sort=True)]
    if "downstream" in tables:
        table = tables["downstream"]
        means = table.groupby(["run", "task", "step"], as_index=False).agg(
            score=("score", "mean"), n=("n_dev", "first"), metric=("metric", "first")
        )
        series["downstream"] = [
            (f"{run} {task} ({rows['metric'].iloc[0]})", rows)
            for (run, task), rows in means.groupby(["run", "task"], sort=True)
        ]
    return series


def not_monotonic(tables) -> list[dict]:
    """Do probing, LAMA and downstream scores rise monotonically with steps? One row each.

    Series: the best layer's probing accuracy per run and task; LAMA P@1 over all facts
    per run; the downstream dev score (mean over seeds) per run and task. In each, the
    :func:`largest_drop` from a checkpoint to a later one, against the noise of the higher
    score, :func:`binomial_noise` with the test words, facts or dev examples (for
    Matthews correlation and F1, a proportion's noise is a rough guide). Rule: with at
    least :data:`MIN_CHECKPOINTS` checkpoints in a series, ``reproduced`` (the paper: they
    do not rise monotonically) if some series drops by more than its noise, ``not
    reproduced`` if none does, ``inconclusive`` without such a series.
    """
    rows = []
    for analysis, series in _series(tables).items():
        checked, falling, worst = 0, [], None
        for label, rows_ in series:
            rows_ = rows_.sort_values("step")
            if len(rows_) < MIN_CHECKPOINTS:
                continue
            checked += 1
            scores = rows_["score"].astype(float).tolist()
            noise = [binomial_noise(s, n) for s, n in zip(scores, rows_["n"], strict=True)]
            drop, a, b, tol = largest_drop(rows_["step"].tolist(), scores, noise)
            entry = f"{label}: " + (
                f"falls {drop:.3f} from step {a} to step {b} (noise {tol:.3f})"
                if drop > 0
                else "never falls"
            )
            if drop > tol:
                falling.append(entry)
            if worst is None or drop - tol > worst[0]:
                worst = (drop - tol, entry)
        if not checked:
            verdict, measured = INCONCLUSIVE, f"no series with {MIN_CHECKPOINTS} checkpoints"
        else:
            verdict = REPRODUCED if falling else NOT_REPRODUCED
            measured = f"{len(falling)} of {checked} series fall by more than their noise"
            measured += "; " + ("; ".join(falling[:4]) if falling else f"closest: {worst[1]}")
        rows.append(
            _row(
                EMBRYOLOGY,
                f"{analysis} scores do not rise monotonically with pretraining steps "
                "(abstract, §5-§6)",
                analysis,
                measured,
                verdict,
                "some series falls from a checkpoint to a later one by more than two standard "
                f"errors of the difference (at least {FLOOR}); none: not reproduced",
            )
        )
    return rows


def more_data_more_help(transfer_summary) -> list[dict]:
    """Is pretraining worth more with more fine-tuning data? One row per run, step and task.

    The loss of reinitialising every layer (embeddings kept: ``progressive-k0``, or any
    scheme that keeps no layer) is ``none``'s mean score minus its mean score (over
    seeds), at each training-set size. Its noise is the root sum of squares of the two 95%
    intervals, each at least :data:`FLOOR` (and :data:`FLOOR` with one seed: two seeds
    that agree do not make a score exact). Rule: ``reproduced`` if the loss at
    the largest size exceeds that at the smallest by more than the root sum of squares of
    their noises, ``not reproduced`` if it falls short by as much, else ``inconclusive``.
    """
    table = transfer_summary
    if table.empty or "kept_layers" not in table:
        return []
    rows = []
    for (run, step, task), group in table.groupby(["run", "step", "task"], sort=True):
        none = group[group["reinit"] == "none"].set_index("n")
        redrawn = group[(group["kept_layers"] == 0) & (group["reinit"] != "none")]
        redrawn = redrawn.sort_values("reinit").drop_duplicates("n").set_index("n")
        sizes = sorted(set(none.index) & set(redrawn.index), key=_size_key)
        if len(sizes) < 2:
            continue
        loss, noise = {}, {}
        for n in sizes:
            loss[n] = none.at[n, "mean"] - redrawn.at[n, "mean"]
            ci = [none.at[n, "ci95"], redrawn.at[n, "ci95"]]
            noise[n] = math.sqrt(
                sum((max(c, FLOOR) if math.isfinite(c) else FLOOR) ** 2 for c in ci)
            )
        small, large = sizes[0], sizes[-1]
        gap = loss[large] - loss[small]
        tol = math.hypot(noise[small], noise[large])
        verdict = REPRODUCED if gap > tol else NOT_REPRODUCED if gap < -tol else INCONCLUSIVE
        metric = group["metric"].iloc[0]
        measured = f"{metric} lost by reinitialising all layers: " + ", ".join(
            f"n={n}: {loss[n]:+.3f} (±{noise[n]:.3f})" for n in sizes
        )
        measured += f"; largest minus smallest {gap:+.3f} (noise {tol:.3f})"
        rows.append(
            _row(
                TRANSFER,
                "Pretrained layers help more when fine-tuning data are plentiful (abstract, "
                "Fig. 1)",
                f"run {run} step {step}, {task}",
                measured,
                verdict,
                "score lost by reinitialising every layer larger at the largest training set "
                "than at the smallest, by more than the combined 95% intervals; smaller by "
                "as much: not reproduced",
            )
        )
    return rows


def _size_key(n) -> float:
    """Training-set sizes in order: numbers, then 'full' (all of it)."""
    return math.inf if str(n) == "full" else float(n)


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
                "perplexity; only the last: inconclusive; none: not reproduced",
            )
        )
    return rows


def check(tables: dict) -> list[dict]:
    """Every check whose tables are present, in the order of the studies."""
    rows = []
    if "mlm_pos" in tables:
        rows += pos_order(tables["mlm_pos"])
    rows += not_monotonic(tables)
    if "transfer_summary" in tables:
        rows += more_data_more_help(tables["transfer_summary"])
    if "inheritance" in tables and "validation" in tables:
        rows += steps_saved(tables["inheritance"], tables["validation"])
    return rows


def to_html(table) -> str:
    """The findings table as a small self-contained HTML page (the report shows it inline)."""
    import html

    colours = {REPRODUCED: "#d9f2d9", NOT_REPRODUCED: "#f8d7d7", INCONCLUSIVE: "#eeeeee"}
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
