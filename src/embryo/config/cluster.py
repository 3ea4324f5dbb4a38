"""Parse-time settings for running at scale: the caches (config ``cluster``) and what each
rule's jobs ask a scheduler for (config ``resources``), with their checks."""

from __future__ import annotations

import os
from pathlib import Path

from embryo.config.runs import is_imported
from embryo.config.runs import segment_processes as run_processes
from embryo.runtime.errors import EmbryoError


def cache_dir(spec: str) -> str:
    """``cluster.cache_dir`` as an absolute path (``~`` and ``$VARS`` expanded, relative to
    the working directory), created if absent; an error naming the key unless this user
    can write there."""
    expanded = os.path.expandvars(os.path.expanduser(spec))
    if "$" in expanded:
        raise EmbryoError(f"config: cluster.cache_dir {spec!r}: an environment variable is unset")
    path = Path(expanded).resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EmbryoError(f"config: cluster.cache_dir {str(path)!r} cannot be created: {e}") from e
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise EmbryoError(
            f"config: cluster.cache_dir {str(path)!r} is not a directory this user can write"
        )
    return str(path)


def use_cache_dir(spec: str | None) -> None:
    """Point the Hugging Face caches (``HF_HOME``: the Hub's and ``datasets``') of this
    process and of every job it starts at ``cluster.cache_dir`` (:func:`cache_dir`);
    None leaves the environment as it is."""
    if spec is not None:
        os.environ["HF_HOME"] = cache_dir(spec)


# What a job asks a scheduler for (profiles/slurm; a local run ignores it): each key from
# config resources.<rule>, else the rule's parent's (a student's segments ask what
# pretraining asks), else resources.default, else these.
RESOURCE_DEFAULTS = {"runtime": 60, "mem_mb": 4000, "gpu": 0, "gpu_mem_mb": None, "nodes": 1}
RESOURCE_PARENT = {"pretrain_student": "pretrain"}
# the rules whose jobs may span nodes (embryo.train.launch)
MULTI_NODE = ("pretrain", "pretrain_student")


def _given(config: dict, rule: str) -> list[dict]:
    """The resources entries that apply to ``rule``, most specific last."""
    spec = config.get("resources") or {}
    names = ("default", RESOURCE_PARENT.get(rule), rule)
    return [spec.get(name) or {} for name in names]


def wanted_resources(config: dict, rule: str) -> dict:
    """Every resource key of a rule's jobs: its own, its parent's, the default's, ours."""
    wanted = dict(RESOURCE_DEFAULTS)
    for given in _given(config, rule):
        wanted.update({k: v for k, v in given.items() if v is not None})
    return wanted


def stated_mem_mb(config: dict, rule: str) -> int | None:
    """The mem_mb the config states for a rule's jobs (its own, its parent's, the default),
    None where it states none (the memory check then takes the machine's)."""
    for given in reversed(_given(config, rule)):
        if given.get("mem_mb") is not None:
            return given["mem_mb"]
    return None


def segment_rules(config: dict, run: str) -> list[str]:
    """The rules that run a trained run's segments: pretrain, and a student's after step 0."""
    student = config["runs"][run].get("teacher") is not None
    return ["pretrain"] + (["pretrain_student"] if student else [])


def segment_processes(config: dict, run: str, rule: str) -> int:
    """The data-parallel processes of a run's segments under a rule: the run's
    ``processes``, else one a GPU of the rule's job (on all its nodes)."""
    wanted = wanted_resources(config, rule)
    return run_processes(config["runs"][run], wanted["gpu"] * wanted["nodes"])


def check_resources(config: dict, rules: set[str]) -> None:
    """resources.<rule> must name one of the workflow's ``rules`` (or ``default``); only
    segments span nodes, over which their processes split evenly."""
    unknown = sorted(set(config.get("resources") or {}) - rules - {"default"})
    if unknown:
        raise EmbryoError(
            f"config: invalid configuration\n  resources: unknown rule(s) {unknown}; "
            f"expected default or one of: {', '.join(sorted(rules))}"
        )
    for name in sorted(rules):
        nodes = wanted_resources(config, name)["nodes"]
        if nodes > 1 and name not in MULTI_NODE:
            raise EmbryoError(
                f"config: resources.{name}.nodes is {nodes}: only {' and '.join(MULTI_NODE)} "
                "jobs span nodes"
            )
    for run, spec in config["runs"].items():
        if is_imported(spec):
            continue
        for name in segment_rules(config, run):
            nodes = wanted_resources(config, name)["nodes"]
            processes = segment_processes(config, run, name)
            if processes % nodes:
                raise EmbryoError(
                    f"config: runs.{run}: {processes} processes do not split evenly over the "
                    f"{nodes} nodes of resources.{name}.nodes"
                )
