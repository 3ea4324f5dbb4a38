# The checks before any job: the resources asked of a cluster and the GPU and CPU memory
# each segment needs (embryo.config.cluster, embryo.config.memory), and every input file
# the produced tables' jobs will read.
from embryo.config.memory import check_cpu_memory, check_gpu_memory
from embryo.data.checks import check_inputs


def check_workflow():
    """Before any job (every rule defined by now), each resources key must name a rule of
    this workflow, every segment must fit the memory it is given, and every input file
    that a job will read must be well formed."""
    cluster.check_resources(config, {r.name for r in workflow.rules})
    wanted = lambda rule: cluster.wanted_resources(config, rule)
    check_gpu_memory(config, wanted)
    check_cpu_memory(config, wanted, lambda rule: cluster.stated_mem_mb(config, rule))
    settings.check_tracking(config)
    if workflow.is_main_process:
        check_inputs(input_checks(), cache=Path(".snakemake") / "embryo-checks.json")
        save_cache()


# Input checks: every treebank, LAMA, BLiMP and task file that the produced tables'
# jobs will read (registry: checks) is read whole now, while the workflow is parsed,
# with the readers the jobs use, so that bad input stops the workflow before any job
# starts (embryo.data.checks; cached per file state in .snakemake/embryo-checks.json). A
# job edge to the first segments cannot do this exactly: ancient() inputs make Snakemake
# skip the rerun reasons of everything downstream whenever a check reruns (snakemake#4166),
# and plain inputs would retrain whenever a file is fixed or an analysis switched on.
# Built-in inputs are checked by generate_builtin itself; a Hub task when it is prepared.
def input_checks():
    """The local inputs that the produced tables' jobs read, as embryo.data.checks specs."""
    kinds = {kind for t in TABLES for kind in registry.TABLE[t].checks}
    specs = []
    if "treebank" in kinds and config["treebank"]["source"] == "local":
        specs.append(
            ("treebank", {s: treebank_settings(s).path for s in ("train", "test")})
        )
    for kind in ("lama", "blimp"):
        if kind in kinds and ANALYSES[kind]["source"] == "local":
            specs.append((kind, analysis_root(kind)))
    if "edges" in kinds and ANALYSES["edge_probing"]["source"] == "local":
        specs.append(
            ("edges", {t: edge_paths(t) for t in ANALYSES["edge_probing"]["tasks"]})
        )
    tasks = set(ec.downstream_tasks(config)) if "downstream_tasks" in kinds else set()
    tasks |= set(ec.transfer_tasks(config)) if "transfer_tasks" in kinds else set()
    for task in sorted(tasks):
        if config["tasks"][task]["source"] == "local":
            specs.append(
                (
                    "task",
                    {"name": task, "spec": config["tasks"][task], "root": DATA_DIR},
                )
            )
    return specs
