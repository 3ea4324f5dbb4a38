"""The papers' figures, drawn from the tidy tables (one panel row per run).

Steps are on a symmetric-log axis (linear below 1, logarithmic above), so step 0 and the
log-spaced early checkpoints are all visible, as in the Embryology paper's figures.
Every function takes a table (pandas.DataFrame) and an output path (PNG; a PDF is
written beside it).
"""

from __future__ import annotations

from pathlib import Path

from embryo.atomic import atomic_path

# a tag the last checkpoint gets right less often has no learning curve to rescale (or to
# time, in embryo.findings)
MIN_FINAL_ACCURACY = 0.05
UPOS_ORDER = ["DET", "ADP", "CCONJ", "PRON", "AUX", "PUNCT", "PART", "SCONJ", "NUM",
              "NOUN", "PROPN", "VERB", "ADJ", "ADV"]  # fmt: skip


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _step_axis(ax):
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(left=0)
    ax.set_xlabel("pretraining step")
    ax.grid(alpha=0.3)


def _save(fig, path) -> None:
    path = Path(path)
    fig.tight_layout()
    for target in (path, path.with_suffix(".pdf")):
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=target.suffix[1:], dpi=120)
    _plt().close(fig)


def _panels(n_rows: int, n_cols: int, width=5.0, height=3.4):
    plt = _plt()
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(width * n_cols, height * n_rows), squeeze=False
    )
    return fig, axes


def validation_curves(table, path) -> None:
    """Validation perplexity (exp of the natural-log MLM loss) vs step, one line per run."""
    fig, axes = _panels(1, 1, width=6)
    ax = axes[0, 0]
    for run, rows in table.groupby("run"):
        ax.plot(rows["step"], rows["val_perplexity"], marker="o", label=run)
    ax.set_yscale("log")
    ax.set_ylabel("validation perplexity")
    _step_axis(ax)
    ax.legend()
    _save(fig, path)


def pos_curves(table, path, *, rescaled: bool = False, tagset: str = "upos") -> None:
    """Accuracy per POS tag vs step, for reconstruction and mask prediction.

    With ``rescaled`` each tag's curve is divided by its value at the last step, as the
    Embryology paper's Figure 2 does, so that learning *order* is visible; tags the last
    checkpoint gets right less than 5% of the time are left out (the findings' threshold).
    """
    table = table[table["tagset"] == tagset]
    runs = sorted(table["run"].unique())
    modes = ["reconstruction", "mask_prediction"]
    fig, axes = _panels(len(runs), 2)
    present = set(table["tag"])
    tags = [t for t in UPOS_ORDER if t in present] if tagset == "upos" else sorted(present)
    colors = _plt().get_cmap("tab20")
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
                    curve["step"],
                    y,
                    label=tag,
                    color=colors(k % 20),
                    linewidth=1.4,
                    marker="o",
                    markersize=3,
                )
            ax.set_title(f"{run}: {mode.replace('_', ' ')}")
            ax.set_ylabel("accuracy / final accuracy" if rescaled else "accuracy")
            _step_axis(ax)
    axes[0, -1].legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1))
    _save(fig, path)


def probe_heatmaps(table, path, *, task: str) -> None:
    """Probe accuracy and selectivity per layer (rows) and step (columns), per run."""
    table = table[table["task"] == task]
    runs = sorted(table["run"].unique())
    fig, axes = _panels(len(runs), 2, width=5.5)
    for i, run in enumerate(runs):
        rows = table[table["run"] == run]
        for j, measure in enumerate(["accuracy", "selectivity"]):
            ax = axes[i, j]
            grid = rows.pivot_table(index="layer", columns="step", values=measure)
            image = ax.imshow(grid.to_numpy(), aspect="auto", origin="lower", cmap="viridis")
            ax.set_xticks(
                range(grid.shape[1]), [str(s) for s in grid.columns], rotation=45, fontsize=7
            )
            ax.set_yticks(range(grid.shape[0]), [str(layer) for layer in grid.index])
            ax.set_xlabel("pretraining step")
            ax.set_ylabel("layer (0 = embeddings)")
            ax.set_title(f"{run}: {task} probe {measure}")
            fig.colorbar(image, ax=ax)
    _save(fig, path)


