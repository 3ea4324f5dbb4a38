"""Which outputs a config produces: its facts, its tables and its figures.

A table or figure of :mod:`embryo.registry` exists for a config when its analysis is on and
each of its ``needs`` holds: a *fact* about what the config runs (``trained``, ``twin``,
``family:single``: the names and their meaning are declared once, in
:data:`embryo.registry.FACTS`). :func:`facts` derives them from a validated config;
``rules/targets.smk`` turns the tables and figures into the workflow's targets.

Everything here is a pure function of the validated config (defaults filled in, as
``rules/common.smk`` holds it), so it is tested without Snakemake (``tests/test_targets.py``).
"""

from __future__ import annotations

from embryo import registry
from embryo.config import settings
from embryo.config.runs import (
    checkpoint_steps,
    downstream_tasks,
    is_imported,
    transfer_runs,
    transfer_schemes,
    transfer_tasks,
)

# what an inheritance pair carries of its teacher's settings (embryo.config.settings)
KI_SETTINGS = ("twin", "schedule", "alpha", "kd_steps", "temperature", "top_k")


def trained(config: dict) -> list[str]:
    """The runs trained here, in config order."""
    return [name for name, run in config["runs"].items() if not is_imported(run)]


def imported(config: dict) -> list[str]:
    """The imported checkpoint series, in config order."""
    return [name for name, run in config["runs"].items() if is_imported(run)]


def scored_imports(config: dict) -> list[str]:
    """The imported series scored on a corpus's validation blocks (``runs.<run>.corpus``)."""
    return [name for name in imported(config) if config["runs"][name].get("corpus")]


def analysed_steps(config: dict, run: str, wanted=None) -> list[int]:
    """The run's checkpoints that ``wanted`` (default: ``analyses.steps``) selects; None: all."""
    wanted = config["analyses"]["steps"] if wanted is None else wanted
    return [s for s in checkpoint_steps(config["runs"][run]) if wanted is None or s in wanted]


def transfer_steps(config: dict, run: str) -> list[int]:
    """The run's checkpoints in the grid: ``transferability.steps``, or its last one."""
    wanted = config["transferability"]["steps"]
    if wanted:
        return analysed_steps(config, run, wanted)
    return checkpoint_steps(config["runs"][run])[-1:]


def ki_pairs(config: dict) -> list[dict]:
    """Each knowledge-inheritance student with its teacher (run and step), the studies that
    compare it, and its twin and schedule."""
    pairs = []
    studies = config["inheritance"]["studies"]
    for name, run in config["runs"].items():
        if run.get("teacher") is None:
            continue
        ki = settings.segment(config, name, checkpoint_steps(run)[-1]).teacher
        pairs.append(
            {
                "student": name,
                "teacher": ki.run,
                "teacher_step": ki.step,
                "studies": " ".join(s for s, names in studies.items() if name in names),
                **{k: getattr(ki, k) for k in KI_SETTINGS},
            }
        )
    return pairs


def ki_runs(config: dict) -> list[str]:
    """The runs the inheritance table compares: students, their twins and teachers."""
    runs = {p[k] for p in ki_pairs(config) for k in ("student", "twin", "teacher")}
    return sorted(r for r in runs if r is not None)


def facts(config: dict) -> set[str]:
    """What this config does, as the facts (:data:`embryo.registry.FACTS`) that decide which
    registry tables and figures it produces."""
    runs, analyses, transfer = config["runs"], config["analyses"], config["transferability"]
    out = set()
    if trained(config):
        out.add("trained")
    if scored_imports(config):
        out.add("scored_imports")
    if any(run["analyse"] for run in runs.values()):
        out.add("analysed")
    if analyses["lama"]["enabled"] and analyses["lama"]["exposure"]:
        out.add("lama_exposure")
    if downstream_tasks(config):
        out.add("downstream_tasks")
    if transfer["enabled"] and transfer_tasks(config):
        out.add("transfer")
        if transfer["probing"]["enabled"]:
            out.add("transfer_probing")
        for run in transfer_runs(config):
            found = {s.split("-")[0] for s in transfer_schemes(config, run)}
            out |= {f"family:{f}" for f in found}
            if "single" in found and len(transfer_steps(config, run)) > 1:
                out.add("crossed")
    pairs = ki_pairs(config)
    if pairs:
        out.add("ki")
    out |= {f"ki_study:{s}" for s, names in config["inheritance"]["studies"].items() if names}
    if any(p["twin"] for p in pairs):
        out.add("twin")
    downstream_steps = analyses["downstream"]["steps"]
    if any(analysed_steps(config, p["student"], downstream_steps) for p in pairs):
        out.add("students_downstream")
    if analyses["probing"]["enabled"]:
        out |= {f"probe_task:{t}" for t in analyses["probing"]["tasks"]}
    return out


def holds(needs, known: set[str]) -> bool:
    """Whether every need holds; a need ``a|b`` holds when either does."""
    return all(any(alt in known for alt in need.split("|")) for need in needs)


def tables(config: dict, known: set[str]) -> list[str]:
    """The registry's tables that this config produces, in the registry's order."""
    return [
        t.name
        for t in registry.TABLES
        if (t.config is None or config["analyses"][t.config]["enabled"])
        and (t.per_checkpoint is None or "analysed" in known)
        and holds(t.needs, known)
    ]


def figures(produced: list[str], known: set[str]) -> list[str]:
    """The registry's figures whose tables are ``produced`` and whose needs hold."""
    return [
        f.name for f in registry.FIGURES if set(f.tables) <= set(produced) and holds(f.needs, known)
    ]
