"""The statistics behind the findings' verdicts: resampling, intervals, the false discovery rate.

Every checkpoint of a run is scored on the same items (words, facts, dev examples), so the
difference between two checkpoints is a *paired* difference, and items come in clusters
that are not independent (a sentence's words, a relation's facts, a paradigm's pairs).
The resampling draws what the data come in:

- :func:`mean_curves`: a mean score at every checkpoint and its bootstrap, clusters of
  items resampled whole, and, with pretraining replicates or a suite's seeds, the
  replicates resampled jointly with them (the multibootstrap of Sellam et al. 2022);
- :func:`metric_curves`: a metric that is not a mean over examples (Matthews correlation,
  F1, Pearson), computed whole on each bootstrap resample of the dev examples (and
  replicates);
- :func:`bounds`: a percentile interval read off the resamples;
- :func:`bh_reject`: Benjamini-Hochberg (``scipy.stats.false_discovery_control``);
- :func:`mean_interval`, :func:`larger`: Student-t intervals and Welch's test over seeds
  (``scipy.stats.ttest_1samp``, ``ttest_ind``), where the seed is the unit (the
  transferability grid's fine-tuning subsets).

Resampling is seeded from what is tested (:func:`generator`), so a table gives the same
findings every time.
"""

from __future__ import annotations

import hashlib
import math
from typing import NamedTuple

LEVEL = 0.05  # the false discovery rate of a scan, and 1 - the intervals' confidence
RESAMPLES = 4999  # bootstrap and permutation resamples
BATCH = 250  # resamples computed at once (memory: BATCH x items)


def generator(*labels):
    """A numpy Generator seeded by ``labels`` (the same test draws the same resamples)."""
    import numpy as np

    digest = hashlib.sha256("\0".join(map(str, labels)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


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


# ---- resampling that matches the data: clusters, replicates (the multibootstrap)


class Curves(NamedTuple):
    """A score at each of K checkpoints: ``observed`` [K] and ``resampled`` [B, K], the
    same score on each of B resamples of the units the data come in (:func:`mean_curves`,
    :func:`metric_curves`)."""

    observed: object
    resampled: object


def draws(n_units: int, rng, size: int):
    """Multinomial counts [size, n_units]: how often each unit is drawn in each of ``size``
    resamples of ``n_units`` units with replacement."""
    import numpy as np

    return rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=size).astype(float)


def mean_curves(outcomes, clusters=None, *, labels=(), resamples: int = RESAMPLES) -> Curves:
    """The mean of per-item scores at each checkpoint, and its cluster bootstrap.

    ``outcomes`` [R, N, K]: each of R replicates' score of each of N items at each of K
    checkpoints (0/1 outcomes, or any per-item score); R = 1 for a single run. ``clusters``
    [N]: the cluster of each item (a sentence's words, a paradigm's pairs), resampled
    whole, since items of one cluster are not independent; None: each item its own. The
    observed curve is the mean over replicates of the mean over items. A resample draws
    the clusters with replacement and, with R > 1, the replicates with replacement, both
    at once: the multibootstrap of Sellam et al. (2022, "The MultiBERTs", §3: seeds and
    examples resampled jointly, so that an interval holds both the pretraining's and the
    test set's variation); its score is the mean over the drawn replicates of each one's
    ratio of drawn item scores to drawn items (clusters of unequal sizes). Seeded from
    ``labels`` (:func:`generator`).
    """
    import numpy as np

    x = np.asarray(outcomes, dtype=float)
    if x.ndim == 2:
        x = x[None]
    r, n, k = x.shape
    ids = (
        np.arange(n)
        if clusters is None
        else np.unique(np.asarray(clusters), return_inverse=True)[1]
    )
    c = int(ids.max()) + 1 if n else 0
    sums = np.zeros((r, c, k))
    for rep in range(r):
        np.add.at(sums[rep], ids, x[rep])
    sizes = np.bincount(ids, minlength=c).astype(float)
    observed = (x.mean(1)).mean(0)
    rng = generator("clusters", *labels)
    out = np.empty((resamples, k))
    for start in range(0, resamples, BATCH):
        b = min(BATCH, resamples - start)
        w = draws(c, rng, b)  # [b, C]
        per_rep = np.einsum("bc,rck->brk", w, sums) / (w @ sizes)[:, None, None]
        v = draws(r, rng, b) if r > 1 else np.ones((b, 1))
        out[start : start + b] = np.einsum("br,brk->bk", v, per_rep) / r
    return Curves(observed, out)


def metric_curves(
    predictions, gold, metric: str, *, labels=(), resamples: int = RESAMPLES
) -> Curves:
    """``metric`` of predictions at each checkpoint, and its bootstrap over examples.

    ``predictions`` [R, N, K] (R replicates or fine-tuning seeds, N dev examples, K
    checkpoints) against ``gold`` [N]: a metric that is not a mean over examples
    (Matthews correlation, F1, Pearson, Spearman) is computed whole on each resample of
    the examples (each its own unit: dev examples are independent), with R > 1 the units
    resampled jointly with the examples (the multibootstrap, :func:`mean_curves`).
    """
    import numpy as np

    from embryo.transfer.metrics import score_along

    x = np.asarray(predictions, dtype=float)
    if x.ndim == 2:
        x = x[None]
    r, n, k = x.shape
    gold = np.asarray(gold, dtype=float)
    observed = np.mean([score_along(metric, x[rep].T, gold) for rep in range(r)], 0)
    rng = generator("examples", metric, *labels)
    out = np.empty((resamples, k))
    chunk = max(1, BATCH // max(1, r))
    for start in range(0, resamples, chunk):
        b = min(chunk, resamples - start)
        index = rng.integers(0, n, size=(b, n))
        g = gold[index]  # [b, N]
        scores = np.stack(
            [
                np.stack([score_along(metric, x[rep][index, step], g) for step in range(k)], -1)
                for rep in range(r)
            ],
            1,
        )  # [b, R, K]
        v = draws(r, rng, b) if r > 1 else np.ones((b, 1))
        out[start : start + b] = np.einsum("br,brk->bk", v, scores) / r
    return Curves(observed, out)


def bounds(resampled, level: float = LEVEL) -> tuple[float, float]:
    """The two-sided (1 - level) percentile interval of resampled effects."""
    import numpy as np

    low, high = np.quantile(np.asarray(resampled, dtype=float), [level / 2, 1 - level / 2])
    return float(low), float(high)
