"""The Embryology figures, drawn from the tidy tables (one panel row per run).

Steps are on a symmetric-log axis (linear below 1, logarithmic above), so step 0 and the
log-spaced early checkpoints are all visible, as in the Embryology paper's figures.
Every function takes a table (pandas.DataFrame) and an output path (PNG; a PDF is
written beside it).
"""

from __future__ import annotations

from embryo.plots.base import AXES, along, panels, plt, save, step_axis
from embryo.results.exposure import binned
from embryo.results.learning import MIN_FINAL_ACCURACY

UPOS_ORDER = [
    "DET",
    "ADP",
    "CCONJ",
    "PRON",
    "AUX",
    "PUNCT",
    "PART",
    "SCONJ",
    "NUM",
    "NOUN",
    "PROPN",
    "VERB",
    "ADJ",
    "ADV",
]


def validation_curves(table, path, *, axis: str = "step") -> None:
    """Validation perplexity (exp of the natural-log MLM loss) vs step (or tokens seen),
    one line per run."""
    x = along(table, axis)
    fig, axes = panels(1, 1, width=6)
    ax = axes[0, 0]
    for run, rows in table.groupby("run"):
        ax.plot(rows[x].astype(float), rows["val_perplexity"], marker="o", label=run)
    ax.set_yscale("log")
    ax.set_ylabel("validation perplexity")
    step_axis(ax, axis)
    ax.legend()
    save(fig, path)


def _part_order(part: str) -> int:
    """embeddings, layer 1, 2, ..., head: from the input up."""
    if part == "embeddings":
        return 0
    return int(part.split()[1]) if part.startswith("layer ") else 10_000


def weight_curves(table, path, *, axis: str = "step") -> None:
    """Per run, the relative distance from its first checkpoint and the norm relative to
    the first checkpoint's, per part of the model (dark: embeddings, light: head), with
    the whole model in black."""
    x = along(table, axis)
    runs = sorted(table["run"].unique())
    fig, axes = panels(len(runs), 2, width=5.5, height=3.0)
    cmap = plt().get_cmap("viridis")
    for row, run in zip(axes, runs, strict=True):
        rows = table[table["run"] == run]
        parts = sorted((p for p in rows["part"].unique() if p != "model"), key=_part_order)
        for k, part in enumerate(parts + ["model"]):
            one = rows[rows["part"] == part].sort_values("step")
            style = (
                {"color": "black", "lw": 2, "label": "whole model"}
                if part == "model"
                else {"color": cmap(k / max(len(parts) - 1, 1) * 0.9), "lw": 1.2, "label": part}
            )
            at = one[x].astype(float)
            row[0].plot(at, one["relative_distance"], marker=".", **style)
            row[1].plot(at, one["norm"] / one["reference_norm"], marker=".", **style)
        first = int(rows["reference_step"].iloc[0])
        row[0].set_ylabel(f"‖θ − θ_{first}‖ / ‖θ_{first}‖")
        row[1].set_ylabel(f"‖θ‖ / ‖θ_{first}‖")
        row[1].ticklabel_format(axis="y", useOffset=False)
        for ax in row:
            ax.set_title(run)
            step_axis(ax, axis)
        row[1].legend(fontsize=7, ncol=2)
    save(fig, path)


def pos_curves(
    table, path, *, rescaled: bool = False, tagset: str = "upos", axis: str = "step"
) -> None:
    """Accuracy per POS tag vs step, for reconstruction and mask prediction.

    With ``rescaled`` each tag's curve is divided by its value at the last step, as the
    Embryology paper's Figure 2 does, so that learning *order* is visible; tags the last
    checkpoint gets right less than 5% of the time are left out (the findings' threshold).
    """
    x = along(table, axis)
    table = table[table["tagset"] == tagset]
    runs = sorted(table["run"].unique())
    modes = ["reconstruction", "mask_prediction"]
    fig, axes = panels(len(runs), 2)
    present = set(table["tag"])
    tags = [t for t in UPOS_ORDER if t in present] if tagset == "upos" else sorted(present)
    colors = plt().get_cmap("tab20")
    for i, run in enumerate(runs):
        for j, mode in enumerate(modes):
            ax = axes[i, j]
            rows = table[(table["run"] == run) & (table["mode"] == mode)]
            for k, tag in enumerate(tags):
                curve = rows[rows["tag"] == tag].sort_values("step")
                if curve.empty:
                    continue
                y = curve["accuracy"].to_numpy()
                if rescaled:
                    if not y[-1] >= MIN_FINAL_ACCURACY:
                        continue  # a ratio to a final accuracy near zero is noise
                    y = y / y[-1]
                ax.plot(
                    curve[x].astype(float),
                    y,
                    label=tag,
                    color=colors(k % 20),
                    linewidth=1.4,
                    marker="o",
                    markersize=3,
                )
            ax.set_title(f"{run}: {mode.replace('_', ' ')}")
            ax.set_ylabel("accuracy / final accuracy" if rescaled else "accuracy")
            step_axis(ax, axis)
    axes[0, -1].legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1))
    save(fig, path)


