"""Paired tests, intervals and the false discovery rate behind the findings' verdicts.

Every checkpoint of a run is scored on the same items (words, facts, dev examples), so
the difference between two checkpoints is a *paired* difference: the test and the
interval take it item by item, not as two independent proportions. Everything here is
scipy's:

- :func:`drop_pvalues`: 0/1 outcomes, one-sided exact McNemar test of a fall (the
  binomial test on the discordant items, ``scipy.stats.binom``; for 0/1 outcomes it is
  the exact paired permutation test of the mean difference);
- :func:`metric_drop_pvalue`: a metric that is not a mean over items (Matthews
  correlation, F1, Pearson), ``scipy.stats.permutation_test`` swapping the two
  checkpoints' predictions item by item;
- :func:`seed_drop`: several fine-tuning seeds, ``scipy.stats.ttest_rel`` over seeds;
- :func:`paired_interval`: the percentile interval of ``scipy.stats.bootstrap`` over
  items resampled together at both checkpoints;
- :func:`bh_reject`: Benjamini-Hochberg (``scipy.stats.false_discovery_control``).

Resampling is seeded from what is tested (:func:`generator`), so a table gives the same
findings every time.
"""

from __future__ import annotations

import hashlib
import math

LEVEL = 0.05  # the false discovery rate of a scan, and 1 - the intervals' confidence
RESAMPLES = 4999  # bootstrap and permutation resamples
BATCH = 250  # resamples computed at once (memory: BATCH x items)


