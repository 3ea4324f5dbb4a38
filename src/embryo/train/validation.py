"""A run's validation curve: one row per checkpoint, from its segments' metrics."""

from __future__ import annotations

import json
from pathlib import Path

from embryo.runtime.atomic import write_text


def validation_table(segment_dirs, out_csv, *, run: str) -> None:
    """One row per checkpoint: the run's validation loss and perplexity curve, as CSV."""
    import pandas as pd

    rows = [
        {"run": run, **json.loads((Path(d) / "metrics.json").read_text())} for d in segment_dirs
    ]
    table = pd.DataFrame(rows).sort_values("step")
    write_text(out_csv, table.to_csv(index=False))
