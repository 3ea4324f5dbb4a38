"""Per-checkpoint outputs as table rows: key columns first, written atomically.

Every per-checkpoint analysis writes its rows with their keys (run, step, ...), so that a
table (:mod:`embryo.results.tables`) is the concatenation of its jobs' files. An analysis
writes its per-item outcomes (Parquet) and the summary computed from them (CSV) side by
side (:func:`write_outcomes`): the summary is never computed apart from the items.
"""

from __future__ import annotations

from embryo.runtime.atomic import atomic_path, write_parquet


def with_keys(frame, **keys):
    """``frame`` with key columns (run, step, ...) first."""
    for i, (name, value) in enumerate(keys.items()):
        frame.insert(i, name, value)
    return frame


def write_csv(frame, path) -> None:
    """Write a DataFrame as CSV, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def write_outcomes(items, summarise, output, **keys) -> None:
    """Per-item outcomes to ``output.per_item`` (Parquet), ``summarise(items)`` to
    ``output.summary`` (CSV), both with the key columns first."""
    write_parquet(output.per_item, with_keys(items, **keys))
    write_csv(with_keys(summarise(items), **keys), output.summary)
