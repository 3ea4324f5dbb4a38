"""What every figure shares: matplotlib without a display, panels, the step axis, saving.

Steps are on a symmetric-log axis (linear below 1, logarithmic above), so step 0 and the
log-spaced early checkpoints are all visible, as in the Embryology paper's figures. With
the config's ``figures.axis: tokens`` the figures over pretraining draw against the tokens
each run had seen at its checkpoints instead (the tables' ``tokens`` column), so that
series trained with other batches or lengths share one axis; a run whose tokens are
unknown is left out of such a figure. A figure is saved as PNG and, beside it, PDF, each
atomically.
"""

from __future__ import annotations

from pathlib import Path

from embryo.runtime.atomic import atomic_path


def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


AXES = {"step": "pretraining step", "tokens": "tokens seen"}


def along(table, axis: str = "step") -> str:
    """The column a figure draws against: ``axis`` (``step`` or ``tokens``), its rows with
    no value there (tokens unknown) dropped by the caller's plotting (NaN)."""
    if axis not in AXES:
        raise ValueError(f"figure axis {axis!r}: expected one of {list(AXES)}")
    if axis not in table.columns:
        raise ValueError(f"figure axis {axis!r}: the table has no {axis} column")
    return axis


def step_axis(ax, axis: str = "step"):
    """The x axis of a figure over training: symmetric-log, linear up to the first step
    (1) or, for tokens, up to the fewest tokens a plotted checkpoint past 0 had seen."""
    import numpy as np

    linthresh = 1.0
    if axis == "tokens":
        xs = [np.asarray(line.get_xdata(), dtype=float) for line in ax.get_lines()]
        positive = np.concatenate(xs + [np.array([])])
        positive = positive[np.isfinite(positive) & (positive > 0)]
        linthresh = float(positive.min()) if positive.size else 1.0
    ax.set_xscale("symlog", linthresh=linthresh)
    ax.set_xlim(left=0)
    ax.set_xlabel(AXES[axis])
    ax.grid(alpha=0.3)


def save(fig, path) -> None:
    path = Path(path)
    fig.tight_layout()
    for target in (path, path.with_suffix(".pdf")):
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=target.suffix[1:], dpi=120)
    plt().close(fig)


def panels(n_rows: int, n_cols: int, width=5.0, height=3.4):
    fig, axes = plt().subplots(
        n_rows, n_cols, figsize=(width * n_cols, height * n_rows), squeeze=False
    )
    return fig, axes


def draw(function: str, tables: list, path, options: dict) -> None:
    """Draw with ``function`` (``module:function``, as :mod:`embryo.registry` names it)
    from ``tables`` (DataFrames, in the figure's order) into ``path``."""
    import importlib

    module, name = function.split(":")
    getattr(importlib.import_module(module), name)(*tables, path, **options)
