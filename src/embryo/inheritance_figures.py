"""Figures of knowledge inheritance: student, twin and teacher side by side.

Each function takes tidy tables (pandas DataFrames) and an output path (PNG; a PDF is
written beside it); one panel per student.
"""

from __future__ import annotations

from embryo.figures import _panels, _save, _step_axis
from embryo.inheritance import alpha


def _students(inheritance):
    return inheritance.drop_duplicates("student").to_dict("records")


def validation(table, inheritance, path) -> None:
    """Validation perplexity vs step of each student, its twin and its teacher; α_t shaded."""
    import numpy as np

    students = _students(inheritance)
    fig, axes = _panels(1, len(students), width=6.5, height=4.0)
    for ax, spec in zip(axes[0], students, strict=True):
        for run, style in ((spec["student"], "-o"), (spec["twin"], "-s"), (spec["teacher"], ":^")):
            rows = table[table["run"] == run].sort_values("step")
            if run is None or rows.empty:
                continue
            role = {spec["student"]: "student", spec["teacher"]: "teacher"}.get(run, "twin")
            ax.plot(rows["step"], rows["val_perplexity"], style, ms=4, label=f"{run} ({role})")
        last = table.loc[table["run"] == spec["student"], "step"].max()
        steps = np.linspace(1, last, 200)
        weights = [alpha(int(t), schedule=spec["schedule"], alpha0=spec["alpha"],
                         kd_steps=int(spec["kd_steps"])) for t in steps]  # fmt: skip
        shade = ax.twinx()
        shade.fill_between(steps, weights, color="tab:orange", alpha=0.15, lw=0)
        shade.set_ylim(0, 1.05)
        shade.set_ylabel(
            f"α_t ({spec['schedule']}, τ = {spec['temperature']:g})", color="tab:orange"
        )
        ax.set_zorder(shade.get_zorder() + 1)
        ax.patch.set_visible(False)
        final = inheritance[inheritance["student"] == spec["student"]].sort_values("twin_step")
        if spec["twin"] is not None and not final.empty:
            head = final.iloc[-1]
            ax.axhline(head["twin_perplexity"], color="grey", lw=0.8, ls="--")
            if head["student_step"] == head["student_step"]:  # not NaN
                ax.axvline(head["student_step"], color="grey", lw=0.8, ls="--")
                ax.set_title(
                    f"{spec['student']}: the twin's final perplexity at step "
                    f"{head['student_step']:.0f} ({head['saving']:.0%} of steps saved)",
                    fontsize=9,
                )
            else:
                ax.set_title(f"{spec['student']}: never reaches its twin's final perplexity",
                             fontsize=9)  # fmt: skip
        ax.set_yscale("log")
        ax.set_ylabel("validation perplexity")
        _step_axis(ax)
        ax.legend(fontsize=8)
    _save(fig, path)


def saving(inheritance, path) -> None:
    """For each checkpoint of the twin, the steps the student needs to reach its perplexity."""
    students = [s for s in _students(inheritance) if s["twin"] is not None]
    fig, axes = _panels(1, max(len(students), 1), width=5.0, height=4.0)
    for ax, spec in zip(axes[0], students, strict=False):
        rows = inheritance[inheritance["student"] == spec["student"]].sort_values("twin_step")
        ax.plot(rows["twin_step"], rows["twin_step"], color="grey", lw=0.8, label="no saving")
        ax.plot(rows["twin_step"], rows["student_step"], "-o", ms=4, label=spec["student"])
        for x, y, s in rows[["twin_step", "student_step", "saving"]].itertuples(index=False):
            if s == s:
                ax.annotate(f"{s:.0%}", (x, y), textcoords="offset points", xytext=(4, -10),
                            fontsize=7)  # fmt: skip
        ax.set_xlabel(f"twin ({spec['twin']}) step")
        ax.set_ylabel("student step reaching the twin's perplexity")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, path)


def downstream(table, inheritance, path) -> None:
    """Fine-tuned dev score vs step of each student and its twin, one panel per task."""
    runs = {r for s in _students(inheritance) for r in (s["student"], s["twin"]) if r is not None}
    rows = table[table["run"].isin(runs)]
    tasks = sorted(rows["task"].unique())
    fig, axes = _panels(1, max(len(tasks), 1), width=5.0, height=3.6)
    for ax, task in zip(axes[0], tasks, strict=False):
        part = rows[rows["task"] == task]
        for run, group in part.groupby("run"):
            mean = group.groupby("step")["score"].mean()
            ax.plot(mean.index, mean.to_numpy(), "-o", ms=4, label=run)
        ax.set_title(task)
        ax.set_ylabel(f"dev {part['metric'].iloc[0]}")
        _step_axis(ax)
        ax.legend(fontsize=8)
    _save(fig, path)
