"""Starting a pretraining segment: in this process, on one node, or over several nodes.

A segment of ``processes`` data-parallel processes runs under torchrun
(``torch.distributed.run``; gloo on CPU, NCCL on GPUs, through :mod:`accelerate`), each
process running the ``main`` of a module (:mod:`embryo.train.segment`, or a student's).

- one node: ``torchrun --standalone``, a rendezvous on this host;
- ``nodes`` > 1: one torchrun *agent* a node, all joining one c10d rendezvous on the
  first node of the SLURM allocation (``srun --ntasks-per-node=1`` in the job that the
  profile submitted with ``nodes``, ``tasks`` and ``mpi``; ``rules/resources.smk``). The
  rendezvous id is the SLURM job id, its port derived from it; each agent starts
  ``processes / nodes`` workers, and torchrun numbers them 0 .. processes-1.

Whatever the split, an optimizer step is the same (:meth:`embryo.train.segment.Trainer.step`):
the settings and directories travel to every process as one pickle, on the shared file
system beside the output when the segment spans nodes. The rendezvous store is a TCP
port, as torch.distributed needs: on a cluster it is reached by the allocation's nodes.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from embryo.runtime.errors import EmbryoError

RDZV_PORT_BASE = 29500  # the rendezvous port of a multi-node segment: base + job id mod span
RDZV_PORT_SPAN = 10000


def agent_command(
    entry: str,
    spec,
    *,
    nproc_per_node: int,
    threads: int,
    nnodes: int = 1,
    endpoint: str | None = None,
    rdzv_id: str | None = None,
) -> list[str]:
    """The torchrun command of one node's agent: standalone on one node, else a member of
    the c10d rendezvous at ``endpoint`` (host:port) named ``rdzv_id``."""
    cmd = [sys.executable, "-m", "torch.distributed.run"]
    if nnodes == 1:
        cmd.append("--standalone")
    else:
        if endpoint is None or rdzv_id is None:
            raise EmbryoError("a segment over several nodes needs a rendezvous endpoint and id")
        cmd += [
            f"--nnodes={nnodes}",
            "--rdzv-backend=c10d",
            f"--rdzv-endpoint={endpoint}",
            f"--rdzv-id={rdzv_id}",
        ]
    return cmd + [
        f"--nproc-per-node={nproc_per_node}",
        "-m",
        entry,
        str(spec),
        f"--threads={threads}",
    ]


def slurm_hosts(nodes: int) -> tuple[str, list[str]]:
    """The SLURM job id and host names of the allocation this job runs in.

    The job step Snakemake runs keeps ``SLURM_JOB_ID`` but not the node list, so the list
    is asked of ``scontrol``. An error unless the allocation has at least ``nodes`` nodes.
    """
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        raise EmbryoError(
            f"this segment spans {nodes} nodes (resources nodes) but runs outside a SLURM "
            "allocation (no SLURM_JOB_ID): submit it with --profile profiles/slurm, or run "
            f"Snakemake inside an allocation of {nodes} nodes (salloc)"
        )
    nodelist = os.environ.get("SLURM_JOB_NODELIST")
    try:
        if not nodelist:
            shown = subprocess.run(
                ["scontrol", "show", "job", "-o", job], capture_output=True, text=True, check=True
            ).stdout
            nodelist = next(f.split("=", 1)[1] for f in shown.split() if f.startswith("NodeList="))
        hosts = subprocess.run(
            ["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError, StopIteration) as e:
        raise EmbryoError(f"SLURM job {job}: could not read its nodes with scontrol ({e})") from e
    if len(hosts) < nodes:
        raise EmbryoError(f"SLURM job {job} has {len(hosts)} node(s); this segment asks {nodes}")
    return job, hosts


def command(entry: str, spec, *, processes: int, nodes: int, threads: int) -> list[str]:
    """The command that starts every process of the segment: one agent, or ``srun`` of
    one agent on each of ``nodes`` nodes of this SLURM allocation."""
    if processes % nodes:
        raise EmbryoError(f"{processes} processes do not split evenly over {nodes} nodes")
    per_node = processes // nodes
    per_process = max(1, (threads or os.cpu_count() or 1) // per_node)
    if nodes == 1:
        return agent_command(entry, spec, nproc_per_node=per_node, threads=per_process)
    job, hosts = slurm_hosts(nodes)
    port = RDZV_PORT_BASE + int(job) % RDZV_PORT_SPAN
    agent = agent_command(
        entry,
        spec,
        nproc_per_node=per_node,
        threads=per_process,
        nnodes=nodes,
        endpoint=f"{hosts[0]}:{port}",
        rdzv_id=job,
    )
    return [
        "srun",
        f"--nodes={nodes}",
        f"--ntasks={nodes}",
        "--ntasks-per-node=1",
        "--kill-on-bad-exit=1",
        *([f"--cpus-per-task={threads}"] if threads else []),
        *agent,
    ]


def launch(
    settings,
    *,
    run,
    entry: str,
    processes: int = 1,
    nodes: int = 1,
    threads: int = 0,
    tracking=None,
    **dirs,
) -> dict:
    """Run a segment: ``run(settings, threads=..., **dirs)`` in this process, or
    ``processes`` data-parallel processes over ``nodes`` nodes, each running the ``main``
    of module ``entry``. Returns the segment's metrics; a failing process fails the job
    with its exit status."""
    if processes == 1 and nodes == 1:
        return run(settings, threads=threads, tracking=tracking, **dirs)
    out_dir = Path(dirs["out_dir"])
    # beside the output (a shared file system) when other nodes must read the spec
    where = out_dir.parent if nodes > 1 else None
    if where is not None:
        where.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.launch-", dir=where))
    try:
        spec = tmp / "segment.pickle"
        dirs = {k: str(v) if v else None for k, v in dirs.items()}
        spec.write_bytes(pickle.dumps({"settings": settings, "dirs": dirs, "tracking": tracking}))
        cmd = command(entry, spec, processes=processes, nodes=nodes, threads=threads)
        print("launching:", " ".join(cmd), flush=True)
        done = subprocess.run(cmd)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if done.returncode:
        raise EmbryoError(
            f"{processes} pretraining processes on {nodes} node(s) failed "
            f"(exit status {done.returncode})"
        )
    return json.loads((out_dir / "metrics.json").read_text())


def main(argv=None, *, run) -> None:
    """One process of a multi-process segment (started by :func:`launch` through torchrun)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("spec", help="pickle of the segment's settings and directories")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    spec = pickle.loads(Path(args.spec).read_bytes())
    run(spec["settings"], threads=args.threads, tracking=spec.get("tracking"), **spec["dirs"])
