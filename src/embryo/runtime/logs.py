"""Job logs: send a job's output to its Snakemake log file, and its error to the terminal too."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback

from embryo.runtime import warm
from embryo.runtime.errors import EmbryoError

# The first line of a Snakemake job's log: seconds from the start of the process Snakemake
# started for the job to the job's work (entering logged), and where the job runs: its
# own process ("cold") or a child of the warm interpreter ("warm", see embryo.runtime.warm).
STARTED = "embryo: started work {seconds:.2f} s after the job's process started ({mode})"
# The last line of a Snakemake job's log that succeeded: the library modules the job ran,
# as its code fingerprint counts them (embryo.runtime.fingerprint; tests/test_workflow.py
# checks that every rule's fingerprint covers what its jobs ran).
RAN = "embryo: ran {modules}"


@contextlib.contextmanager
def logged(path):
    """Send everything written to stdout/stderr (tqdm, transformers, C libraries) to ``path``.

    Both Python's streams and the file descriptors 1 and 2 are redirected, so that output
    reaches the log even through a handler made before the job began (transformers' logger
    in the warm interpreter, :mod:`embryo.runtime.warm`). On failure the traceback goes to the
    log, and a one-line summary to the terminal, so that a bad input file is named where
    the user is looking. In a Snakemake job the log begins with :data:`STARTED`, the job's
    fixed cost (``benchmarks/startup.py`` collects it), and ends, when it succeeds, with
    :data:`RAN`: the library modules it ran.
    """
    in_job = hasattr(sys.modules.get("__main__"), "snakemake")
    started = _started() if in_job else None
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "w", buffering=1) as log, open(saved[1], "w", closefd=False) as terminal:
        streams = sys.stdout, sys.stderr
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
        if started is not None:
            print(STARTED.format(seconds=started[0], mode=started[1]), file=log)
        try:
            yield
            if in_job:
                print(RAN.format(modules=" ".join(ran_modules()) or "-"), file=log)
        except Exception as err:
            traceback.print_exc(file=log)
            kind = "error" if isinstance(err, EmbryoError) else type(err).__name__
            print(f"{kind}: {err}\n(see {path})", file=terminal, flush=True)
            raise SystemExit(1) from None
        finally:
            for stream in (log, sys.__stdout__, sys.__stderr__):
                stream.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            sys.stdout, sys.stderr = streams
    for fd in saved:
        os.close(fd)


def ran_modules() -> list[str]:
    """The library modules loaded in this process that code fingerprints count."""
    from embryo.runtime.fingerprint import counted

    return sorted(m for m in list(sys.modules) if m.startswith("embryo.") and counted(m))


def _started() -> tuple[float, str] | None:
    """Seconds since the job's process started, and "warm" or "cold"; None off Linux.

    In the warm interpreter's child the job's process is the one that delegated to it
    (:data:`embryo.runtime.warm.CLIENT`). Its start is field 22 of ``/proc/<pid>/stat``, in clock
    ticks since boot, compared with the boot-time clock (``/proc/stat``'s ``btime`` is
    whole seconds, too coarse for this).
    """
    mode = "warm" if os.environ.get(warm.CHILD) == str(os.getpid()) else "cold"
    client = os.environ.get(warm.CLIENT, "") if mode == "warm" else ""
    pid = int(client) if client.isdigit() else os.getpid()
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            ticks = int(stat.read().rsplit(b")", 1)[1].split()[19])  # after "pid (comm)"
        now = time.clock_gettime(time.CLOCK_BOOTTIME)
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return max(0.0, now - ticks / os.sysconf("SC_CLK_TCK")), mode