def grouped_curves(table, path, *, group: str, value: str, ylabel: str, title: str) -> None:
    """A measure vs step, one line per ``group`` value (e.g. LAMA relation type, BLiMP field)."""
    runs = sorted(table["run"].unique())
    fig, axes = _panels(len(runs), 1, width=6)
    for i, run in enumerate(runs):
        ax = axes[i, 0]
        rows = table[table["run"] == run]
        for name, curve in rows.groupby(group):
            curve = curve.groupby("step", as_index=False)[value].mean()
            ax.plot(curve["step"], curve[value], marker="o", label=str(name))
        ax.set_title(f"{run}: {title}")
        ax.set_ylabel(ylabel)
        _step_axis(ax)
        ax.legend(fontsize=8)
    _save(fig, path)


def downstream_curves(table, path) -> None:
    """Each task's headline dev metric vs step, one panel per task, one line per run.

    Lines are means over seeds; with several seeds a band spans their minimum to maximum.
    """
    tasks = sorted(table["task"].unique())
    fig, axes = _panels(1, len(tasks), width=4.5)
    for ax, task in zip(axes[0], tasks, strict=True):
        rows = table[table["task"] == task]
        for run, curve in rows.groupby("run"):
            stats = curve.groupby("step")["score"].agg(["mean", "min", "max", "count"])
            ax.plot(stats.index, stats["mean"], marker="o", label=run)
            if stats["count"].max() > 1:
                ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2)
        ax.set_title(f"{task} (n = {rows['n'].iloc[0]})")
        ax.set_ylabel(f"dev {rows['metric'].iloc[0]}")
        _step_axis(ax)
        ax.legend(fontsize=8)
    _save(fig, path)


# figure name -> (table(s) it is drawn from, caption for the report)
FIGURES = {
    "validation": ("validation", "Validation perplexity (exp of the natural-log masked-LM loss) at every checkpoint of every trained run, one line per run; log scale, lower is better. A curve that flattens early says the later checkpoints add little to the language model itself."),
    "mlm_pos": ("mlm_pos", "Token reconstruction (left: the word left in place and asked back) and mask prediction (right: the word masked) accuracy per UPOS tag vs pretraining step, one panel row per run; a word counts only if all its pieces are right (Chiang et al. 2020, Fig. 1). Compare where each tag's curve leaves zero: Chiang et al. report that tags are learned at different speeds."),
    "mlm_pos_rescaled": ("mlm_pos", "The same curves divided by each tag's accuracy at the last step, so that the order in which parts of speech are learned is visible (Chiang et al. 2020, Fig. 2): a tag whose curve reaches 1 earlier is learned earlier. Tags the last checkpoint gets right less than 5% of the time are left out; the findings table times each tag at 90% of its final value."),
    "probe_upos": ("probe", "Linear probes for UPOS: accuracy (left) and selectivity (right: accuracy minus that of the same probe on Hewitt & Liang's control task, which maps each word type to a random tag) per layer (rows, 0 = embeddings) and pretraining step (columns), one panel row per run. Brighter is higher; high accuracy with low selectivity means the probe could memorise word identity rather than read syntax."),
    "probe_xpos": ("probe", "Linear probes for Penn XPOS tags: accuracy and selectivity per layer (rows) and step (columns), read as the UPOS probes; the finer tag set separates what the layers know beyond coarse word classes."),
    "probe_deprel": ("probe", "Edge probing for dependency relations: a linear classifier on the head's and the dependent's features of each arc, accuracy and selectivity per layer (rows) and step (columns). Selectivity near zero at every layer means the probe reads word identity, not the relation."),
    "lama": ("lama", "LAMA: precision at 1 of cloze queries (single-token objects in the model's vocabulary) vs pretraining step, averaged over the relations of each type (1-1, N-1, N-M), one panel per run. Chiang et al. report that world knowledge does not generally improve as pretraining proceeds."),
    "downstream": ("downstream", "Dev score of each checkpoint fine-tuned on each task (whole model, no reinitialisation; mean over seeds, band = min to max) vs pretraining step (Chiang et al. 2020, Fig. 5)."),
    "blimp": ("blimp", "BLiMP: the share of minimal pairs whose grammatical sentence gets the higher pseudo-log-likelihood, vs step, averaged over the paradigms of each field (morphology, syntax, semantics...), one panel per run. Chance is 0.5."),
    "transfer_progressive": ("transfer_summary", "Progressive reinitialisation (Tamkin et al. 2020, Fig. 1): dev score after fine-tuning with the embeddings and the first K layers pretrained and the rest redrawn, one line per training-set size (band: 95% t interval over seeds, clipped to the metric's range). Pretraining helps where a line rises with K; the paper found that pretrained layers help more when fine-tuning data are plentiful and may give little in data-scarce settings."),
    "transfer_layers": ("transfer_summary", "Localised reinitialisation: change of the dev score against keeping every layer, when one layer (single), a block of layers (block) is redrawn or only a block is kept (only); x is the layer (a block's centre). Below zero: the layer was worth transferring."),
    "transfer_scramble": ("transfer_summary", "Scrambling: dev score of each permutation of the pretrained layers (dots) against the pretrained order (bar), per training-set size."),
    "transfer_probing": (("task_probe", "transfer_summary"), "Task probing vs reinitialisation: a linear classifier on the frozen model's representation after layer k (line, left axis) and the score lost by redrawing that layer before fine-tuning (bars, right axis). Do the layers that probe best matter most?"),
    "transfer_crossed": ("transfer_summary", "When does each layer become worth transferring? Score lost by redrawing one layer before fine-tuning (largest training-set size), per pretraining step (x) and layer (y); red = the pretrained layer helped."),
    "ki_validation": (("validation", "inheritance"), "Knowledge inheritance (Qin et al. 2021): validation perplexity vs step of each student (pretrained with its teacher's guidance), its from-scratch twin and the teacher; the shading is the inheritance weight alpha_t (right axis); dashed: the twin's final perplexity and the step at which the student reaches it. Perplexity = exp(natural-log loss); the paper's fairseq curves are base 2."),
    "ki_saving": ("inheritance", "Steps saved by knowledge inheritance: for each checkpoint of the twin, the step at which the student first reaches the twin's perplexity there (interpolated in log perplexity between checkpoints), against the diagonal of no saving; labels: the fraction of steps saved."),
    "ki_downstream": (("downstream", "inheritance"), "Knowledge inheritance downstream: dev score of each checkpoint of the students and their twins fine-tuned on each task (mean over seeds) vs pretraining step."),
}  # fmt: skip

