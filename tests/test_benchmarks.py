"""The benchmark scripts run: a smoke test of each on CPU at toy size (they assert
nothing of speed; the README reports their numbers)."""

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
    cmd = [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--device", "cpu",
           "--size", "tiny", "--batch", "4", "--block", "64", "--steps", "4", "--vocab", "500"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for arch in ("bert", "albert"):
        assert f"{arch}-tiny: " in done.stdout and " tokens/s" in done.stdout
    assert done.stdout.count("(bitwise equal)") == 2 and done.stdout.count(": PASS") == 2
    if not torch.cuda.is_available():
        plain = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py")],
                               capture_output=True, text=True, timeout=300, cwd=REPO)  # fmt: skip
        assert plain.returncode == 2 and "no CUDA device is visible" in plain.stdout
