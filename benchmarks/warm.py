"""Benchmark: a job's fixed cost in a process of its own vs. in the warm interpreter.

Usage: python benchmarks/warm.py [--jobs 8]

A job-like script (hand over to :mod:`embryo.runtime.warm`, import torch and transformers, load a
tiny saved BERT, encode one batch) is run ``--jobs`` times as its own process
(``EMBRYO_WARM=0``) and ``--jobs`` times delegated to a warm server, one after another,
each from process start to exit. The first warm job starts the server (that cost is
printed apart); the rest are what every later job of a run pays. Prints seconds per job
and the ratio. This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = """
from embryo.runtime.warm import delegate

delegate()

import sys

import torch
from transformers import AutoModel

model = AutoModel.from_pretrained(sys.argv[1])
with torch.no_grad():
    model(torch.ones(2, 8, dtype=torch.long))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    args = parser.parse_args()
    from transformers import BertConfig, BertModel

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "job.py").write_text(SCRIPT)
        BertModel(
            BertConfig(
                vocab_size=100,
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=64,
            )
        ).save_pretrained(work / "model")

        def job(**env) -> float:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "job.py", "model"],
                cwd=work,
                check=True,
                env={**os.environ, "EMBRYO_WARM_IDLE": "10", **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            return time.perf_counter() - started

        cold = [job(EMBRYO_WARM="0") for _ in range(args.jobs)]
        first = job()
        warm = [job() for _ in range(args.jobs)]
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"{'':28}{'median s/job':>14}{'min':>8}{'max':>8}")
    print(f"{'own process (EMBRYO_WARM=0)':28}{c:14.2f}{min(cold):8.2f}{max(cold):8.2f}")
    print(f"{'warm interpreter':28}{w:14.2f}{min(warm):8.2f}{max(warm):8.2f}")
    print(f"first warm job (starts the server): {first:.2f} s")
    print(f"fixed cost per job: {c / w:.1f}x lower warm ({c - w:.2f} s saved per job)")


if __name__ == "__main__":
    main()
