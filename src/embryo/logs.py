"""Job logs: send a job's output to its Snakemake log file, and its error to the terminal too."""

from __future__ import annotations

import contextlib
import sys
import traceback

from embryo.errors import EmbryoError


@contextlib.contextmanager
def logged(path):
    """Redirect stdout/stderr (tqdm, transformers) to ``path`` for the duration.

    On failure the traceback goes to the log, and a one-line summary to the terminal,
    so that a bad input file is named where the user is looking.
    """
    terminal = sys.stderr
    with open(path, "w", buffering=1) as log:
        sys.stdout = sys.stderr = log
        try:
            yield
        except Exception as err:
            traceback.print_exc(file=log)
            kind = "error" if isinstance(err, EmbryoError) else type(err).__name__
            print(f"{kind}: {err}\n(see {path})", file=terminal)
            raise SystemExit(1) from None
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, terminal
