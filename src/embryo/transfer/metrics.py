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
