"""Snakemake's directory locks left behind by a killed run, found and released.

Snakemake locks a working directory while it runs (``.snakemake/locks/``) and removes the
lock when it exits; a run killed with SIGKILL (an OOM killer, a lost login node) cannot,
and the next ``snakemake`` refuses to start until ``snakemake --unlock``. A lock is stale
when no Snakemake process on this machine works in the directory: every live Snakemake
has it as its current directory (``-d`` changes into it). The workflow checks this when it
starts, releases stale locks with a warning, and then Snakemake's own rules apply
(``rerun-incomplete`` reruns the job that was cut short). Processes of other machines are
invisible here: working directories shared between hosts keep Snakemake's behaviour only
when a run on another host is live at the same time, so run one Snakemake per directory.
"""

from __future__ import annotations

import os
from pathlib import Path

LOCKS = Path(".snakemake") / "locks"


def _ancestors(pid: int) -> set[int]:
    """``pid`` and its parents, up to init."""
    out = set()
    while pid > 1 and pid not in out:
        out.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # field 4, after the command name
    return out


def live_snakemake(workdir: Path) -> list[int]:
    """Pids of other Snakemake processes (not this one or its parents) working in ``workdir``."""
    workdir, mine = workdir.resolve(), _ancestors(os.getpid())
    live = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in mine:
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            cwd = (proc / "cwd").resolve(strict=True)
        except OSError:  # gone, or not ours to inspect
            continue
        if b"snakemake" in cmdline and cwd == workdir:
            live.append(int(proc.name))
    return live


def release_stale_locks(workdir: Path) -> list[Path]:
    """Remove ``workdir``'s Snakemake locks when no Snakemake works there; what was removed."""
    locks = sorted((workdir / LOCKS).glob("*.lock"))
    if not locks or not Path("/proc/self").exists() or live_snakemake(workdir):
        return []
    for lock in locks:
        lock.unlink(missing_ok=True)
    return locks
