"""Downstream metrics as GLUE defines them (Wang et al. 2019, "GLUE", §3 and Table 1).

accuracy (SST-2, QNLI, RTE, ...), F1 of the positive class, label index 1 (MRPC, QQP),
Matthews correlation (CoLA), Pearson and Spearman correlation (STS-B). A correlation
is undefined when the predictions (or the gold scores) are constant, as an untrained
model's often are; it is reported as 0.0, the convention scikit-learn follows for
Matthews correlation.
"""

from __future__ import annotations

METRICS = ("accuracy", "f1", "matthews", "pearson", "spearman")


def score(name: str, predictions, gold) -> float:
    """Metric ``name`` of ``predictions`` against ``gold`` (class indices or scores)."""
    import numpy as np

    pred, gold = np.asarray(predictions), np.asarray(gold)
    if name == "accuracy":
        return float((pred == gold).mean())
    if name == "f1":
        tp = float(((pred == 1) & (gold == 1)).sum())
        fp = float(((pred == 1) & (gold != 1)).sum())
        fn = float(((pred != 1) & (gold == 1)).sum())
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    if name == "matthews":
        from sklearn.metrics import matthews_corrcoef

        return float(matthews_corrcoef(gold, pred))
    if name in ("pearson", "spearman"):
        from scipy import stats

        if np.ptp(pred) == 0 or np.ptp(gold) == 0:
            return 0.0
        fn = stats.pearsonr if name == "pearson" else stats.spearmanr
        return float(fn(pred, gold)[0])
    raise KeyError(f"unknown metric {name!r}; expected one of {METRICS}")


def score_along(name: str, predictions, gold):
    """:func:`score` of every row of ``predictions`` [..., items] against ``gold`` [items].

    The same definitions, computed along the last axis at once (the findings' permutation
    tests score thousands of resampled prediction sets). Matthews correlation of two
    classes by its formula ``(tp tn - fp fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn))``,
    0 where that is undefined; Spearman as Pearson of average ranks.
    """
    import numpy as np
    from scipy import stats

    pred = np.asarray(predictions, dtype=float)
    gold = np.broadcast_to(np.asarray(gold, dtype=float), pred.shape)
    if name == "accuracy":
        return (pred == gold).mean(-1)
    if name in ("f1", "matthews"):
        tp = ((pred == 1) & (gold == 1)).sum(-1).astype(float)
        fp = ((pred == 1) & (gold != 1)).sum(-1).astype(float)
        fn = ((pred != 1) & (gold == 1)).sum(-1).astype(float)
        if name == "f1":
            return np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=tp > 0)
        if not np.isin(np.unique(gold), (0, 1)).all() or not np.isin(np.unique(pred), (0, 1)).all():
            raise ValueError("score_along: Matthews correlation of two classes (0, 1) only")
        tn = pred.shape[-1] - tp - fp - fn
        denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        return np.divide(
            tp * tn - fp * fn, denominator, out=np.zeros_like(tp), where=denominator > 0
        )
    if name in ("pearson", "spearman"):
        if name == "spearman":
            pred, gold = stats.rankdata(pred, axis=-1), stats.rankdata(gold, axis=-1)
        x = pred - pred.mean(-1, keepdims=True)
        y = gold - gold.mean(-1, keepdims=True)
        denominator = np.sqrt((x * x).sum(-1) * (y * y).sum(-1))
        return np.divide(
            (x * y).sum(-1), denominator, out=np.zeros(pred.shape[:-1]), where=denominator > 1e-12
        )
    raise KeyError(f"unknown metric {name!r}; expected one of {METRICS}")
