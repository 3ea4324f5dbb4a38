"""The benchmark scripts run: a smoke test of each on CPU at toy size (they assert
nothing of speed; docs/performance.md reports their numbers)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from .conftest import REPO

pytestmark = pytest.mark.slow


def test_gpu_check_runs_its_segments_and_chain_check_on_cpu():
    """benchmarks/gpu_check.py with --device cpu: the same code as on a GPU, tiny models;
    on CPU a chain of segments is the run bit for bit."""
    cmd = [
        sys.executable,
        str(REPO / "benchmarks" / "gpu_check.py"),
        "--device",
        "cpu",
        "--size",
        "tiny",
        "--batch",
        "4",
        "--block",
        "64",
        "--steps",
        "4",
        "--vocab",
        "500",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for arch in ("bert", "albert"):
        assert f"{arch}-tiny: " in done.stdout and " tokens/s" in done.stdout
    assert done.stdout.count("(bitwise equal)") == 2 and done.stdout.count(": PASS") == 2
    if not torch.cuda.is_available():
        plain = subprocess.run(
            [sys.executable, str(REPO / "benchmarks" / "gpu_check.py")],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=REPO,
        )
        assert plain.returncode == 2 and "no CUDA device is visible" in plain.stdout


def test_throughput_compares_every_variant(tmp_path):
    """benchmarks/throughput.py at toy size, torch.compile included: every variant timed,
    every ratio of an embryo variant over a baseline reported."""
    import json

    out = tmp_path / "throughput.json"
    cmd = [
        sys.executable,
        str(REPO / "benchmarks" / "throughput.py"),
        "--hidden",
        "32",
        "--layers",
        "1",
        "--heads",
        "2",
        "--vocab",
        "600",
        "--batch",
        "4",
        "--block",
        "32",
        "--windows",
        "2",
        "--warmup",
        "1",
        "--compile",
        "--json",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    names = {"naive HF", "packed HF", "packed HF compiled", "embryo", "embryo compiled"}
    assert set(result["variants"]) == names
    assert {
        f"{a} / {b}"
        for a in ("embryo", "embryo compiled")
        for b in ("naive HF", "packed HF", "packed HF compiled")
    } == set(result["ratios"])
    packed = result["variants"]["packed HF"]
    assert packed["real_tokens_per_sequence"] == 32  # full blocks: no padding
    assert all(v["useful_fraction_of_peak"] > 0 for v in result["variants"].values())


def test_finetune_benchmark_runs_the_job_and_the_trainer(tmp_path, shared_data):
    """benchmarks/finetune.py on SST-2 at toy size: every variant fine-tunes and predicts."""
    import json

    out = tmp_path / "finetune.json"
    cmd = [
        sys.executable,
        str(REPO / "benchmarks" / "finetune.py"),
        "--n",
        "64",
        "--pairs",
        "1",
        "--pretrain",
        "2",
        "--json",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert {j["variant"] for j in result["rounds"][0]} == {
        "embryo",
        "embryo-pieces",
        "embryo-whole",
        "embryo-grouped",
        "hf-trainer",
        "hf-trainer-grouped",
    }
    for job in result["rounds"][0]:
        assert 0.0 <= job["score"] <= 1.0 and job["examples_per_s"] > 0
    assert set(result["speedup"]) == {
        "embryo over hf-trainer",
        "embryo-pieces over hf-trainer",
        "embryo-whole over hf-trainer",
        "embryo-grouped over hf-trainer-grouped",
        "embryo over embryo-whole",
    }


def test_analyses_benchmark_times_each_analysis_and_matches_minicons(tmp_path, shared_data):
    """benchmarks/analyses.py at toy size: every per-checkpoint analysis timed, and the
    PLL equal to minicons' and the features to a plain loop's (what docs/performance.md's
    ratios stand on)."""
    import json

    out = tmp_path / "analyses.json"
    cmd = [
        sys.executable,
        str(REPO / "benchmarks" / "analyses.py"),
        "--size",
        "tiny",
        "--sentences",
        "10",
        "--facts",
        "1",
        "--pairs",
        "1",
        "--blocks",
        "2",
        "--rounds",
        "1",
        "--device",
        "cpu",
        "--json",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert set(result["analyses"]) == {
        "features (every layer)",
        "mask prediction by POS",
        "LAMA",
        "BLiMP (PLL)",
        "weights",
        "validation loss",
    }
    assert result["pll_vs_minicons"]["sentences"] == 134  # both sentences of 67 paradigms
    assert result["pll_vs_minicons"]["max_abs_difference"] < 1e-4
    assert result["features_vs_plain"]["max_abs_difference"] < 1e-2
