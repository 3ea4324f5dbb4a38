"""The workflow on a real SLURM cluster: profiles/slurm through snakemake-executor-plugin-slurm.

A single-node cluster on this machine (tests/slurm/cluster.sh: slurmctld, slurmd and munged,
no accounting database) runs the tiny workflow of test_workflow.py from pretraining on: the
checkpoints, the validation curve, one checkpoint's analyses in the profile's two groups,
and the probe table. The data preparation before it runs locally, to keep the test short:
each SLURM job is two Snakemake start-ups plus the plugin's polling (2 s, then 10 s more
after each poll that finds nothing finished).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys

import pytest

from .conftest import REPO, sentences
from .helpers import config_for, snakemake

pytestmark = pytest.mark.slow

CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "srun")
TARGETS = [
    "results/bert/models/step-0",
    "results/bert/models/step-2",
    "results/bert/validation.csv",
    "results/tables/probe.csv",  # group probing: extract_features and the three probes
    "results/bert/step-2/mlm_pos.csv",  # group scoring: mlm_pos, lama and blimp
    "results/bert/step-2/lama.csv",
    "results/bert/step-2/blimp.csv",
]
SLURM_JOBS = {  # the job comment the plugin gives each submission
    "rule_pretrain_wildcards_bert_0",
    "rule_pretrain_wildcards_bert_2",
    "rule_export_checkpoint_wildcards_bert_0",
    "rule_export_checkpoint_wildcards_bert_2",
    "rule_probing_extract_features_probe",
    "rule_scoring_blimp_lama_mlm_pos",
}
# cheap rules run where Snakemake runs (localrules in rules/results.smk)
LOCAL_JOBS = {"validation_curve": "bert", "table": "probe"}


def cannot_start() -> str | None:
    """Why this machine cannot run the test cluster, or None."""
    if os.geteuid() != 0:
        return "the SLURM test cluster runs its daemons as root (tests/slurm/cluster.sh)"
    if not all(shutil.which(d) for d in DAEMONS) and not shutil.which("apt-get"):
        return "slurmctld, slurmd and munged are absent and apt-get cannot install them"
    return None


@pytest.fixture(scope="module")
def slurm_conf(tmp_path_factory):
    """A running single-node cluster: the path of its slurm.conf; stopped afterwards."""
    if reason := cannot_start():
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("slurm")
    try:
        started = subprocess.run(
            ["bash", str(CLUSTER), "start", str(root)],
            capture_output=True,
            text=True,
            timeout=900,  # apt-get on a fresh machine
        )
        assert started.returncode == 0, started.stdout + started.stderr
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop", str(root)], timeout=120)


def slurm_config(data_dir) -> dict:
    """tiny_config's bert run alone, checkpointed at 0 and 2, analysed at 2."""
    config = config_for("workflow", data_dir)
    config["runs"] = {"bert": {**copy.deepcopy(config["runs"]["bert"]), "checkpoints": [0, 2]}}
    config["analyses"]["steps"] = [2]
    config["transferability"]["steps"] = [2]
    return config


def squeue(conf: str) -> list[dict]:
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%j|%T|%k"],
        env={**os.environ, "SLURM_CONF": conf},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = ("id", "name", "state", "comment")
    return [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines()]


