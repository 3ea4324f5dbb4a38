"""Tidy tables: one row per measurement, across runs, steps (and layers, tags, relations).

Every per-checkpoint output carries its ``run`` and ``step`` columns, so a table is their
concatenation. Tables are written as Parquet (for analysis) and CSV (for reading).
"""

from __future__ import annotations

import json
from pathlib import Path

from embryo.results.rows import write_csv
from embryo.runtime.atomic import atomic_path


def flat_row(record: dict) -> dict:
    """A JSON record as one table row: nested dicts spread into columns, lists dropped."""
    row = {}
    for key, value in record.items():
        if isinstance(value, dict):
            row.update(flat_row(value))
        elif not isinstance(value, list):
            row[key] = value
    return row


def collect(paths):
    """Concatenate per-checkpoint outputs: CSV files, JSON records, or directories of JSON records."""
    import pandas as pd

    frames = []
    for path in map(Path, paths):
        if path.is_dir() or path.suffix == ".json":
            files = sorted(path.glob("*.json")) if path.is_dir() else [path]
            frames.append(pd.DataFrame([flat_row(json.loads(p.read_text())) for p in files]))
        else:
            frames.append(pd.read_csv(path))
    return sort_rows(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())


def sort_rows(table):
    """``table`` sorted by the key columns it has (run, step, task, n, reinit, seed, layer)."""
    keys = [
        k for k in ("run", "step", "task", "n", "reinit", "seed", "layer") if k in table.columns
    ]
    return table.sort_values(keys, kind="stable", ignore_index=True) if keys else table


def write_table(table, csv_path, parquet_path) -> None:
    """Write one table as CSV and Parquet, atomically."""
    write_csv(table, csv_path)
    with atomic_path(parquet_path) as tmp:
        table.to_parquet(tmp, index=False)


def on_grid(table, grid: dict):
    """A table of fine-tuning jobs as the grid's rows: for each run and scheme, its job's
    rows at the scheme's points (task, training-set size, seed).

    ``grid`` is {run: {scheme: [job's scheme, [[task, n, seed], ...]]}}: a scheme that
    builds another's model (:func:`embryo.transfer.reinit.same_model`) has that job's rows,
    with the job's scheme in ``same_as`` (empty for rows of its own), and a job run for one
    experiment's points is no row of another that did not ask for them. An empty grid
    leaves the table as it is.
    """
    if not grid:
        return table
    import pandas as pd

    point = table[["task", "n", "seed"]].astype(str).agg("/".join, axis=1)
    parts = [
        table[
            (table["run"] == run)
            & (table["reinit"] == job)
            & point.isin({"/".join(map(str, p)) for p in points})
        ].assign(reinit=scheme, same_as=None if job == scheme else job)
        for run, schemes in grid.items()
        for scheme, (job, points) in schemes.items()
    ]
    return sort_rows(pd.concat(parts, ignore_index=True))


def with_replicates(table, replicates: dict):
    """``table`` with ``series`` and ``replicate`` after its ``run`` column.

    ``replicates`` is {run: (series, replicate seed)} (:func:`embryo.config.runs.replicates`):
    the run a pretraining replicate repeats, and which replicate it is, so that a table
    groups replicates by series. A table without runs is returned as it is.
    """
    if "run" not in table.columns or table.empty:
        return table
    at = list(table.columns).index("run") + 1
    table = table.copy()
    table.insert(at, "series", [replicates.get(r, (r, None))[0] for r in table["run"]])
    table.insert(at + 1, "replicate", [replicates.get(r, (r, None))[1] for r in table["run"]])
    table["replicate"] = table["replicate"].astype("Int64")
    return table


def with_tokens(table, tokens: dict):
    """``table`` with ``tokens`` after its ``step`` column: the tokens the run's training had
    seen at that checkpoint (:func:`embryo.config.runs.tokens_seen`: {run: {step: tokens}};
    missing where unknown, as for an imported series without ``tokens_per_step``), so that
    series trained with other batches or lengths share one axis. A table without runs and
    steps is returned as it is."""
    if not {"run", "step"} <= set(table.columns) or table.empty:
        return table
    table = table.copy()
    seen = [tokens.get(r, {}).get(int(s)) for r, s in zip(table["run"], table["step"], strict=True)]
    table.insert(list(table.columns).index("step") + 1, "tokens", seen)
    table["tokens"] = table["tokens"].astype("Int64")
    return table
