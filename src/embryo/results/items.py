"""Per-item outcomes: the files each analysis job writes beside its summary.

Every per-checkpoint analysis writes one row per item (word, edge, fact, minimal pair,
dev example) with its keys (run, step, ...) beside the summary it computes from them
(:func:`embryo.results.rows.write_outcomes`); the findings read them to test differences
between checkpoints item by item. :func:`read_items` gathers one analysis's files.
"""

from __future__ import annotations

from pathlib import Path

ITEMS_FILE = "items.parquet"  # inside an analysis's output directory (the probes)


def item_file(path) -> Path:
    """The per-item file of an output: the file itself, or ``items.parquet`` in a directory."""
    path = Path(path)
    return path / ITEMS_FILE if path.is_dir() else path


def read_items(paths, columns=None, filters=None):
    """Concatenate per-item files (or output directories holding one) as a DataFrame.

    ``columns`` and ``filters`` (pyarrow's ``[(column, op, value), ...]``) are applied
    while reading, so a large file costs only what is asked of it; a column a file lacks
    (an extractive QA job's ``exact_match`` beside a classifier's) is missing (NaN) in its
    rows.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    def read(path):
        path = item_file(path)
        have = None if columns is None else [c for c in columns if c in pq.read_schema(path).names]
        return pq.read_table(path, columns=have, filters=filters).to_pandas()

    frames = [read(p) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
