"""Figures of knowledge inheritance: student, twin and teacher side by side.

Each function takes tidy tables (pandas DataFrames) and an output path (PNG; a PDF is
written beside it); one panel per student.
"""

from __future__ import annotations

from embryo.plots.base import panels, plt, save, step_axis
from embryo.train.distillation import alpha


def _students(inheritance):
    return inheritance.drop_duplicates("student").to_dict("records")


def validation(table, inheritance, path) -> None:
    """Validation perplexity vs step of each student, its twin and its teacher; α_t shaded.

    A linear step axis over the student's steps (the teacher's curve within it, and the
    perplexity of the teacher checkpoint used as a dotted line); the log y axis spans the
    student's and twin's checkpoints after step 0 and the teacher used (the perplexity of
    a random initialisation, about the vocabulary size, would flatten everything else).
    """
    import numpy as np
    from matplotlib.ticker import ScalarFormatter

    students = _students(inheritance)
    fig, axes = panels(1, len(students), width=6.5, height=4.0)
    for ax, spec in zip(axes[0], students, strict=True):
        last = table.loc[table["run"] == spec["student"], "step"].max()
        shown = []
        for run, style in ((spec["student"], "-o"), (spec["twin"], "-s"), (spec["teacher"], ":^")):
            rows = table[(table["run"] == run) & (table["step"] <= last)].sort_values("step")
            if run is None or rows.empty:
                continue
            role = {spec["student"]: "student", spec["teacher"]: "teacher"}.get(run, "twin")
            ax.plot(rows["step"], rows["val_perplexity"], style, ms=4, label=f"{run} ({role})")
            if role != "teacher":
                shown += rows.loc[rows["step"] > 0, "val_perplexity"].tolist()
        used = table[(table["run"] == spec["teacher"]) & (table["step"] == spec["teacher_step"])]
        if not used.empty:
            ppl = float(used["val_perplexity"].iloc[0])
            ax.axhline(
                ppl,
                color="tab:green",
                lw=0.8,
                ls=":",
                label=f"teacher used (step {spec['teacher_step']})",
            )
            shown.append(ppl)
        steps = np.linspace(0, last, 200)
        weights = [
            alpha(
                max(int(t), 1),
                schedule=spec["schedule"],
                alpha0=spec["alpha"],
                kd_steps=int(spec["kd_steps"]),
            )
            for t in steps
        ]
        shade = ax.twinx()
        shade.fill_between(steps, weights, color="tab:orange", alpha=0.15, lw=0)
        shade.set_ylim(0, 1.05)
        shade.set_ylabel(
            f"α_t ({spec['schedule']}, τ = {spec['temperature']:g})", color="tab:orange"
        )
        ax.set_zorder(shade.get_zorder() + 1)
        ax.patch.set_visible(False)
        final = inheritance[inheritance["student"] == spec["student"]].sort_values("twin_step")
        title = spec["student"]
        if spec["twin"] is not None and not final.empty:
            head = final.iloc[-1]
            ax.axhline(head["twin_perplexity"], color="grey", lw=0.8, ls="--")
            if head["student_step"] == head["student_step"]:  # not NaN
                ax.axvline(head["student_step"], color="grey", lw=0.8, ls="--")
                title += (
                    f": reaches the twin's final perplexity at step "
                    f"{head['student_step']:.0f} ({head['saving']:.0%} of steps saved)"
                )
            else:
                title += ": does not reach its twin's final perplexity (dashed)"
        ax.set_title(title, fontsize=9)
        ax.set_yscale("log")
        for axis in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
            axis(ScalarFormatter())
        if shown:
            ax.set_ylim(min(shown) * 0.9, max(shown) * 1.1)
        ax.set_xlim(0, last * 1.02)
        ax.set_xlabel("pretraining step")
        ax.set_ylabel("validation perplexity")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save(fig, path)


def saving(inheritance, path) -> None:
    """For each checkpoint of the twin, the steps the student needs to reach its perplexity."""
    students = [s for s in _students(inheritance) if s["twin"] is not None]
    fig, axes = panels(1, max(len(students), 1), width=5.0, height=4.0)
    for ax, spec in zip(axes[0], students, strict=False):
        rows = inheritance[inheritance["student"] == spec["student"]].sort_values("twin_step")
        ax.plot(rows["twin_step"], rows["twin_step"], color="grey", lw=0.8, label="no saving")
        ax.plot(rows["twin_step"], rows["student_step"], "-o", ms=4, label=spec["student"])
        missed = rows[rows["student_step"].isna()]
        if not missed.empty:
            top = rows["twin_step"].max()
            ax.plot(
                missed["twin_step"],
                [top] * len(missed),
                "x",
                color="tab:red",
                ms=8,
                label="not reached by the student's last step",
            )
        for x, y, s in rows[["twin_step", "student_step", "saving"]].itertuples(index=False):
            if s == s:
                ax.annotate(
                    f"{s:.0%}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7
                )
        ax.set_xlabel(f"twin ({spec['twin']}) step")
        ax.set_ylabel("student step reaching the twin's perplexity")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save(fig, path)


