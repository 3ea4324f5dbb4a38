"""A pretraining job SIGKILLed in the middle of a segment, then a plain rerun of snakemake.

The rerun must complete the run, and the final weights must equal those of a run that was
never interrupted: a segment restarts from its predecessor's saved state, everything
random is a function of (seed, step), and outputs appear atomically, so nothing of the
killed attempt survives to be built on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from .conftest import REPO, sentences
from .helpers import OPT, TINY, config_for

pytestmark = pytest.mark.slow

CHECKPOINTS = [0, 100, 600]  # the kill falls inside the 100 -> 600 segment
TARGET = f"results/bert/models/step-{CHECKPOINTS[-1]}"


def config(data_dir) -> dict:
    cfg = config_for("workflow", data_dir)
    cfg["runs"] = {
        "bert": {
            "architecture": "bert",
            "tokenizer": "wp",
            "block_size": 32,
            "checkpoints": CHECKPOINTS,
            "model": dict(TINY),
            "optimizer": dict(OPT),
            "evaluation": {"max_blocks": 16},
        }
    }
    cfg["transferability"]["steps"] = None
    cfg["analyses"]["steps"] = None
    return cfg


def command(workdir) -> list[str]:
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--cores",
        "2",
        TARGET,
    ]


def prepare(workdir):
    import yaml

    data = workdir / "data"
    data.mkdir(parents=True)
    (data / "corpus.txt").write_text("\n".join(sentences(1500, seed=5)) + "\n")
    (workdir / "config.yaml").write_text(yaml.safe_dump(config(data)))


def weights(workdir) -> dict:
    from safetensors.torch import load_file

    return load_file(workdir / TARGET / "model.safetensors")


def test_sigkilled_segment_reruns_to_the_uninterrupted_weights(tmp_path):
    import torch

    killed, clean = tmp_path / "killed", tmp_path / "clean"
    for workdir in (killed, clean):
        prepare(workdir)

    # the run to interrupt: wait until the last segment is training, then SIGKILL
    # Snakemake and its job (their process group), as an OOM killer or a lost node would
    log = killed / f"results/logs/pretrain/bert/step-{CHECKPOINTS[-1]}.log"
    proc = subprocess.Popen(
        command(killed),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 600
        while not (log.exists() and f"step {CHECKPOINTS[1]}->" in log.read_text()):
            assert proc.poll() is None, "the run ended before the last segment started"
            assert time.time() < deadline, "the last segment never started"
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    segment = killed / f"results/bert/train/step-{CHECKPOINTS[-1]}"
    time.sleep(1.0)  # a job that outlived the kill would be writing by now
    assert not segment.exists(), "the segment finished before the kill: lengthen it"

    # a plain rerun completes the run; the uninterrupted run is the reference
    for workdir in (killed, clean):
        result = subprocess.run(command(workdir), capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
    resumed, reference = weights(killed), weights(clean)
    assert resumed.keys() == reference.keys()
    for name, tensor in reference.items():
        assert torch.equal(resumed[name], tensor), name
    assert not list(killed.glob("results/**/.*tmp-*")), "a half-written output survived"
