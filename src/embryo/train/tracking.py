"""Live training curves: every segment logs its steps through accelerate's trackers.

TensorBoard by default (``tracking.trackers``), Weights & Biases optionally. Each
optimizer step logs ``train/loss``, ``train/lr``, ``train/grad_norm`` (before clipping),
``train/tokens_per_second`` and, for a knowledge-inheritance student, ``train/alpha``;
each checkpoint its validation ``val/loss``, ``val/perplexity`` and ``val/accuracy``.

One log directory per run, ``results/{run}/tensorboard/``, continuous across segments:
each segment writes its own event file there, named for the steps it covers
(``...segment-{first}-{step}``), and removes, before it starts, the event files of any
earlier segment whose steps overlap its own (a segment rerun after a change, or after a
crash that left a partial file), so the curves hold each step once. The directory is a
live view beside the workflow's outputs, never an input of a job: ``train_curve.csv`` in
each segment directory stays the record. A W&B run is one per Embryo run, resumed by an
id derived from the run's name and config entry (:func:`wandb_id`), so its segments are
one curve there too.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import NamedTuple

from embryo.runtime.errors import EmbryoError

TRACKERS = ("tensorboard", "wandb")
# an event file of one segment: the training steps after ``first`` up to ``step``
_SEGMENT_FILE = re.compile(r"tfevents.*\.segment-(\d+)-(\d+)$")


class Tracking(NamedTuple):
    """Where and how a run's segments log (``tracking`` in the config)."""

    trackers: tuple[str, ...]
    log_dir: str  # results/{run}/tensorboard
    run: str
    wandb_project: str | None = None
    wandb_entity: str | None = None
    wandb_id: str | None = None


def from_config(config: dict, run: str) -> Tracking:
    """A run's :class:`Tracking` from the validated config (``tracking``). A job builds
    it from ``snakemake.config``, not from a param: changing the trackers reruns nothing."""
    spec = config["tracking"]
    return Tracking(
        trackers=tuple(spec["trackers"]),
        log_dir=f"results/{run}/tensorboard",
        run=run,
        wandb_project=spec["wandb"]["project"],
        wandb_entity=spec["wandb"]["entity"],
        wandb_id=wandb_id(run, config["runs"].get(run, {})),
    )


def wandb_id(run: str, entry: dict) -> str:
    """A W&B run id for every segment of a run: its name and a hash of its config entry
    (a changed run is a new W&B run, not a continuation of a curve it no longer is)."""
    digest = hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode())
    return f"{re.sub(r'[^A-Za-z0-9_-]', '-', run)}-{digest.hexdigest()[:12]}"


def covered(first: int, step: int) -> range:
    """The steps a segment logs: its training steps first+1..step, or step 0 alone."""
    return range(first + 1, step + 1) if step > first else range(step, step + 1)


def clear_overlapping(log_dir, first: int, step: int) -> list[Path]:
    """Remove the event files of earlier segments whose steps overlap this segment's."""
    mine = covered(first, step)
    removed = []
    for path in sorted(Path(log_dir).glob("*tfevents*")):
        match = _SEGMENT_FILE.search(path.name)
        if match is None:
            continue
        theirs = covered(int(match.group(1)), int(match.group(2)))
        if max(mine.start, theirs.start) < min(mine.stop, theirs.stop):
            path.unlink()
            removed.append(path)
    return removed


class LiveCurves:
    """The trackers of one segment, on the main process only (elsewhere it logs nothing)."""

    def __init__(self, tracking: Tracking | None, *, first: int, step: int, main: bool):
        self.trackers = []
        if tracking is None or not tracking.trackers or not main:
            return
        from accelerate.tracking import TensorBoardTracker, WandBTracker

        log_dir = Path(tracking.log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        clear_overlapping(log_dir, first, step)
        for name in tracking.trackers:
            if name == "tensorboard":
                tracker = TensorBoardTracker(
                    ".", log_dir, filename_suffix=f".segment-{first}-{step}", flush_secs=30
                )
            elif name == "wandb":
                tracker = WandBTracker(
                    tracking.wandb_project,
                    entity=tracking.wandb_entity,
                    id=tracking.wandb_id,
                    name=tracking.run,
                    resume="allow",
                    dir=str(log_dir.parent),
                )
            else:
                raise EmbryoError(f"tracking.trackers: {name!r}; expected one of {TRACKERS}")
            tracker.start()
            self.trackers.append(tracker)

    def log(self, values: dict, step: int) -> None:
        for tracker in self.trackers:
            tracker.log(values, step=step)

    def close(self) -> None:
        for tracker in self.trackers:
            tracker.finish()
