"""Per-checkpoint outputs as table rows: key columns first, written as CSV atomically.

Every per-checkpoint analysis writes its rows with their keys (run, step, ...), so that a
table (:mod:`embryo.results.tables`) is the concatenation of its jobs' files.
"""

from __future__ import annotations

from embryo.runtime.atomic import atomic_path


def with_keys(frame, **keys):
    """``frame`` with key columns (run, step, ...) first."""
    for i, (name, value) in enumerate(keys.items()):
        frame.insert(i, name, value)
    return frame


def write_csv(frame, path) -> None:
    """Write a DataFrame as CSV, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