def probe_heatmaps(table, path, *, task: str | None = None, axis: str = "step") -> None:
    """Probe accuracy and selectivity per layer (rows) and step (columns; or tokens seen):
    per run for one ``task``, or per run and task for all of them."""
    x = along(table, axis)
    if task is not None:
        table = table[table["task"] == task]
    pairs = sorted(table[["run", "task"]].drop_duplicates().itertuples(index=False))
    fig, axes = panels(len(pairs), 2, width=5.5)
    for i, (run, task) in enumerate(pairs):
        rows = table[(table["run"] == run) & (table["task"] == task)]
        for j, measure in enumerate(["accuracy", "selectivity"]):
            ax = axes[i, j]
            grid = rows.pivot_table(index="layer", columns=x, values=measure)
            image = ax.imshow(grid.to_numpy(), aspect="auto", origin="lower", cmap="viridis")
            labels = [str(s) if axis == "step" else f"{s:.3g}" for s in grid.columns]
            ax.set_xticks(range(grid.shape[1]), labels, rotation=45, fontsize=7)
            ax.set_yticks(range(grid.shape[0]), [str(layer) for layer in grid.index])
            ax.set_xlabel(AXES[axis])
            ax.set_ylabel("layer (0 = embeddings)")
            ax.set_title(f"{run}: {task} probe {measure}")
            fig.colorbar(image, ax=ax)
    save(fig, path)


def grouped_curves(
    table, path, *, group: str, value: str, ylabel: str, title: str, axis: str = "step"
) -> None:
    """A measure vs step (or tokens seen), one line per ``group`` value (e.g. LAMA relation
    type, BLiMP field)."""
    x = along(table, axis)
    runs = sorted(table["run"].unique())
    fig, axes = panels(len(runs), 1, width=6)
    for i, run in enumerate(runs):
        ax = axes[i, 0]
        rows = table[table["run"] == run]
        for name, curve in rows.groupby(group):
            curve = curve.groupby(x, as_index=False)[value].mean()
            ax.plot(curve[x].astype(float), curve[value], marker="o", label=str(name))
        ax.set_title(f"{run}: {title}")
        ax.set_ylabel(ylabel)
        step_axis(ax, axis)
        ax.legend(fontsize=8)
    save(fig, path)


#: Exposure groups of the right-hand panel (at the last checkpoint): [low, high).
EXPOSURE_GROUPS = ((0, 1), (1, 4), (4, 16), (16, None))
MIN_BIN_FACTS = 5


def _bin_label(position: int) -> str:
    """The exposure bin drawn at ``position``: 0, 1, 2-3, 4-7, ..."""
    if position < 2:
        return str(position)
    low = 2 ** (position - 1)
    return f"{low}-{2 * low - 1}"


