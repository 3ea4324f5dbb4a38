"""How a finding is decided and how its row reads: the verdicts, the margin rule, the row.

A claim is decided against its *margin*, the smallest effect that matters (config
``findings.margins``, each with its reason in ``config/schema.yaml``): ``reproduced`` when
the effect clears the margin with the stated confidence (its interval's lower bound above
it), ``not reproduced`` when the interval lies below it (no effect that matters is
compatible with the data), ``inconclusive`` in between. A claim the data cannot speak to
(a series at its floor or ceiling throughout, too few items, a single fine-tuning seed
where the seeds' spread is the question) is ``untestable``, with the reason, never a
verdict; a row that reports without testing is ``descriptive``. :func:`decide` is the
margin rule; :class:`Finding` is a row of the findings table, which states the effect
with its interval, the margin, and what would have changed the verdict.
"""

from __future__ import annotations

import math
from typing import NamedTuple

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
UNTESTABLE, DESCRIPTIVE = "untestable", "descriptive"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, UNTESTABLE, DESCRIPTIVE)

EMBRYOLOGY = "Embryology (Chiang et al. 2020)"
TRANSFER = "Transferability (Tamkin et al. 2020)"
INHERITANCE = "Knowledge inheritance (Qin et al. 2021)"


class Finding(NamedTuple):
    """A row of the findings table: one claim on one scope."""

    study: str
    finding: str
    scope: str
    measured: str
    verdict: str
    rule: str
    effect: str = ""
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    margin: float = math.nan
    would_change: str = ""


COLUMNS = list(Finding._fields)


def decide(low: float, high: float, margin: float) -> str:
    """The margin rule: ``reproduced`` if the interval's lower bound ``low`` lies above
    ``margin``, ``not reproduced`` if its upper bound ``high`` lies below it, else (or
    without an interval) ``inconclusive``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return INCONCLUSIVE
    if low > margin:
        return REPRODUCED
    if high < margin:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def decided(
    study: str,
    finding: str,
    scope: str,
    measured: str,
    rule: str,
    effect: str,
    estimate: float,
    low: float,
    high: float,
    margin: float,
    *,
    below: bool = False,
) -> Finding:
    """The row of a claim decided by the margin rule on its interval (``low``, ``high``),
    with what would have changed the verdict; ``below``: a claim of absence, reproduced
    when the interval lies below the margin."""
    if below:
        verdict, change = decide(-high, -low, -margin), would_change_below(low, high, margin)
    else:
        verdict, change = decide(low, high, margin), would_change(low, high, margin)
    return Finding(
        study, finding, scope, measured, verdict, rule, effect, estimate, low, high, margin, change
    )


def would_change(low: float, high: float, margin: float, unit: str = "") -> str:
    """What each other verdict of the margin rule would have needed of the interval."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "an interval (more units: items, seeds or replicates)"
    return (
        f"reproduced needs the lower bound above {margin:g}{unit} (it is {low:.3g}); not "
        f"reproduced the upper bound below {margin:g}{unit} (it is {high:.3g})"
    )


def would_change_below(low: float, high: float, margin: float) -> str:
    """:func:`would_change` for a claim of absence (reproduced below the margin)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "an interval (more units: items, seeds or replicates)"
    return (
        f"reproduced needs the upper bound below {margin:g} (it is {high:.3g}); not "
        f"reproduced the lower bound above {margin:g} (it is {low:.3g})"
    )


def interval_text(low: float, high: float, digits: int = 3) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no interval"
    return f"[{low:.{digits}f}, {high:.{digits}f}]"
