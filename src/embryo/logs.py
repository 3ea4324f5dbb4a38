"""Job logs: send a job's output to its Snakemake log file, and its error to the terminal too."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback

from embryo.errors import EmbryoError


@contextlib.contextmanager
def logged(path):
    """Send everything written to stdout/stderr (tqdm, transformers, C libraries) to ``path``.

    Both Python's streams and the file descriptors 1 and 2 are redirected, so that output
    reaches the log even through a handler made before the job began (transformers' logger
    in the warm interpreter, :mod:`embryo.warm`). On failure the traceback goes to the
    log, and a one-line summary to the terminal, so that a bad input file is named where
    the user is looking.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "w", buffering=1) as log, open(saved[1], "w", closefd=False) as terminal:
        streams = sys.stdout, sys.stderr
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
        try:
            yield
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
