# Which outputs this config produces: the registry's tables and figures whose facts hold
# (embryo.config.targets), and every file each table gathers across runs and steps.
from embryo.results import findings

FACTS = targets.facts(config)
TABLES = targets.tables(config, FACTS)
FIGURES = targets.figures(TABLES, FACTS)


def get_final_output():
    """Every checkpoint of every run, the tables, the figures, the findings, the provenance."""
    models = [model_dir(r, s) for r in RUNS for s in ec.checkpoint_steps(RUNS[r])]
    tables = [
        f"results/tables/{name}.{'json' if name == 'provenance' else 'csv'}"
        for name in TABLES
    ]
    figures = [f"results/figures/{name}.png" for name in FIGURES]
    return models + tables + figures


def downstream_outputs():
    """Fine-tuning jobs of the downstream analysis: every task at the chosen steps, reinit none."""
    spec = ANALYSES["downstream"]
    n = spec["train_size"] or "full"
    return [
        finetune_path(run, step, task, n, "none", seed)
        for run in RUNS
        for step in analysed_steps(run, spec["steps"])
        for task in ec.downstream_tasks(config)
        for seed in spec["seeds"]
    ]


def run_points(run):
    """{scheme: (its job's scheme, [(task, size, seed), ...])} of one run's grid."""
    repeats = ec.transfer_jobs(config, run)[1]
    return {
        scheme: (repeats.get(scheme, scheme), points)
        for scheme, points in ec.transfer_grid(config, run).items()
    }


def get_transfer_points(wildcards):
    """Per run, the grid's rows: {run: {scheme: [job's scheme, [[task, size, seed], ...]]}}."""
    if wildcards.analysis != "transferability":
        return {}
    return {
        run: {
            s: [job, [list(p) for p in points]]
            for s, (job, points) in run_points(run).items()
        }
        for run in ec.transfer_runs(config)
    }


def transferability_outputs():
    """Every grid point's job: run x step x each scheme's (task, size, seed) points.

    A scheme that builds the same model as another is that one's job (transfer_points).
    """
    jobs = {}
    for run in ec.transfer_runs(config):
        for scheme, (job, points) in run_points(run).items():
            for step in transfer_steps(run):
                for task, n, seed in points:
                    jobs[finetune_path(run, step, task, n, job, seed)] = None
    return list(jobs)


def task_probe_outputs():
    return [
        f"results/{run}/step-{step}/task_probe/{task}"
        for run in ec.transfer_runs(config)
        for step in transfer_steps(run)
        for task in ec.transfer_tasks(config)
    ]


def exposure_outputs():
    """Every analysed trained run's LAMA exposure."""
    return [
        f"results/{r}/lama_exposure.csv"
        for r in TRAINED
        if RUNS[r]["analyse"] and analysed_steps(r)
    ]


def checkpoint_outputs(table, pattern=None):
    """A per-checkpoint analysis's outputs (registry: per_checkpoint, or ``pattern`` under
    the checkpoint's folder) at every analysed step."""
    pattern = pattern or registry.TABLE[table].per_checkpoint
    tasks = [None]  # a pattern's {probe} or {edge}: each probing or edge-probing task
    if "{probe}" in pattern:
        tasks = ANALYSES["probing"]["tasks"]
    elif "{edge}" in pattern:
        tasks = list(ANALYSES["edge_probing"]["tasks"])
    return [
        f"results/{run}/step-{step}/{pattern.format(probe=task, edge=task)}"
        for run in RUNS
        if RUNS[run]["analyse"]
        for step in analysed_steps(run)
        for task in tasks
    ]


TABLE_INPUTS = {
    "validation": lambda: [
        f"results/{r}/validation.csv" for r in TRAINED + SCORED_IMPORTS
    ],
    "weights": lambda: [
        f"results/{r}/step-{s}/weights.csv"
        for r in RUNS
        for s in ec.checkpoint_steps(RUNS[r])
    ],
    "lama_exposure": exposure_outputs,
    "downstream": downstream_outputs,
    "transferability": transferability_outputs,
    "task_probe": task_probe_outputs,
}


def get_table_inputs(wildcards):
    """Every per-checkpoint output that one table gathers, across runs and steps."""
    if registry.TABLE[wildcards.analysis].per_checkpoint:
        return checkpoint_outputs(wildcards.analysis)
    return TABLE_INPUTS[wildcards.analysis]()


def gathered_tables():
    """Names of the tables that the table rule writes."""
    return [t.name for t in registry.TABLES if t.rule == "table"]


def figure_options(name):
    """A figure's drawing options (registry), and the axis of one over training."""
    figure = registry.FIGURE[name]
    options = dict(figure.options)
    if figure.over_training:
        options["axis"] = config["figures"]["axis"]
    return options


def caption(name):
    """A table's or figure's caption in the report (embryo.registry)."""
    item = registry.TABLE.get(name) or registry.FIGURE[name]
    return item.caption


def get_findings_inputs(wildcards):
    """The tables the findings are checked on, as far as this config produces them, and
    the per-item outcomes behind each of them (named by table)."""
    checked = [t for t in TABLES if registry.TABLE[t].findings]
    inputs = {"tables": [f"results/tables/{t}.parquet" for t in checked]}
    inputs |= {t: item_inputs(t) for t in checked if t in findings.ITEMS}
    return inputs


def item_inputs(table):
    """The per-item files behind a table (registry: items); for a per-checkpoint output
    that is a directory, the directory that holds them."""
    item = registry.TABLE[table]
    if item.per_checkpoint:
        inside = item.items.startswith(f"{item.per_checkpoint}/")
        return checkpoint_outputs(table, None if inside else item.items)
    return [str(Path(p).with_name(item.items)) for p in TABLE_INPUTS[table]()]


def report_tables():
    """The tables the provenance file describes: every table but itself."""
    return [t for t in TABLES if t != "provenance"]


def run_settings():
    """Each run's settings: a trained run's last segment's (all its checkpoints depend on), an imported run's entry."""
    last = {r: ec.checkpoint_steps(RUNS[r])[-1] for r in TRAINED}
    return {r: ec.as_dict(settings.segment(config, r, last[r])) for r in TRAINED} | {
        r: RUNS[r] for r in IMPORTED
    }
