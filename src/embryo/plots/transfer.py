"""Figures of the transferability grid (Tamkin et al. 2020), drawn from ``transfer_summary``.

Panels are laid out with one row per (run, pretraining step) and one column per task;
scores are means over seeds with their 95% t interval (see :mod:`embryo.transfer.summary`),
drawn clipped to the range the metric can take: with two seeds the interval is
±12.7 sd and would otherwise stretch an accuracy axis far beyond [0, 1].
"""

from __future__ import annotations

import math

from embryo.plots.base import panels, plt, save

MARKERS = {"single": "o", "block": "s", "only": "^"}
# metrics that can be negative; every other metric lies in [0, 1]
SIGNED = {"pearson", "spearman", "matthews"}


def interval(rows, difference: bool = False):
    """Lower and upper ends of the 95% interval of the rows' mean score (of their
    difference to ``none`` if ``difference``), the score clipped to the metric's range."""
    import numpy as np

    low, high = (-1.0, 1.0) if rows["metric"].iloc[0] in SIGNED else (0.0, 1.0)
    mean = rows["mean"].to_numpy(dtype=float)
    half = rows["ci95"].fillna(0).to_numpy(dtype=float)
    shift = rows["none_mean"].to_numpy(dtype=float) if difference else 0.0
    return np.clip(mean - half, low, high) - shift, np.clip(mean + half, low, high) - shift


def _yerr(rows, sign: float = 1.0):
    """Error bars of ``sign`` x (score - none) with the clipped interval, as matplotlib's
    asymmetric ``yerr``."""
    low, high = interval(rows, difference=True)
    if sign < 0:
        low, high = -high, -low
    center = sign * rows["delta"].to_numpy(dtype=float)
    return [center - low, high - center]


def size_order(sizes) -> list[str]:
    """Training-set sizes as strings, numeric order, ``full`` last."""
    return sorted({str(s) for s in sizes}, key=lambda s: math.inf if s == "full" else int(s))


def _label(n: str) -> str:
    return "all examples" if n == "full" else f"n = {n}"


def _grid(summary):
    """(run, step) row keys and task column keys of a summary."""
    rows = sorted({(r, int(s)) for r, s in zip(summary["run"], summary["step"], strict=True)})
    return rows, sorted(summary["task"].unique())


def _axis_label(ax, rows, metric_column="metric") -> None:
    ax.set_ylabel(f"dev {rows[metric_column].iloc[0]}")
    ax.grid(alpha=0.3)


def panels_of(data, width=4.2):
    """One panel per (run, step) row and task column: yields the figure, then
    (axis, (run, step, task), that panel's rows of ``data``) for each panel, titled."""
    keys, tasks = _grid(data)
    fig, axes = panels(len(keys), len(tasks), width=width, height=3.2)
    yield fig
    for i, (run, step) in enumerate(keys):
        for j, task in enumerate(tasks):
            rows = data[(data["run"] == run) & (data["step"] == step) & (data["task"] == task)]
            axes[i, j].set_title(f"{run} @ step {step}: {task}", fontsize=10)
            yield axes[i, j], (run, step, task), rows


def progressive(summary, path) -> None:
    """Score vs number of pretrained layers kept (progressive reinitialisation), one line per size."""
    data = summary[summary["family"].isin(["progressive", "none"])]
    panels = panels_of(data)
    fig = next(panels)
    colors = plt().get_cmap("viridis")
    for ax, _, rows in panels:
        sizes = size_order(rows["n"])
        for k, n in enumerate(sizes):
            line = rows[rows["n"] == n].sort_values("kept_layers")
            color = colors(k / max(len(sizes) - 1, 1) * 0.85)
            ax.plot(line["kept_layers"], line["mean"], marker="o", color=color, label=_label(n))
            ax.fill_between(line["kept_layers"], *interval(line), color=color, alpha=0.2)
        layers = int(rows["layers"].iloc[0]) if len(rows) else 0
        ax.set_xticks(range(layers + 1))
        ax.set_xlabel("pretrained layers kept (K)")
        _axis_label(ax, rows)
        ax.legend(fontsize=7)
    save(fig, path)


def layer_effects(summary, path) -> None:
    """Score change vs none when layers are redrawn (single, block) or alone kept (only)."""
    data = summary[summary["family"].isin(list(MARKERS))]
    panels = panels_of(data)
    fig = next(panels)
    colors = plt().get_cmap("viridis")
    for ax, _, rows in panels:
        sizes = size_order(rows["n"])
        for family, marker in MARKERS.items():
            for k, n in enumerate(sizes):
                line = rows[(rows["family"] == family) & (rows["n"] == n)]
                if line.empty:
                    continue
                x = (line["first_layer"] + line["last_layer"]) / 2
                ax.errorbar(
                    x,
                    line["delta"],
                    yerr=_yerr(line),
                    marker=marker,
                    capsize=3,
                    color=colors(k / max(len(sizes) - 1, 1) * 0.85),
                    label=f"{family}, {_label(n)}",
                )
        ax.axhline(0, color="black", linewidth=0.8)
        layers = int(rows["layers"].iloc[0]) if len(rows) else 0
        ax.set_xticks(range(layers))
        ax.set_xlabel("layer (block/only: window centre)")
        ax.set_ylabel(f"dev {rows['metric'].iloc[0]} - none" if len(rows) else "")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    save(fig, path)


