"""Tidy tables: one row per measurement, across runs, steps (and layers, tags, relations).

Every per-checkpoint output carries its ``run`` and ``step`` columns, so a table is their
concatenation. Tables are written as Parquet (for analysis) and CSV (for reading).
"""

from __future__ import annotations

import json
from pathlib import Path

from embryo.atomic import atomic_path


def with_keys(frame, **keys):
    """``frame`` with key columns (run, step, ...) first."""
    for i, (name, value) in enumerate(keys.items()):
        frame.insert(i, name, value)
    return frame


def write_csv(frame, path) -> None:
    """Write a DataFrame as CSV, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


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
