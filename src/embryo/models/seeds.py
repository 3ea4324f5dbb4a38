"""Seeded randomness: every random draw of every job is a function of named parts.

A job never relies on a global random state it did not seed: masks, data order,
dropout, training subsets and redrawn layers each draw from a seed derived from (run or
job seed, step, purpose), so a job computes the same numbers whatever ran before it, in
its own process or a warm interpreter's child, and a resumed segment makes exactly the
choices an uninterrupted run would.
"""

from __future__ import annotations

import hashlib


def derive_seed(*parts) -> int:
    """A 63-bit seed determined by ``parts`` (e.g. run seed, step, purpose)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def generator(*parts):
    """A ``torch.Generator`` seeded with :func:`derive_seed` of ``parts``."""
    import torch

    return torch.Generator().manual_seed(derive_seed(*parts))