def scrambling(summary, path) -> None:
    """Mean score of every layer permutation (dots) against none (bar), per size."""
    data = summary[summary["family"].isin(["scramble", "none"])]
    panels = panels_of(data)
    fig = next(panels)
    for ax, _, rows in panels:
        sizes = size_order(rows["n"])
        for x, n in enumerate(sizes):
            perms = rows[(rows["n"] == n) & (rows["family"] == "scramble")]["mean"].to_numpy()
            jitter = [(k % 5 - 2) * 0.06 for k in range(len(perms))]
            ax.scatter(
                [x + d for d in jitter],
                perms,
                s=18,
                color="tab:blue",
                label="permutations" if x == 0 else None,
            )
            base = rows[(rows["n"] == n) & (rows["family"] == "none")]["mean"]
            if len(base):
                ax.hlines(
                    base.iloc[0],
                    x - 0.3,
                    x + 0.3,
                    color="tab:red",
                    linewidth=2,
                    label="none (pretrained order)" if x == 0 else None,
                )
        ax.set_xticks(range(len(sizes)), [_label(n) for n in sizes], fontsize=8)
        ax.set_xlim(-0.5, len(sizes) - 0.5)
        _axis_label(ax, rows)
        low, high = ax.get_ylim()  # head-room so the legend covers no point
        ax.set_ylim(low, high + 0.3 * (high - low))
        ax.legend(fontsize=7, loc="upper center", ncol=2)
    save(fig, path)


def probing_vs_reinit(probe, summary, path) -> None:
    """Task-probing score after layer k (line) next to the cost of redrawing layer k (bars).

    Layer k's output is the probe at x = k (0 = embeddings); redrawing encoder layer l
    (single-l) changes the output from x = l + 1 on, so its bar sits at x = l + 1. The
    bars use the largest training-set size of the grid.
    """
    single = summary[summary["family"] == "single"]
    panels = panels_of(probe, width=4.4)
    fig = next(panels)
    for ax, (run, step, task), rows in panels:
        rows = rows.sort_values("layer")
        ax.plot(rows["layer"], rows["score"], marker="o", color="tab:green", label="probe")
        ax.set_xlabel("layer k (0 = embeddings)")
        ax.set_ylabel(f"probe dev {rows['metric'].iloc[0]}", color="tab:green")
        ax.set_xticks(rows["layer"].tolist())
        bars = single[(single["run"] == run) & (single["step"] == step) & (single["task"] == task)]
        if len(bars):
            n = size_order(bars["n"])[-1]
            bars = bars[bars["n"] == n]
            twin = ax.twinx()
            twin.bar(
                bars["first_layer"] + 1,
                -bars["delta"],
                width=0.5,
                alpha=0.5,
                color="tab:purple",
                yerr=_yerr(bars, -1.0),
                capsize=3,
                error_kw={"ecolor": "dimgray", "elinewidth": 1},
            )
            twin.axhline(0, color="tab:purple", linewidth=0.6)
            twin.set_ylabel(f"score lost by redrawing it ({_label(n)})", color="tab:purple")
        ax.grid(alpha=0.3)
    save(fig, path)


def crossed(summary, path) -> None:
    """Score lost by redrawing each layer (single-l, largest size) per pretraining step."""
    data = summary[summary["family"] == "single"]
    runs, tasks = sorted(data["run"].unique()), sorted(data["task"].unique())
    fig, axes = panels(len(runs), len(tasks), width=4.4, height=3.2)
    for i, run in enumerate(runs):
        for j, task in enumerate(tasks):
            ax = axes[i, j]
            rows = data[(data["run"] == run) & (data["task"] == task)]
            n = size_order(rows["n"])[-1]
            grid = rows[rows["n"] == n].pivot_table(
                index="first_layer", columns="step", values="delta"
            )
            lost = -grid.to_numpy()
            bound = max(abs(float(lost.min())), abs(float(lost.max())), 1e-6)
            image = ax.imshow(
                lost, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-bound, vmax=bound
            )
            for (y, x), value in _enumerate(lost):
                dark = abs(value) > 0.6 * bound  # white on the saturated ends of RdBu
                ax.text(
                    x,
                    y,
                    f"{value:+.2f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if dark else "black",
                )
            ax.set_xticks(range(grid.shape[1]), [str(s) for s in grid.columns], fontsize=8)
            ax.set_yticks(range(grid.shape[0]), [str(int(v)) for v in grid.index])
            ax.set_xlabel("pretraining step")
            ax.set_ylabel("layer redrawn")
            ax.set_title(f"{run}: {task}, {_label(n)}", fontsize=10)
            fig.colorbar(image, ax=ax, label=f"{rows['metric'].iloc[0]} lost")
    save(fig, path)


def _enumerate(array):
    import numpy as np

    return [(idx, v) for idx, v in np.ndenumerate(array) if not math.isnan(v)]