def exposure_curves(table, path) -> None:
    """Per run: P@1 against exposure bin, one line per checkpoint (dark to light with the
    step), 95% Clopper-Pearson bars (:func:`embryo.results.exposure.binned`), bins of
    fewer than :data:`MIN_BIN_FACTS` facts left out; and the object's median rank against
    step for the facts grouped by their exposure at the run's last analysed checkpoint
    (the rank moves before P@1 does, which a small model may never reach)."""
    import numpy as np

    runs = sorted(table["run"].unique())
    if not runs:  # every fact skipped (objects of several pieces): say so, not a blank
        fig, axes = panels(1, 1, width=6, height=2)
        axes[0, 0].text(
            0.5,
            0.5,
            "no LAMA fact scored: every object is skipped\n"
            "(several pieces, or not in the common vocabulary)",
            ha="center",
            va="center",
            transform=axes[0, 0].transAxes,
        )
        axes[0, 0].set_axis_off()
        save(fig, path)
        return
    fig, axes = panels(len(runs), 2, width=5.5, height=3.4)
    cmap = plt().get_cmap("viridis")
    for row, run in zip(axes, runs, strict=True):
        rows = table[table["run"] == run]
        steps = sorted(rows["step"].unique())
        points = binned(rows)
        for k, step in enumerate(steps):
            one = points[(points["step"] == step) & (points["facts"] >= MIN_BIN_FACTS)]
            if one.empty:
                continue
            # bin 0 at 0, bin 2^k at k + 1, each step a little to the right of the last
            x = np.where(one["bin"] > 0, np.log2(one["bin"].clip(lower=1)) + 1, 0)
            x = x + (k - (len(steps) - 1) / 2) * 0.3 / max(len(steps) - 1, 1)
            row[0].errorbar(
                x,
                one["p_at_1"],
                yerr=[one["p_at_1"] - one["low"], one["high"] - one["p_at_1"]],
                color=cmap(k / max(len(steps) - 1, 1) * 0.9),
                marker="o",
                ms=3,
                lw=1.2,
                capsize=2,
                elinewidth=0.6,
                label=f"step {step}",
            )
        drawn = points[points["facts"] >= MIN_BIN_FACTS]
        final = drawn[drawn["step"] == steps[-1]].set_index("bin")["facts"]
        top = int(np.log2(max(drawn["bin"].max(), 1))) + 1 if len(drawn) else 0
        ticks = [0, *(2 ** (k - 1) for k in range(1, top + 1))]
        labels = [f"{_bin_label(k)}\n({final.get(b, 0)})" for k, b in enumerate(ticks)]
        row[0].set_xticks(range(top + 1), labels, fontsize=7)
        row[0].set_xlabel(
            f"exposure: training sequences seen with subject and object (facts at step {steps[-1]})"
        )
        row[0].set_ylabel("P@1")
        row[0].set_title(f"{run}: P@1 by exposure")
        row[0].grid(alpha=0.3)
        row[0].legend(fontsize=7, ncol=2)
        last = rows[rows["step"] == steps[-1]].set_index("item")["exposure"]
        for low, high in EXPOSURE_GROUPS:
            chosen = last[(last >= low) & ((last < high) if high else True)].index
            if len(chosen) == 0:
                continue
            curve = rows[rows["item"].isin(chosen)].groupby("step")["rank"].median()
            name = f"{low}" if high == low + 1 else f"{low}-{high - 1}" if high else f"{low}+"
            row[1].plot(
                curve.index,
                curve.to_numpy(),
                marker="o",
                label=f"exposure {name} at step {steps[-1]} ({len(chosen)} facts)",
            )
        row[1].set_yscale("log")
        row[1].set_ylabel("median rank of the object (1 = right)")
        row[1].set_title(f"{run}: rank by final exposure")
        step_axis(row[1])
        row[1].legend(fontsize=7)
    save(fig, path)


def downstream_curves(table, path, *, axis: str = "step") -> None:
    """Each task's headline dev metric vs step (or tokens seen), one panel per task, one
    line per run.

    Lines are means over seeds; with several seeds a band spans their minimum to maximum.
    """
    x = along(table, axis)
    tasks = sorted(table["task"].unique())
    fig, axes = panels(1, len(tasks), width=4.5)
    for ax, task in zip(axes[0], tasks, strict=True):
        rows = table[table["task"] == task]
        for run, curve in rows.groupby("run"):
            stats = curve.groupby(x)["score"].agg(["mean", "min", "max", "count"])
            at = stats.index.astype(float)
            ax.plot(at, stats["mean"], marker="o", label=run)
            if stats["count"].max() > 1:
                ax.fill_between(at, stats["min"], stats["max"], alpha=0.2)
        ax.set_title(f"{task} (n = {rows['n'].iloc[0]})")
        ax.set_ylabel(f"dev {rows['metric'].iloc[0]}")
        step_axis(ax, axis)
        ax.legend(fontsize=8)
    save(fig, path)
