# At scale (config cluster and resources; none of it changes a result): the Hugging Face
# caches, the outputs kept or protected, stale locks, and what each job asks a scheduler
# for (profiles/slurm; a local run ignores it). The keys each rule's jobs get, and their
# checks, are embryo.config.cluster's.
import os

from embryo.config import cluster
from embryo.runtime.errors import EmbryoError
from embryo.runtime.locks import LOCKS, record_owner, release_stale_locks

# the Hugging Face caches of every job (HF_HOME, inherited by local jobs and by SLURM's,
# which export this environment); the cheap rules run where Snakemake runs (localrules in
# results.smk), and optionally the rules that may need the network (data.smk)
ec.use_cache_dir(CLUSTER["cache_dir"])

# a run killed with SIGKILL leaves its lock: released when its holder is provably
# dead (embryo.runtime.locks), recorded by every run once it holds the lock
if workflow.is_main_process:
    released, held = release_stale_locks(Path.cwd())
    for lock in released:
        logger.warning(f"Embryo: released {lock}, left by a killed Snakemake")
    if held:
        logger.warning(
            f"Embryo: {LOCKS}/ is kept ({held}); if no Snakemake runs in this directory "
            "on any machine, `snakemake --unlock` releases it"
        )


onstart:
    if workflow.is_main_process:
        record_owner(Path.cwd(), local=workflow.local_exec)
        check_nodes_reachable()


def features(path):
    """An all-layer feature cache: deleted once read unless cluster.keep_features."""
    return path if CLUSTER["keep_features"] else temp(path)


def segment_output(path):
    """A pretraining segment's directory, write-protected if cluster.protect_segments."""
    return (
        protected(directory(path)) if CLUSTER["protect_segments"] else directory(path)
    )


def cluster_resources(rule):
    """runtime, mem_mb, cpus_per_task (the job's threads) and, if asked, gpu of a rule's
    jobs (runtime and mem_mb grow with a retry's attempt); over several nodes, one task a
    node (the job's own srun starts them: mpi) and the GPUs of each node as GRES."""
    wanted = cluster.wanted_resources(config, rule)
    resources = {
        "runtime": lambda wildcards, attempt: wanted["runtime"] * attempt,
        "mem_mb": lambda wildcards, attempt: wanted["mem_mb"] * attempt,
        "cpus_per_task": lambda wildcards, threads: threads,
    }
    if wanted["nodes"] > 1:
        nodes = wanted["nodes"]
        # tasks_per_gpu 0: the plugin would otherwise ask --ntasks-per-gpu=tasks
        resources |= {"nodes": nodes, "tasks": nodes, "mpi": "srun", "tasks_per_gpu": 0}
        if wanted["gpu"]:
            resources["gres"] = f"gpu:{wanted['gpu']}"
    elif wanted["gpu"]:
        resources["gpu"] = wanted["gpu"]
    return resources


def segment_processes(run, rule):
    """The data-parallel processes of a run's segments under a rule (embryo.config.cluster)."""
    return cluster.segment_processes(config, run, rule)


def check_nodes_reachable():
    """Segments over several nodes run from a cluster executor or inside an allocation
    (at the start of a run: parse time does not know the executor yet)."""
    nodes = {
        r: cluster.wanted_resources(config, r)["nodes"] for r in cluster.MULTI_NODE
    }
    spanning = [r for r, n in nodes.items() if n > 1]
    if spanning and workflow.local_exec and "SLURM_JOB_ID" not in os.environ:
        raise EmbryoError(
            f"config: resources.{spanning[0]}.nodes is {nodes[spanning[0]]}, but this run "
            "executes locally outside a SLURM allocation: submit it with --profile "
            "profiles/slurm, run it inside salloc, or set nodes to 1"
        )