def generator(*labels):
    """A numpy Generator seeded by ``labels`` (the same test draws the same resamples)."""
    import numpy as np

    digest = hashlib.sha256("\0".join(map(str, labels)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def drop_pvalues(outcomes):
    """One-sided p-values that checkpoint j scores below checkpoint i, for every i < j.

    ``outcomes`` is a 0/1 array [items, checkpoints] (1 = right). For the pair (i, j),
    ``b`` items are right at i and wrong at j, ``c`` the reverse; under the null of no
    fall each discordant item is equally likely either way, so the exact p-value is
    ``P(Binomial(b + c, 1/2) >= b)`` (McNemar's exact test, one-sided; 1 without
    discordant items). Returns (drop [K, K], p [K, K]); ``drop[i, j]`` = mean at i - mean
    at j = (b - c) / items, and only entries with i < j are meaningful (NaN elsewhere).
    E.g. 10 items, b = 5, c = 0: drop 0.5, p = 2^-5.
    """
    import numpy as np
    from scipy import stats

    x = np.asarray(outcomes, dtype=np.int64)
    n, k = x.shape
    right_wrong = x.T @ (1 - x)  # [i, j]: right at i, wrong at j
    b, c = right_wrong, right_wrong.T
    drop = (b - c) / max(n, 1)
    p = np.where(b + c > 0, stats.binom.sf(b - 1, b + c, 0.5), 1.0)
    upper = np.triu(np.ones((k, k), dtype=bool), 1)
    return np.where(upper, drop, np.nan), np.where(upper, p, np.nan)


def metric_drop_pvalue(before, after, gold, metric: str, *, seed_labels=()) -> float:
    """One-sided permutation p-value that ``metric`` of ``after`` falls below that of ``before``.

    ``before``/``after`` are the two checkpoints' predictions on the same items
    (``gold``). Under the null the two predictions of an item are exchangeable: the test
    (``scipy.stats.permutation_test``, ``permutation_type="samples"``) swaps them item by
    item, :data:`RESAMPLES` times, and compares metric(before) - metric(after).
    """
    import numpy as np
    from scipy import stats

    from embryo.transfer.metrics import score_along

    gold = np.asarray(gold, dtype=float)

    def fall(x, y, axis=-1):
        return score_along(metric, x, gold) - score_along(metric, y, gold)

    result = stats.permutation_test(
        (np.asarray(before, dtype=float), np.asarray(after, dtype=float)),
        fall,
        permutation_type="samples",
        vectorized=True,
        n_resamples=RESAMPLES,
        batch=BATCH,
        alternative="greater",
        rng=generator("permutation", metric, *seed_labels),
    )
    return float(result.pvalue)


def seed_drop(before, after) -> tuple[float, float, float, float]:
    """(mean fall, one-sided p, 95% interval low, high) of paired per-seed scores.

    ``before[s]`` and ``after[s]`` are seed s's scores at the two checkpoints (the seed
    fixes the training subset and the new head, so the pair shares them):
    ``scipy.stats.ttest_rel`` of before - after, one-sided for a fall, and its two-sided
    Student-t interval. NaN p and interval with fewer than two seeds or no spread.
    """
    import numpy as np
    from scipy import stats

    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    diff = before - after
    mean = float(diff.mean()) if len(diff) else math.nan
    if len(diff) < 2 or np.ptp(diff) == 0:
        return mean, math.nan, math.nan, math.nan
    p = float(stats.ttest_rel(before, after, alternative="greater").pvalue)
    low, high = stats.ttest_rel(before, after).confidence_interval(1 - LEVEL)
    return mean, p, float(low), float(high)


def paired_interval(before, after, statistic=None, *, labels=()) -> tuple[float, float]:
    """95% percentile bootstrap interval of ``statistic(before, after)`` over items.

    Items are resampled with replacement and kept paired (``scipy.stats.bootstrap``,
    ``paired=True``, :data:`RESAMPLES` resamples); ``statistic(x, y, axis)`` defaults to
    the mean difference ``mean(x) - mean(y)``. (The percentile interval: BCa's jackknife
    is quadratic in the items, and these tests have tens of thousands.)
    """
    import numpy as np
    from scipy import stats

    if statistic is None:

        def statistic(x, y, axis=-1):
            return x.mean(axis=axis) - y.mean(axis=axis)

    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if len(before) < 2:
        return math.nan, math.nan
    result = stats.bootstrap(
        (before, after),
        statistic,
        paired=True,
        vectorized=True,
        n_resamples=RESAMPLES,
        batch=BATCH,
        confidence_level=1 - LEVEL,
        method="percentile",
        rng=generator("bootstrap", *labels),
    )
    low, high = result.confidence_interval
    return float(low), float(high)


def bh_reject(pvalues, level: float = LEVEL):
    """Benjamini-Hochberg: (adjusted p-values, rejected) for a family of tests.

    ``scipy.stats.false_discovery_control`` (method ``bh``); a test is rejected when its
    adjusted p-value is at most ``level``, which keeps the expected share of false
    rejections among the rejections at or below ``level`` (independent or positively
    dependent tests). An empty family rejects nothing.
    """
    import numpy as np
    from scipy import stats

    p = np.asarray(pvalues, dtype=float)
    if not len(p):
        return p, np.zeros(0, dtype=bool)
    adjusted = stats.false_discovery_control(p, method="bh")
    return adjusted, adjusted <= level


def mean_interval(values) -> tuple[float, float, float]:
    """(mean, 95% Student-t interval low, high) of ``values`` (``scipy.stats.ttest_1samp``).

    Values without spread give the mean as both bounds; fewer than two give NaN bounds.
    """
    import numpy as np
    from scipy import stats

    values = np.asarray(values, dtype=float)
    mean = float(values.mean()) if len(values) else math.nan
    if len(values) < 2:
        return mean, math.nan, math.nan
    if np.ptp(values) == 0:
        return mean, mean, mean
    low, high = stats.ttest_1samp(values, 0.0).confidence_interval(1 - LEVEL)
    return mean, float(low), float(high)


def larger(a, b) -> tuple[float, float, float, float]:
    """Is the mean of ``a`` larger than that of ``b`` (independent samples)?

    Welch's t-test (``scipy.stats.ttest_ind``, ``equal_var=False``), one-sided; returns
    (mean a - mean b, p, 95% interval low, high). NaN p and interval with fewer than two
    values on a side or without spread on both (seeds that agree exactly do not make a
    score exact).
    """
    import numpy as np
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
    if len(a) < 2 or len(b) < 2:
        return diff, math.nan, math.nan, math.nan
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return diff, math.nan, math.nan, math.nan
    p = float(stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)
    low, high = stats.ttest_ind(a, b, equal_var=False).confidence_interval(1 - LEVEL)
    return diff, p, float(low), float(high)
