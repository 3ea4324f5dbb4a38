"""BLiMP minimal pairs (Warstadt et al. 2020): one JSON-lines file per paradigm.

Each line holds a grammatical and an ungrammatical sentence with the paradigm's field
and phenomenon. Read once by the input check (:mod:`embryo.data.checks`) before any
model trains, then by every BLiMP job (:mod:`embryo.embryology.blimp`).
"""

from __future__ import annotations

from pathlib import Path

from embryo.data.records import read_records
from embryo.runtime.errors import EmbryoError

REQUIRED = ("sentence_good", "sentence_bad", "field", "linguistics_term", "UID")


def load_blimp(root, *, paradigms=None, max_pairs: int | None = None) -> list[dict]:
    """BLiMP pairs from ``root/{paradigm}.jsonl`` (files in name order, lines in order).

    Each pair is a dict with `REQUIRED` keys (``UID`` = paradigm) plus ``pairID``.
    ``paradigms`` selects file stems (an unknown one is an EmbryoError); ``max_pairs``
    keeps the first pairs of each paradigm. Malformed lines raise EmbryoError (file:line).
    """
    root = Path(root)
    files = sorted(root.glob("*.jsonl"))
    if not files:
        raise EmbryoError(f"{root}: no BLiMP *.jsonl file found")
    available = [p.stem for p in files]
    if paradigms is not None:
        paradigms = [paradigms] if isinstance(paradigms, str) else list(paradigms)
        unknown = [p for p in paradigms if p not in available]
        if unknown:
            raise EmbryoError(f"{root}: unknown BLiMP paradigms {unknown}; found {available}")
        files = [p for p in files if p.stem in paradigms]
    pairs = []
    for path in files:
        n_kept = 0
        for _, rec in read_records(path, REQUIRED):
            if max_pairs is not None and n_kept >= max_pairs:
                break
            pair = {key: rec[key] for key in REQUIRED}
            pair["pairID"] = str(rec.get("pairID", n_kept))
            pairs.append(pair)
            n_kept += 1
    return pairs