# transferability figures: the scheme families one of them needs in the grid
FIGURE_FAMILIES = {
    "transfer_progressive": {"progressive"},
    "transfer_layers": {"single", "block", "only"},
    "transfer_scramble": {"scramble"},
    "transfer_probing": {"single"},
    "transfer_crossed": {"single"},
}


def figure_tables(name: str) -> tuple[str, ...]:
    """The tables figure ``name`` is drawn from."""
    tables = FIGURES[name][0]
    return (tables,) if isinstance(tables, str) else tuple(tables)


def draw(name: str, tables: dict, path) -> None:
    """Draw figure ``name`` (a key of FIGURES) from its tables (name -> DataFrame)."""
    from embryo import inheritance_figures as inf
    from embryo import transfer_figures as tf

    table = tables[figure_tables(name)[0]]
    if name == "validation":
        validation_curves(table, path)
    elif name in ("mlm_pos", "mlm_pos_rescaled"):
        pos_curves(table, path, rescaled=name.endswith("rescaled"))
    elif name.startswith("probe_"):
        probe_heatmaps(table, path, task=name.removeprefix("probe_"))
    elif name == "lama":
        grouped_curves(
            table, path, group="type", value="p_at_1", ylabel="P@1", title="LAMA by relation type"
        )
    elif name == "blimp":
        grouped_curves(
            table, path, group="field", value="accuracy", ylabel="accuracy", title="BLiMP by field"
        )
    elif name == "downstream":
        downstream_curves(table, path)
    elif name == "transfer_progressive":
        tf.progressive(table, path)
    elif name == "transfer_layers":
        tf.layer_effects(table, path)
    elif name == "transfer_scramble":
        tf.scrambling(table, path)
    elif name == "transfer_probing":
        tf.probing_vs_reinit(table, tables["transfer_summary"], path)
    elif name == "transfer_crossed":
        tf.crossed(table, path)
    elif name == "ki_validation":
        inf.validation(table, tables["inheritance"], path)
    elif name == "ki_saving":
        inf.saving(table, path)
    elif name == "ki_downstream":
        inf.downstream(table, tables["inheritance"], path)
    else:
        raise KeyError(f"unknown figure {name!r}; expected one of {sorted(FIGURES)}")
