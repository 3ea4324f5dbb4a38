"""Benchmark: building Embryo's job graph against a trivial Snakefile with the same graph.

Usage: python benchmarks/graph.py [--configfile config/paper.yaml] [--repeats 3]

Embryo's part of a dry run is what it adds on top of Snakemake itself: validating the
config, wildcard constraints, input functions and params. To measure that part alone, the
benchmark first asks Snakemake for the job graph of ``snakemake -n`` on the config
(``--dag``: every job and every edge), then writes a trivial Snakefile with exactly that
graph: one rule whose job ``{id}`` touches ``jobs/{id}`` and takes as input the files of
the jobs it depends on (a dict lookup). Every Embryo rule is a ``script:`` rule, and
Snakemake checks each such job's script while it builds the graph, so the trivial rule
is a ``script:`` rule too (a one-line script); a ``shell:`` variant is timed as well, to
show what that check costs. All are dry-run (``-n -q``) from an empty working directory,
in turn, ``--repeats`` times; the medians and their ratios are printed. The target
(issue 7) is a ratio of at most 1.5 against the trivial Snakefile. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TRIVIAL = """\
import json

EDGES = json.load(open("edges.json"))


rule all:
    input:
        expand("jobs/{{id}}", id={final!r}),


rule job:
    output:
        "jobs/{{id}}",
    input:
        lambda w: [f"jobs/{{d}}" for d in EDGES[w.id]],
    {action}
"""
ACTIONS = {  # the trivial rule's action: a script, as Embryo's rules, or a shell command
    "trivial": 'script:\n        "touch.py"',
    "trivial-shell": 'shell:\n        "touch {output}"',
}


def snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True)


def job_graph(configfile: Path, workdir: Path) -> dict[str, list[str]]:
    """{job id: ids of the jobs it needs} of a dry run, from Snakemake's ``--dag`` output."""
    dot = snakemake(
        "-n",
        "--dag",
        "-s",
        str(REPO / "Snakefile"),
        "--configfile",
        str(configfile),
        "-d",
        str(workdir),
        cwd=REPO,
    ).stdout
    nodes = re.findall(r"^\s*(\d+)\[label", dot, flags=re.M)
    edges = {n: [] for n in nodes}
    for src, dst in re.findall(r"^\s*(\d+) -> (\d+)", dot, flags=re.M):
        edges[dst].append(src)
    return edges


def timed(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    snakemake("-n", "-q", *args, cwd=cwd)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, default=REPO / "config" / "paper.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    configfile = args.configfile.resolve()
    # the config's relative data_dir is resolved against the working directory: the real
    # run's sits beside the repository, like the repository itself
    with (
        tempfile.TemporaryDirectory(dir=REPO.parent) as real,
        tempfile.TemporaryDirectory() as trivial,
    ):
        real, trivial = Path(real), Path(trivial)
        edges = job_graph(configfile, real)
        needed = {d for deps in edges.values() for d in deps}
        final = sorted(n for n in edges if n not in needed)  # the target rule all
        (trivial / "edges.json").write_text(json.dumps(edges))
        (trivial / "touch.py").write_text("open(snakemake.output[0], 'w').close()\n")
        for name, action in ACTIONS.items():
            (trivial / name).write_text(TRIVIAL.format(final=final, action=action))
        runs = {"embryo": [], **{name: [] for name in ACTIONS}}
        for _ in range(args.repeats):
            runs["embryo"].append(
                timed(
                    "-s",
                    str(REPO / "Snakefile"),
                    "--configfile",
                    str(configfile),
                    "-d",
                    str(real),
                    cwd=REPO,
                )
            )
            for name in ACTIONS:
                runs[name].append(timed("-s", name, cwd=trivial))
    median = {name: statistics.median(times) for name, times in runs.items()}
    print(
        f"config: {configfile.relative_to(REPO) if configfile.is_relative_to(REPO) else configfile}"
    )
    print(f"jobs: {len(edges)} (edges: {sum(map(len, edges.values()))})")
    for name, times in runs.items():
        print(
            f"{name:13s} snakemake -n: median {median[name]:.2f} s "
            f"({', '.join(f'{t:.2f}' for t in times)})"
        )
    print(
        f"graph building: embryo {median['embryo']:.2f} s, trivial Snakefile "
        f"{median['trivial']:.2f} s, ratio {median['embryo'] / median['trivial']:.2f}x "
        f"(target <= 1.5x); against shell: rules "
        f"{median['embryo'] / median['trivial-shell']:.2f}x"
    )


if __name__ == "__main__":
    main()