def downstream(table, inheritance, path) -> None:
    """Fine-tuned dev score vs step of each student and its twin, one panel per task."""
    runs = {r for s in _students(inheritance) for r in (s["student"], s["twin"]) if r is not None}
    rows = table[table["run"].isin(runs)]
    tasks = sorted(rows["task"].unique())
    fig, axes = panels(1, max(len(tasks), 1), width=5.0, height=3.6)
    for ax, task in zip(axes[0], tasks, strict=False):
        part = rows[rows["task"] == task]
        for run, group in part.groupby("run"):
            mean = group.groupby("step")["score"].mean()
            ax.plot(mean.index, mean.to_numpy(), "-o", ms=4, label=run)
        ax.set_title(task)
        ax.set_ylabel(f"dev {part['metric'].iloc[0]}")
        step_axis(ax)
        ax.legend(fontsize=8)
    save(fig, path)


STUDY_TITLES = {
    "size": "Teachers of different sizes",
    "architecture": "Teachers of one size, deeper or wider",
    "data": "Teachers pretrained on less data or another domain",
    "lineage": "A lineage G1 → G2 → G3",
    "domain": "Adapting to a new domain, with a teacher of that domain or without",
}


def _generations(students: list[dict]) -> list[dict]:
    """A lineage's students in order: G2 is taught by no student of the lineage (by G1),
    each next one by the one before."""
    by_teacher = {s["teacher"]: s for s in students}
    names = {s["student"] for s in students}
    current = next((s for s in students if s["teacher"] not in names), None)
    ordered = []
    while current is not None and current not in ordered:
        ordered.append(current)
        current = by_teacher.get(current["student"])
    return ordered + [s for s in students if s not in ordered]


def study(table, inheritance, path, *, study: str) -> None:
    """One knowledge-inheritance study (``inheritance.studies``): its students' validation
    perplexity vs step, each twin dashed (in the student's colour, grey when shared), a
    lineage's first generation dotted; beside it, the share of its twin's steps each student
    saves to reach the twin's final perplexity (``saving`` at the twin's last checkpoint,
    :func:`embryo.inheritance.comparison.matching_steps`), marked where it never gets there.
    """
    from matplotlib.ticker import ScalarFormatter

    member = inheritance["studies"].fillna("").str.split().apply(lambda s: study in s)
    students = _students(inheritance[member])
    if study == "lineage":
        students = _generations(students)
    fig, axes = panels(1, 2, width=6.0, height=4.2)
    curves, bars = axes[0]
    colours = plt().rcParams["axes.prop_cycle"].by_key()["color"]
    twins = [s["twin"] for s in students]
    shown = []

    def curve(run, style, colour, label):
        rows = table[(table["run"] == run) & (table["step"] > 0)].sort_values("step")
        if not rows.empty:
            curves.plot(
                rows["step"], rows["val_perplexity"], style, color=colour, ms=3, label=label
            )
            shown.extend(rows["val_perplexity"])

    if study == "lineage" and students:
        curve(students[0]["teacher"], ":^", "black", f"{students[0]['teacher']} (G1)")
    for i, spec in enumerate(students):
        colour = colours[i % len(colours)]
        role = f"G{i + 2}" if study == "lineage" else f"teacher {spec['teacher']}"
        curve(spec["student"], "-o", colour, f"{spec['student']} ({role})")
    for twin in dict.fromkeys(t for t in twins if t is not None):
        shared = twins.count(twin) > 1
        colour = "grey" if shared else colours[twins.index(twin) % len(colours)]
        curve(twin, "--s", colour, f"{twin} (twin, from scratch)")
    curves.set_yscale("log")
    for axis in (curves.yaxis.set_major_formatter, curves.yaxis.set_minor_formatter):
        axis(ScalarFormatter())
    if shown:
        curves.set_ylim(min(shown) * 0.95, max(shown) * 1.05)
    curves.set_xlabel("pretraining step")
    curves.set_ylabel("validation perplexity (each run's own corpus)")
    curves.grid(alpha=0.3)
    curves.legend(fontsize=7)
    names, savings, notes = [], [], []
    for spec in students:
        rows = inheritance[inheritance["student"] == spec["student"]].sort_values("twin_step")
        final = rows.iloc[-1] if "saving" in rows and not rows.empty else None
        names.append(spec["student"])
        reached = spec["twin"] is not None and final["saving"] == final["saving"]
        savings.append(float(final["saving"]) if reached else 0.0)
        notes.append(
            f"{final['saving']:.0%}"
            if reached
            else "no twin"
            if spec["twin"] is None
            else "not reached"
        )
    ys = range(len(names))
    bars.barh(ys, savings, color=[colours[i % len(colours)] for i in ys])
    for y, value, note in zip(ys, savings, notes, strict=True):
        bars.annotate(
            note,
            (max(value, 0), y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    bars.set_yticks(list(ys), names, fontsize=8)
    bars.invert_yaxis()
    bars.axvline(0, color="grey", lw=0.8)
    bars.set_xlim(min(0, *savings) - 0.05, max(0.25, *savings) + 0.2)
    bars.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    bars.set_xlabel("twin's steps saved to reach its final perplexity")
    bars.grid(alpha=0.3, axis="x")
    fig.suptitle(STUDY_TITLES[study], fontsize=10)
    save(fig, path)