@pytest.fixture(scope="module")
def slurm_run(slurm_conf, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm_workflow")
    data = workdir / "data"
    data.mkdir()
    (data / "corpus.txt").write_text("\n".join(sentences(1500, seed=5)) + "\n")
    config = slurm_config(data)
    # the data up to the packed blocks, locally: four short jobs in a row
    local = snakemake(workdir, config, "results/data/c/wp-block32", "results/builtin")
    assert local.returncode == 0, local.stdout + local.stderr
    env = {
        **os.environ,
        "SLURM_CONF": slurm_conf,
        # the jobs' `python -m snakemake` is this interpreter's, found first on PATH too
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]),
    }
    result = snakemake(
        workdir,
        config,
        "--profile",
        str(REPO / "profiles" / "slurm"),
        # one core per group job (its jobs run one after another), so that the two
        # groups run side by side on the two-CPU node
        "--cores",
        "1",
        "--slurm-keep-successful-logs",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--seconds-between-status-checks",
        "2",
        "--verbose",  # the job step logs its environment: SLURM_JOB_ID in the job
        *TARGETS,
        env=env,
        timeout=1200,
    )
    tail = (result.stdout + result.stderr)[-20_000:]
    assert result.returncode == 0, tail
    run_id = re.search(r"SLURM run ID: (\S+)", result.stdout + result.stderr)
    assert run_id, tail
    return workdir, config, run_id.group(1), squeue(slurm_conf)


def test_outputs_exist_and_load(slurm_run):
    import pandas as pd
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    workdir, config, _, _ = slurm_run
    for step in (0, 2):
        out = workdir / f"results/bert/models/step-{step}"
        model = AutoModelForMaskedLM.from_pretrained(out)
        tokenizer = AutoTokenizer.from_pretrained(out)
        with torch.no_grad():
            logits = model(**tokenizer("The old cat sees a dog .", return_tensors="pt")).logits
        assert logits.shape[-1] == len(tokenizer)
    curve = pd.read_csv(workdir / "results/bert/validation.csv")
    assert curve["step"].tolist() == [0, 2]
    probe = pd.read_parquet(workdir / "results/tables/probe.parquet")
    assert set(probe["run"]) == {"bert"} and set(probe["step"]) == {2}
    assert set(probe["task"]) == {"upos", "xpos", "deprel"}
    for name in ("mlm_pos", "lama", "blimp"):
        assert len(pd.read_csv(workdir / f"results/bert/step-2/{name}.csv")) > 0, name


def test_every_job_was_a_slurm_job(slurm_run):
    """squeue knows each submission, and its log shows SLURM_JOB_ID set inside the job."""
    workdir, _, run_id, jobs = slurm_run
    ours = [job for job in jobs if job["name"] == run_id]
    assert {job["comment"] for job in ours} == SLURM_JOBS
    assert len(ours) == len(SLURM_JOBS) and {job["state"] for job in ours} == {"COMPLETED"}
    logs = workdir / ".snakemake" / "slurm_logs"
    for job in ours:
        (log,) = logs.rglob(f"{job['id']}.log")  # sbatch --output .../%j.log
        text = log.read_text()
        assert f"'SLURM_JOB_ID': '{job['id']}'" in text, log
        rules = re.findall(r"^rule (\w+):", text, re.MULTILINE)  # the job step's, not srun's
        if job["comment"].startswith("rule_probing"):
            assert sorted(rules) == ["extract_features", "probe", "probe", "probe"]
        elif job["comment"].startswith("rule_scoring"):
            assert sorted(rules) == ["blimp", "lama", "mlm_pos"]
        else:
            assert rules == [re.match(r"rule_([a-z_]+?)_wildcards", job["comment"]).group(1)]


def test_the_local_jobs_did_not_reach_the_cluster(slurm_run):
    """The data preparation ran locally (a run before), and so did the cheap rules (the
    validation curve, the probe table) in the cluster run: no SLURM job and no SLURM log
    for them; the group job deleted the features its probes read (temp())."""
    workdir, _, _, jobs = slurm_run
    for rule, wildcards in {"tokenize_corpus": "c/wp-block32", **LOCAL_JOBS}.items():
        assert not [job for job in jobs if f"rule_{rule}_" in job["comment"]], rule
        assert (workdir / f"results/logs/{rule}/{wildcards}.log").exists(), rule
        assert not list((workdir / ".snakemake" / "slurm_logs").glob(f"rule_{rule}")), rule
    assert not list(workdir.glob("results/bert/step-2/features/*"))
