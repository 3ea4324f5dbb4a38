"""Every per-checkpoint summary recomputed from its per-item file: one source of truth, checked.

``python -m embryo.results.verify results`` prints what differs (or that nothing does).
"""

from __future__ import annotations

from pathlib import Path

from embryo.results.items import ITEMS_FILE


def check_summaries(results) -> tuple[int, list[str]]:
    """Recompute every per-checkpoint summary under ``results`` from its per-item file.

    mlm_pos, LAMA and BLiMP summaries (CSV) against their ``*.items.parquet``, each probe
    layer's accuracy, control accuracy and selectivity against ``items.parquet`` in its
    folder, each fine-tuning job's metrics against its ``predictions.parquet``. Returns
    (outputs checked, problems: one line per output that differs or lacks its items).
    ``python -m embryo.results.verify results`` prints them.
    """
    import json
    import math

    import pandas as pd

    from embryo.embryology import blimp, lama, mlm_pos, probing

    results, keys = Path(results), ["run", "step"]
    checked, problems = 0, []

    def close(a, b) -> bool:
        if isinstance(a, float) or isinstance(b, float):
            return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, abs_tol=1e-9)
        return a == b

    for name, module in (("mlm_pos", mlm_pos), ("lama", lama), ("blimp", blimp)):
        for path in sorted(results.glob(f"*/step-*/{name}.csv")):
            checked += 1
            items = path.with_suffix(".items.parquet")
            if not items.is_file():
                problems.append(f"{path}: no per-item file {items.name}")
                continue
            again = module.summarise(pd.read_parquet(items).drop(columns=keys))
            summary = pd.read_csv(path).drop(columns=keys)
            try:
                pd.testing.assert_frame_equal(summary, again, check_dtype=False)
            except AssertionError as err:
                problems.append(f"{path}: differs from {items.name}: {err}")
    for folder in sorted(results.glob("*/step-*/probe/*")):
        checked += 1
        layers = [json.loads(p.read_text()) for p in sorted(folder.glob("layer-*.json"))]
        if not (folder / ITEMS_FILE).is_file() or not layers:
            problems.append(f"{folder}: no {ITEMS_FILE} or no layer files")
            continue
        again = {
            r["layer"]: r
            for r in probing.summarise(pd.read_parquet(folder / ITEMS_FILE), layers[0])
        }
        for row in layers:
            other = again.get(row["layer"], {})
            wrong = [
                k
                for k in ("accuracy", "control_accuracy", "selectivity", "n_test")
                if k not in other or not close(row[k], other[k])
            ]
            if wrong:
                problems.append(f"{folder}/layer-{row['layer']}.json: {', '.join(wrong)} differ")
    for path in sorted(results.glob("*/step-*/finetune/*/n-*/*/seed-*/metrics.json")):
        checked += 1
        predictions = path.with_name("predictions.parquet")
        if not predictions.is_file():
            problems.append(f"{path}: no predictions.parquet")
            continue
        metrics, items = json.loads(path.read_text()), pd.read_parquet(predictions)
        wrong = [m for m, v in metrics["metrics"].items() if not close(_metric(items, m), v)]
        if wrong or len(items) != metrics["n_dev"]:
            problems.append(f"{path}: {', '.join(wrong) or 'n_dev'} differ from {predictions.name}")
    return checked, problems


def _metric(items, name: str) -> float:
    """A fine-tuning job's metric from its per-example file: an extractive QA job's is the
    mean of each question's score, a classifier's computed from its predictions."""
    from embryo.transfer.metrics import score

    if name in items:
        return float(items[name].mean())
    return score(name, items["prediction"], items["label"])


if __name__ == "__main__":
    import sys

    n, found = check_summaries(sys.argv[1] if len(sys.argv) > 1 else "results")
    print("\n".join(found) or f"{n} summaries equal those computed from their per-item files")
    sys.exit(1 if found or not n else 0)
