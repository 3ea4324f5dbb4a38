"""config/paper.yaml, the papers' scale, builds its whole job graph (a dry run)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from embryo import config as ec

from .conftest import REPO

pytestmark = pytest.mark.slow


def job_stats(output: str) -> dict[str, int]:
    """Snakemake's 'Job stats' table of a dry run: {rule: jobs}."""
    table = output.split("Job stats:")[1].split("Reasons:")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.M)}


def test_paper_config_dry_runs(tmp_path, shared_data):
    paper = REPO / "config" / "paper.yaml"
    cmd = [sys.executable, "-m", "snakemake", "-n", "-s", str(REPO / "Snakefile"),
           "-d", str(tmp_path), "--configfile", str(paper),
           "--config", f"data_dir={shared_data}"]  # fmt: skip
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
    # the reinit grid: 5 steps x 3 tasks x 4 sizes x 3 seeds x (13 progressive + 10 blocks
    # of 3 layers + 3 permutations, less the schemes that build the same model)
    assert 5 * 3 * 4 * 3 * 20 < jobs["finetune"]
    assert jobs["inheritance_table"] == 1 and jobs["prepare_corpus"] == 3
    # GPUs per rule, from the config's resources section
    asked = dict(re.findall(r"^rule (\w+):\n(?:\s+.*\n)*?\s+resources: .*?gpu=(\d+)",
                            result.stdout, flags=re.M))  # fmt: skip
    assert asked["pretrain"] == asked["pretrain_student"] == "8" and asked["finetune"] == "1"
    assert "table" not in asked and "figure" not in asked
