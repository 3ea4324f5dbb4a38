"""config/paper.yaml, the papers' scale, builds its whole job graph (a dry run)."""

from __future__ import annotations

import re
import subprocess
import sys
from types import SimpleNamespace

import pytest
import yaml

from embryo import config as ec

from .conftest import REPO

pytestmark = pytest.mark.slow


def job_stats(output: str) -> dict[str, int]:
    """Snakemake's 'Job stats' table of a dry run: {rule: jobs}."""
    table = output.split("Job stats:")[1].split("Reasons:")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.M)}


def submission(resources: str) -> str:
    """The sbatch command snakemake-executor-plugin-slurm builds for a job of these
    resources (as a dry run prints them): N nodes, N tasks, the GPUs of each as GRES."""
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    class Resources(dict):
        __getattr__ = dict.__getitem__

    pairs = (r.split("=", 1) for r in resources.split(", "))
    job = SimpleNamespace(
        threads=1, resources=Resources((k, int(v) if v.isdigit() else v) for k, v in pairs)
    )

    params = dict(
        run_uuid="u", slurm_logfile="l", comment_str="c", account="", partition="", workdir="/w"
    )
    return get_submit_command(job, params) + set_gres_string(job)


def test_paper_config_dry_runs(tmp_path, shared_data):
    paper = REPO / "config" / "paper.yaml"
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(tmp_path),
        "--configfile",
        str(paper),
        "--config",
        f"data_dir={shared_data}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = job_stats(result.stdout)
    runs = yaml.safe_load(paper.read_text())["runs"]
    checkpoints = {name: ec.checkpoint_steps(run) for name, run in runs.items()}
    # ALBERT-base: log-spaced to 512, every 1k to 30k, every 10k to 100k, every 50k to 1M
    assert len(checkpoints["albert-base"]) == 11 + 30 + 7 + 18
    segments = jobs["pretrain"] + jobs["pretrain_student"]  # a student's after step 0
    assert segments == jobs["export_checkpoint"] == sum(map(len, checkpoints.values()))
    students = [name for name, run in runs.items() if run.get("teacher")]
    assert jobs["pretrain_student"] == sum(len(checkpoints[s]) - 1 for s in students)
    # Tamkin et al.'s experiments at 5 steps: progressive (13 schemes x 11 task-sizes, CoLA
    # has no 50k, x 3 seeds = 429); blocks of 3 and their inverse at 5k (20 schemes x 3
    # tasks x 10 seeds = 600, less the 2 x 9 points where block-9-11 is progressive-k9
    # and only-0-2 progressive-k3 at a seed both use); 10 permutations x 3 tasks, once
    grid = 429 + 600 - 18 + 30
    # plus the downstream analysis (9 tasks x 3 seeds at the runs' steps of
    # analyses.downstream.steps: ALBERT 10, BERT 5, each of the 15 RoBERTa runs of 125k
    # steps 6, each of the 3 domain post-trainings of 4k steps 3), less the jobs the grid
    # already runs: BERT's full-size, all-kept fine-tunings of SST-2, QNLI and CoLA with
    # seeds 1 and 2 at the 4 steps both ask for
    assert jobs["finetune"] == 5 * grid + 9 * 3 * (10 + 5 + 15 * 6 + 3 * 3) - 3 * 2 * 4
    # the KI studies' runs have validation curves, not the per-checkpoint analyses
    analysed = sum(len(checkpoints[r]) for r, run in runs.items() if run.get("analyse", True))
    assert jobs["lama"] == jobs["blimp"] == analysed == 66 + 6 + 3 * 39
    # Wikipedia, BookCorpus, their mix; their first quarters and mix; arXiv
    assert jobs["inheritance_table"] == 1 and jobs["prepare_corpus"] == 7
    assert {f"ki_{s}" for s in ("architecture", "data", "lineage", "domain")} <= set(
        re.findall(r"results/figures/(\w+)\.png", result.stdout)
    )
    # the Hub tasks' sizes are checked once prepared, for the one vocabulary that draws
    # subsets of them (BERT's), before their fine-tuning: 500, 5k and 50k of SST-2 and
    # QNLI, 500 and 5k of CoLA
    assert jobs["task_sizes"] == 3 + 3 + 2
    # GPUs per rule, from the config's resources section: a segment is a job of 4 nodes
    # of 8 GPUs each (GRES), one task a node started by its own srun (mpi)
    asked = dict(
        re.findall(r"^rule (\w+):\n(?:\s+.*\n)*?\s+resources: (.*)", result.stdout, flags=re.M)
    )
    for rule in ("pretrain", "pretrain_student"):
        assert {"nodes=4", "tasks=4", "mpi=srun", "gres=gpu:8", "tasks_per_gpu=0"} <= set(
            asked[rule].split(", ")
        ), asked[rule]
    assert "gpu=1" in asked["finetune"].split(", ")
    sbatch = submission(asked["pretrain"])
    assert "--mem 256000 --nodes=4 --ntasks=4 --cpus-per-task=" in sbatch, sbatch
    assert sbatch.endswith(" --gres=gpu:8") and "--gpus" not in sbatch and "per-gpu" not in sbatch
    assert "gpu=" not in asked["table"] and "gpu=" not in asked["figure"]


def test_paper_overlay_runs_to_the_end(tmp_path, shared_data):
    """config/paper-cpu.yaml on top of paper.yaml: the paper graph at CPU size, run."""
    import pandas as pd

    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "2",
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(tmp_path),
        "--configfile",
        str(REPO / "config" / "paper.yaml"),
        str(REPO / "config" / "paper-cpu.yaml"),
        "--config",
        f"data_dir={shared_data}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    tables = tmp_path / "results" / "tables"
    grid = pd.read_csv(tables / "transferability.csv")
    got = grid.groupby("reinit").size()
    # progressive: 5 schemes x (sst2, qnli at 4 sizes, cola at 3) x 1 seed
    assert all(got[f"progressive-k{k}"] == 11 for k in range(4)) and got["none"] == 11
    # blocks of 3 and their inverse on 4 layers at one size, 2 seeds; their repeats of
    # progressive jobs name them
    for scheme, job in {
        "block-0-2": None,
        "block-1-3": "progressive-k1",
        "only-0-2": "progressive-k3",
        "only-1-3": None,
    }.items():
        rows = grid[grid["reinit"] == scheme]
        assert len(rows) == 3 * 2 and set(rows["n"].astype(str)) == {"32"}
        assert set(rows["same_as"].fillna("")) == {job or ""}
    assert sum(got[s] for s in got.index if s.startswith("scramble")) == 10 * 3
    scrambling = pd.read_csv(tables / "scrambling.csv")
    assert {"spearman", "pearson"} <= set(scrambling.columns)
    inheritance = pd.read_csv(tables / "inheritance.csv")
    studies = inheritance.drop_duplicates("student").set_index("student")["studies"].fillna("")
    assert studies["roberta-large-ki"] == "lineage" and "data" in studies["roberta-base-ki"]
    figures = tmp_path / "results" / "figures"
    assert all(
        (figures / f"ki_{s}.png").is_file() for s in ("architecture", "data", "lineage", "domain")
    )
    findings = pd.read_csv(tables / "findings.csv")
    assert len(findings) > 0 and findings["verdict"].notna().all()
