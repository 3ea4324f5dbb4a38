"""LAMA exposure across runs and steps: P@1 per exposure bin with its interval.

Reads the table of :func:`embryo.embryology.exposure.exposure_table` (the
``lama_exposure`` table); kept apart from that module so that the figures, which draw
from it, do not rerun when the exposure count's code changes (only through their table).
"""

from __future__ import annotations


def bins(counts):
    """Each count's exposure bin: 0, then [2^k, 2^(k+1)) labelled by its lower end."""
    import numpy as np

    counts = np.asarray(counts)
    lower = np.zeros_like(counts)
    positive = counts > 0
    lower[positive] = 2 ** np.floor(np.log2(counts[positive])).astype(int)
    return lower


def binned(table, *, confidence: float = 0.95):
    """P@1 per run, step and exposure bin (pooled over facts): facts, right, p_at_1 and
    its Clopper-Pearson interval (``scipy.stats.binomtest``)."""
    import pandas as pd
    from scipy.stats import binomtest

    rows = []
    keys = ["run", "step", "bin"] if "run" in table else ["step", "bin"]
    for key, group in table.assign(bin=bins(table["exposure"])).groupby(keys, sort=True):
        n, k = len(group), int(group["correct"].sum())
        ci = binomtest(k, n).proportion_ci(confidence_level=confidence)
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "facts": n,
                "right": k,
                "p_at_1": k / n,
                "low": ci.low,
                "high": ci.high,
            }
        )
    return pd.DataFrame(rows)
