"""Benchmark: each rule's fixed cost per job, cold and warm, on the tiny test workflow.

Usage: .venv/bin/python benchmarks/startup.py [--cores 2] [--keep DIR] [TARGET ...]

A job's fixed cost is the time from the start of the process Snakemake starts for the job
(the Python process running the job's script) to the job's first useful work (entering
:func:`embryo.runtime.logs.logged`): the interpreter's start, Snakemake's script preamble, the
hand-over to the warm interpreter and the script's imports. Every job writes it as the
first line of its log (``embryo: started work 0.41 s after the job's process started
(warm)``); in the warm interpreter it is still counted from the start of the job's own
process, the one that handed over, not from the forked child's. What a job imports inside
``logged`` (the library imports torch lazily, in the functions that need it: pretrain,
export_checkpoint, tokenize_corpus...) counts as work there; its wall time shows it.

The tiny workflow of ``tests/test_workflow.py`` (its ``tiny_config`` on a corpus from
``tests/conftest.py``'s ``sentences``, through its ``snakemake()`` helper: 95 jobs, or
those of the TARGETs given) runs twice, each in a fresh directory: cold (``EMBRYO_WARM=0``,
every job in a process of its own), then warm (the default: jobs handed to
:mod:`embryo.runtime.warm`). The jobs come from Snakemake's output (each job's rule, log and
benchmark file), the fixed cost from each job's log, the wall time from its benchmark file
(``results/benchmarks/``, column ``s``; the warm server's start counts in the jobs that
wait for it). Prints per rule the jobs, the median and max fixed cost cold and warm, and
the median wall time per job cold and warm; then, for reference, what a fresh interpreter
spends on ``python -c pass`` (the whole process) and on importing ``embryo``, Snakemake's
preamble, torch and transformers (the import alone), medians of 5. Timings are noisy on a
shared machine: compare the numbers of one run. Takes about 6 min on two idle cores, 15 min
with other work running; the warm run's server exits by itself 30 s after it. This is a
benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JOB = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
FIELD = re.compile(r"^\s+(log|benchmark): (.+)$")
LINE = re.compile(r"^embryo: started work (\d+\.\d+) s after the job's process started \((\w+)\)$")
IMPORTS = {  # label: what a fresh interpreter runs, timed alone
    "import embryo": "import embryo",
    "import embryo.runtime.warm": "import embryo.runtime.warm",
    "Snakemake's script preamble": (
        "from snakemake.logging import logger; from snakemake.iocontainers import Snakemake"
    ),
    "import torch": "import torch",
    "import transformers": "import transformers",
    "transformers' BERT model": "import transformers.models.bert.modeling_bert",
}


def run_workflow(workdir: Path, cores: int, warm: bool, targets: list[str]):
    """Run the tiny workflow in ``workdir``: its wall time, and its jobs with their costs."""
    from tests.conftest import sentences
    from tests.test_workflow import snakemake, tiny_config

    data = workdir / "data"
    data.mkdir(parents=True)
    (data / "corpus.txt").write_text("\n".join(sentences(1500, seed=5)) + "\n")
    saved = {name: os.environ.pop(name, None) for name in ("EMBRYO_WARM", "SLURM_JOB_ID")}
    if not warm:
        os.environ["EMBRYO_WARM"] = "0"
    try:
        started = time.perf_counter()
        result = snakemake(workdir, tiny_config(data), "--cores", str(cores), *targets)
        wall = time.perf_counter() - started
    finally:
        os.environ.pop("EMBRYO_WARM", None)
        os.environ.update({name: value for name, value in saved.items() if value is not None})
    if result.returncode != 0:
        sys.exit(f"the {'warm' if warm else 'cold'} run failed:\n{result.stderr[-5000:]}")
    jobs: dict[str, dict] = {}  # by log file
    current: dict | None = None
    for line in (result.stdout + result.stderr).splitlines():
        if m := JOB.match(line):
            current = {"rule": m.group(1)}
        elif current is not None and (m := FIELD.match(line)):
            current[m.group(1)] = m.group(2).split(", ")[0]
            if m.group(1) == "log":
                jobs.setdefault(current["log"], current)
    for job in jobs.values():
        job["fixed"] = job["mode"] = job["wall"] = None
        for line in (workdir / job["log"]).read_text(errors="replace").splitlines()[:20]:
            if m := LINE.match(line):
                job["fixed"], job["mode"] = float(m.group(1)), m.group(2)
                break
        if "benchmark" in job:
            with open(workdir / job["benchmark"]) as tsv:
                rows = list(csv.DictReader(tsv, delimiter="\t"))
            job["wall"] = statistics.median(float(row["s"]) for row in rows)
    return wall, list(jobs.values())


def import_seconds(code: str, repeat: int = 5) -> float:
    """Median seconds ``code`` takes in a fresh interpreter (the import alone)."""
    timed = f"import time\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
    command = [sys.executable, "-c", timed]
    return statistics.median(
        float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        for _ in range(repeat)
    )


def process_seconds(repeat: int = 5) -> float:
    """Median wall time of ``python -c pass``: the interpreter's own start and exit."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fmt(values: list[float], how) -> str:
    return f"{how(values):.2f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="run in DIR/cold and DIR/warm, and keep them"
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="Snakemake targets")
    args = parser.parse_args()
    if args.keep and any((args.keep / mode).exists() for mode in ("cold", "warm")):
        parser.error(f"{args.keep}/cold or {args.keep}/warm exists already")
    sys.path.insert(0, str(REPO))  # the tests' workflow helpers

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        runs = {}
        for mode in ("cold", "warm"):
            print(f"running the tiny workflow {mode} ({args.cores} cores) ...", flush=True)
            runs[mode] = run_workflow(root / mode, args.cores, mode == "warm", args.targets)
    print("timing the interpreter and imports ...", flush=True)
    reference = {"python -c pass (the whole process)": process_seconds()}
    reference |= {label: import_seconds(code) for label, code in IMPORTS.items()}

    rules: dict[str, dict[str, list]] = {}
    for mode, (_, jobs) in runs.items():
        for job in jobs:
            cell = rules.setdefault(job["rule"], {}).setdefault(mode, {"fixed": [], "wall": []})
            for key in ("fixed", "wall"):
                if job[key] is not None:
                    cell[key].append(job[key])
    rules["all jobs"] = {
        mode: {
            key: [value for cells in rules.values() for value in cells.get(mode, {}).get(key, [])]
            for key in ("fixed", "wall")
        }
        for mode in runs
    }

    print()
    print(f"{'':24}{'fixed cost per job, s':^36}{'wall per job, s':^20}")
    print(
        f"{'rule':18}{'jobs':>6}{'cold med':>10}{'max':>7}{'warm med':>12}{'max':>7}"
        f"{'cold med':>10}{'warm med':>10}"
    )
    med, top = statistics.median, max
    for rule, cells in rules.items():
        if rule == "all jobs":
            print("-" * 80)
        cold, warm = cells.get("cold", {}), cells.get("warm", {})
        n = max(len(cold.get("fixed", [])), len(warm.get("fixed", [])))
        print(
            f"{rule:18}{n:6d}"
            f"{fmt(cold.get('fixed', []), med):>10}{fmt(cold.get('fixed', []), top):>7}"
            f"{fmt(warm.get('fixed', []), med):>12}{fmt(warm.get('fixed', []), top):>7}"
            f"{fmt(cold.get('wall', []), med):>10}{fmt(warm.get('wall', []), med):>10}"
        )
    for mode, (wall, jobs) in runs.items():
        fixed = [j["fixed"] for j in jobs if j["fixed"] is not None]
        modes = sorted({j["mode"] for j in jobs if j["mode"]})
        missing = [j["log"] for j in jobs if j["fixed"] is None]
        note = f"; no fixed cost in {len(missing)} logs, e.g. {missing[0]}" if missing else ""
        print(
            f"{mode} run: {len(jobs)} jobs in {wall:.0f} s, their fixed costs add up to "
            f"{sum(fixed):.0f} s (logs say: {', '.join(modes)}){note}"
        )

    print()
    print("in a fresh interpreter, median of 5:")
    for label, seconds in reference.items():
        print(f"  {label:34}{seconds:6.2f} s")


if __name__ == "__main__":
    main()
