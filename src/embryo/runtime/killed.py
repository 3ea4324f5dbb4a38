"""Why a job died by a signal: the kernel's OOM killer, or something else that killed it.

A process the kernel kills for memory gets SIGKILL and writes nothing: Snakemake then
reports only "exit status 137". The process that waits for a job (the job's own process
while the warm interpreter runs it, :mod:`embryo.runtime.warm`) sees the signal, and the
memory cgroup the job runs in counts the kills of its OOM killer (cgroup v2's
``memory.events``, ``oom_kill``): read before the job and after, the count says whether
it was the OOM killer. :func:`report` says so on standard error (beside Snakemake's
error) and at the end of the job's log.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

EVENTS = Path("/sys/fs/cgroup/memory.events")


def oom_kills(events: Path = EVENTS) -> int | None:
    """The OOM killer's kills in this memory cgroup so far (None where it is not counted)."""
    try:
        for line in events.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    except (OSError, ValueError):
        return None
    return None


def explain(signum: int, before: int | None, after: int | None) -> str:
    """What killed a job that died by ``signum``, from the OOM-kill counts around it."""
    name = signal.Signals(signum).name
    if signum != signal.SIGKILL:
        return f"killed by {name}"
    if before is not None and after is not None and after > before:
        return (
            f"killed by SIGKILL from the kernel's OOM killer (its memory cgroup counted "
            f"{after - before} more OOM kill(s): {before} -> {after}): the job ran out of "
            "memory; lower its batch or block size, or give it more memory "
            "(resources.<rule>.mem_mb on a cluster)"
        )
    counted = "" if before is None else " (its memory cgroup counted no OOM kill)"
    return (
        f"killed by SIGKILL from outside{counted}: the kernel's OOM killer (dmesg says), a "
        "scheduler's memory or time limit, or a user"
    )


def report(message: str, logs=()) -> None:
    """``message`` on standard error and appended to each of the job's ``logs``."""
    line = f"embryo: this job was {message}\n"
    sys.stderr.write(line)
    sys.stderr.flush()
    for log in logs:
        try:
            with open(log, "a") as fh:
                fh.write(line)
        except OSError:
            pass
