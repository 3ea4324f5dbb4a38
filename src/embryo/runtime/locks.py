"""Snakemake's directory locks left behind by a killed run, found and released.

Snakemake locks a working directory while it runs (``.snakemake/locks/``) and removes the
lock when it exits; a run killed with SIGKILL (an OOM killer, a lost login node) cannot,
and the next ``snakemake`` refuses to start until ``snakemake --unlock``. Releasing such
a lock by mistake lets two schedulers write the same outputs, so a lock is released only
when its holder is provably dead. Every run records its holder when it starts, after it
has taken the lock (:func:`record_owner`, from the workflow's ``onstart``): the host, the
boot, the process and its start time, and whether its jobs run on this machine. At the
next start (:func:`release_stale_locks`) the lock is stale only if

- the record names this host and this boot, and its process is gone (no process with
  that pid, or one started at another time: the pid was reused);
- that run executed its jobs locally (under a cluster executor its jobs may outlive it);
- the directory is on a local filesystem (on NFS, Lustre, GPFS, ... another host may be
  running there whatever this host sees);
- and no Snakemake process on this machine works in the directory (every live Snakemake
  has it as its current directory; ``-d`` changes into it).

Otherwise the lock is kept and :func:`held_by` says by whom, for a message that tells
how to unlock by hand.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from embryo.runtime.atomic import write_json

LOCKS = Path(".snakemake") / "locks"
OWNER = Path(".snakemake") / "embryo-lock-owner.json"
# filesystems whose other clients this host cannot see (fuse.*: any FUSE filesystem)
NETWORK_FILESYSTEMS = frozenset(
    "nfs nfs4 cifs smb3 smbfs lustre gpfs beegfs ceph glusterfs 9p afs ocfs2 gfs2 panfs "
    "wekafs orangefs pvfs2 ncpfs".split()
)


def _stat(pid: int) -> list[str] | None:
    """Fields 3 on of ``/proc/<pid>/stat`` (after the command name), None if no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _ancestors(pid: int) -> set[int]:
    """``pid`` and its parents, up to init."""
    out = set()
    while pid > 1 and pid not in out:
        out.add(pid)
        fields = _stat(pid)
        if fields is None:
            break
        pid = int(fields[1])  # field 4: the parent
    return out


def live_snakemake(workdir: Path) -> list[int]:
    """Pids of other Snakemake processes (not this one or its parents) working in ``workdir``."""
    # the same directory by device and inode, not by the path /proc/<pid>/cwd reads as: that
    # path is the process's view (a chroot, a bind mount, a container's root) and may differ
    here, mine = os.stat(workdir), _ancestors(os.getpid())
    live = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in mine:
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            cwd = os.stat(proc / "cwd")
        except OSError:  # gone, or not ours to inspect
            continue
        if b"snakemake" in cmdline and (cwd.st_dev, cwd.st_ino) == (here.st_dev, here.st_ino):
            live.append(int(proc.name))
    return live


def boot_id() -> str | None:
    """This boot's id (Linux), None where the system does not tell."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), None if there is none."""
    fields = _stat(pid)
    return None if fields is None else int(fields[19])  # field 22


def filesystem(path: Path) -> str | None:
    """The type of the filesystem ``path`` is on (its longest mount point in /proc/mounts)."""
    path, best, kind = str(Path(path).resolve()), "", None
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].encode().decode("unicode_escape")  # \040 for a space
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def is_network(kind: str | None) -> bool:
    """Whether a filesystem type is shared with hosts this one cannot see (None: unknown)."""
    return kind is None or kind in NETWORK_FILESYSTEMS or kind.startswith("fuse")


def record_owner(workdir: Path, *, local: bool) -> None:
    """Record this process as the holder of ``workdir``'s lock (``local``: whether its jobs
    run on this machine)."""
    pid = os.getpid()
    write_json(
        Path(workdir) / OWNER,
        {
            "host": socket.gethostname(),
            "boot": boot_id(),
            "pid": pid,
            "started": start_time(pid),
            "local": local,
        },
    )


def held_by(workdir: Path) -> str | None:
    """Why ``workdir``'s lock is not stale (module docstring); None when it is."""
    workdir = Path(workdir)
    try:
        owner = json.loads((workdir / OWNER).read_text())
    except OSError:
        return "no record of the run that holds it"
    except ValueError:
        return f"{workdir / OWNER} is not readable JSON"
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        return f"{workdir / OWNER} names no process"
    who = f"Snakemake pid {owner['pid']} on {owner.get('host')}"
    if owner.get("host") != socket.gethostname():
        return f"{who}, another host"
    if owner.get("boot") is None or owner.get("boot") != boot_id():
        return f"{who}, before this machine's last boot or of unknown boot"
    started = start_time(owner["pid"])
    if started is not None and started == owner.get("started"):
        return f"{who}, still running"
    if not owner.get("local"):
        return f"{who}, which ran its jobs through a cluster executor (they may still run)"
    kind = filesystem(workdir)
    if is_network(kind):
        return f"{who}; {workdir} is on a {kind or 'unknown'} filesystem that other hosts share"
    live = live_snakemake(workdir)
    if live:
        return f"Snakemake pid {live[0]}, working in this directory"
    return None


def release_stale_locks(workdir: Path) -> tuple[list[Path], str | None]:
    """Remove ``workdir``'s Snakemake locks if they are stale: (what was removed, or [] and
    why they were kept; None when there were none)."""
    workdir = Path(workdir)
    locks = sorted((workdir / LOCKS).glob("*.lock"))
    if not locks:
        return [], None
    reason = held_by(workdir)
    if reason is not None:
        return [], reason
    for lock in locks:
        lock.unlink(missing_ok=True)
    return locks, None
