"""Aggregation of the transferability grid: means and intervals over seeds, scrambling statistics.

Tamkin et al. (2020) report each configuration's dev score as a mean over fine-tuning
seeds with an interval; here the interval is the two-sided 95% Student-t interval of the
mean, ``t(0.975, k-1) * sd / sqrt(k)`` over the k seeds (undefined for k = 1). Each row
also carries the score of scheme ``none`` at the same run, step, task and size, and the
difference (``delta``: negative when the scheme costs score).

For scrambling the paper asks whether a permutation that hurts one task hurts the others:
the Spearman rank correlation, over permutations, of the mean scores of two tasks
(their Table of scrambling correlations).
"""

from __future__ import annotations

from embryo.transfer.reinit import parse_scheme

KEYS = ["run", "step", "task", "metric", "n", "reinit"]


def _scheme_columns(reinit: str, layers: int) -> dict:
    """family, the number of pretrained layers kept, and the first/last layer a scheme names."""
    scheme = parse_scheme(reinit, layers)
    named = (
        scheme.reinit
        if scheme.family != "only"
        else tuple(i for i in range(layers) if i not in scheme.reinit)
    )
    return {
        "family": scheme.family,
        "kept_layers": layers - len(scheme.reinit),
        "first_layer": min(named) if named and scheme.family != "progressive" else None,
        "last_layer": max(named) if named and scheme.family != "progressive" else None,
    }


def ci95(values) -> float:
    """Half-width of the two-sided 95% t interval of the mean of ``values`` (NaN for one value)."""
    import math

    import numpy as np
    from scipy import stats

    values = np.asarray(values, dtype=float)
    k = len(values)
    if k < 2:
        return math.nan
    return float(stats.t.ppf(0.975, k - 1) * values.std(ddof=1) / math.sqrt(k))


def summarize(table):
    """One row per (run, step, task, n, reinit): mean, sd, ci95, seeds, none's mean, delta."""
    import pandas as pd

    table = table.assign(n=table["n"].astype(str))
    rows = []
    for key, group in table.groupby(KEYS, sort=True):
        scores = group["score"].to_numpy(dtype=float)
        layers = int(group["layers"].iloc[0])
        rows.append(
            {
                **dict(zip(KEYS, key, strict=True)),
                "layers": layers,
                **_scheme_columns(key[-1], layers),
                "mean": scores.mean(),
                "sd": scores.std(ddof=1) if len(scores) > 1 else float("nan"),
                "ci95": ci95(scores),
                "seeds": len(scores),
            }
        )
    summary = pd.DataFrame(rows)
    if summary.empty:
        return summary
    base = summary[summary["reinit"] == "none"].set_index(KEYS[:-1])["mean"]
    summary["none_mean"] = [base.get(tuple(r[k] for k in KEYS[:-1])) for _, r in summary.iterrows()]
    summary["delta"] = summary["mean"] - summary["none_mean"]
    return summary


def scramble_correlations(summary):
    """Spearman and Pearson correlations between tasks of the permutations' mean scores,
    per run, step and size, each with its two-sided p-value (scipy), as Tamkin et al.
    report both (``scripts/tables/scrambling_stats.py`` of dgiova/bert-lm-transferability)."""
    import itertools

    import pandas as pd
    from scipy import stats

    scr = summary[summary["family"] == "scramble"]
    rows = []
    for (run, step, n), group in scr.groupby(["run", "step", "n"], sort=True):
        wide = group.pivot_table(index="reinit", columns="task", values="mean")
        for a, b in itertools.combinations(sorted(wide.columns), 2):
            pair = wide[[a, b]].dropna()
            row = {"run": run, "step": step, "n": n, "task_a": a, "task_b": b}
            for name, test in (("spearman", stats.spearmanr), ("pearson", stats.pearsonr)):
                r, p = test(pair[a], pair[b]) if len(pair) > 2 else (float("nan"),) * 2
                row |= {name: float(r), f"{name}_p_value": float(p)}
            rows.append(row | {"permutations": len(pair)})
    columns = [
        "run",
        "step",
        "n",
        "task_a",
        "task_b",
        "spearman",
        "spearman_p_value",
        "pearson",
        "pearson_p_value",
        "permutations",
    ]
    return pd.DataFrame(rows, columns=columns)
