"""When a learning curve is "learned": the definition the findings and the POS figure share.

Chiang et al. (2020, §4) read off how fast each part of speech is learned; here a curve
is learned at the first checkpoint whose accuracy reaches :data:`LEARNED_FRACTION` of
its last accuracy, and a curve that ends below :data:`MIN_FINAL_ACCURACY` has nothing to
time (nor to rescale, in the POS figure of :mod:`embryo.plots.embryology`).
"""

from __future__ import annotations

LEARNED_FRACTION = 0.9  # "learned": accuracy first at 90% of the final accuracy
MIN_FINAL_ACCURACY = 0.05


def learned_step(steps, accuracies, fraction: float = LEARNED_FRACTION) -> int | None:
    """The first checkpoint whose accuracy reaches ``fraction`` of the last one's.

    ``steps`` ascending. None when the last accuracy is below :data:`MIN_FINAL_ACCURACY`
    (nothing learned, so no order). E.g. steps (0, 10, 100), accuracies (0.0, 0.45, 0.5):
    90% of 0.5 is 0.45, first reached at step 10.
    """
    final = accuracies[-1]
    if not final >= MIN_FINAL_ACCURACY:
        return None
    for step, accuracy in zip(steps, accuracies, strict=True):
        if accuracy >= fraction * final:
            return int(step)
    return int(steps[-1])


def learned_steps(steps, curves, fraction: float = LEARNED_FRACTION):
    """:func:`learned_step` of many accuracy curves at once: ``curves`` [..., checkpoints].

    The threshold is taken from each curve's own last value (no minimum: the tags timed
    were chosen on the observed curve).
    """
    import numpy as np

    curves = np.asarray(curves, dtype=float)
    reached = curves >= fraction * curves[..., -1:]
    return np.asarray(steps, dtype=float)[reached.argmax(-1)]
