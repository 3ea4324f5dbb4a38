"""Parse time: the config's validation, what it runs, and the settings each job receives.

``rules/common.smk`` validates the config (:mod:`~embryo.config.schema`) before it
builds the graph, enumerates runs, steps and grid points (:mod:`~embryo.config.runs`),
builds each job's typed settings (:mod:`~embryo.config.settings`), checks what a cluster
must satisfy (:mod:`~embryo.config.memory`, :mod:`~embryo.config.cluster`) and describes
the run for the report's front page (:mod:`~embryo.config.overview`).

Nothing here runs inside a job: what it computes reaches the jobs as their params, which
Snakemake compares on every run, so this stage is part of no code fingerprint. It is
the top stage and may import every other.
"""

from embryo.config.cluster import cache_dir, use_cache_dir
from embryo.config.runs import (
    checkpoint_steps,
    data_spans,
    downstream_tasks,
    drawn_by,
    is_imported,
    linked_checkpoint,
    num_layers,
    previous_step,
    replicates,
    resumes_from,
    run_corpus,
    segment_processes,
    size_requests,
    tokens_seen,
    total_steps,
    transfer_experiments,
    transfer_grid,
    transfer_jobs,
    transfer_runs,
    transfer_schemes,
    transfer_sizes,
    transfer_tasks,
)
from embryo.config.schema import fill_defaults, load, load_schema, validate
from embryo.config.settings import as_dict
from embryo.config.settings import segment as segment_settings

__all__ = [
    "cache_dir",
    "checkpoint_steps",
    "data_spans",
    "downstream_tasks",
    "drawn_by",
    "fill_defaults",
    "is_imported",
    "linked_checkpoint",
    "load",
    "load_schema",
    "num_layers",
    "previous_step",
    "replicates",
    "resumes_from",
    "run_corpus",
    "segment_processes",
    "size_requests",
    "segment_settings",
    "tokens_seen",
    "total_steps",
    "as_dict",
    "transfer_experiments",
    "transfer_grid",
    "transfer_jobs",
    "transfer_runs",
    "transfer_schemes",
    "transfer_sizes",
    "transfer_tasks",
    "use_cache_dir",
    "validate",
]
