"""Knowledge inheritance compared: the steps a student saves against its from-scratch twin.

Qin et al. (2021, §4) read the benefit of inheriting from a teacher as the pretraining
steps a student needs to reach the validation perplexity its twin (the same run without
the teacher) reaches. The student's loss itself is :mod:`embryo.train.distillation`.
Perplexities are exp of natural-log losses; the paper's fairseq logs report base-2
losses (perplexity 2^loss), so compare perplexities, not losses, with its curves.
"""

from __future__ import annotations

import math


def reaching_step(steps, perplexities, target: float) -> float | None:
    """The first step at which a validation curve reaches ``target`` perplexity.

    Between the two checkpoints around the first crossing, the step is interpolated
    linearly in log perplexity; None when the curve never reaches ``target``.
    """
    prev = None
    for step, ppl in zip(steps, perplexities, strict=True):
        if ppl <= target:
            if prev is None:
                return float(step)
            s0, p0 = prev
            high, low = math.log(p0), math.log(ppl)
            return s0 + (high - math.log(target)) / (high - low) * (step - s0)
        prev = (step, ppl)
    return None


def matching_steps(student, twin):
    """For each checkpoint of the twin: the step the student needs to reach its perplexity.

    ``student`` and ``twin`` are validation tables (``step``, ``val_perplexity``). Qin et
    al. (2021) read the saving of knowledge inheritance as the steps a student needs to
    reach the perplexity its from-scratch twin ends at (about 27% fewer for BASE -> LARGE
    at 40k steps); here that is the row of the twin's last checkpoint, with ``saving`` =
    1 - student step / twin step. A student that never gets there has no step (NaN).
    """
    import pandas as pd

    student = student.sort_values("step")
    rows = []
    for step, ppl in twin.sort_values("step")[["step", "val_perplexity"]].itertuples(index=False):
        if step == 0:
            continue
        reached = reaching_step(student["step"], student["val_perplexity"], ppl)
        rows.append(
            {
                "twin_step": int(step),
                "twin_perplexity": float(ppl),
                "student_step": math.nan if reached is None else reached,
                "saving": math.nan if reached is None else 1 - reached / step,
            }
        )
    return pd.DataFrame(rows, columns=["twin_step", "twin_perplexity", "student_step", "saving"])


def comparison(pairs: list[dict], validation):
    """The inheritance table: per student, :func:`matching_steps` against its twin.

    ``pairs``: one dict per student (student, teacher, teacher_step, twin and the
    schedule's settings), repeated on each of its rows; ``validation``: the validation
    table of every run. A student without a twin has one row, without steps.
    """
    import pandas as pd

    frames = []
    for pair in pairs:
        student = validation[validation["run"] == pair["student"]]
        if pair["twin"] is None:
            frames.append(pd.DataFrame([pair]))
            continue
        twin = validation[validation["run"] == pair["twin"]]
        frames.append(matching_steps(student, twin).assign(**pair))
    columns = [*pairs[0], "twin_step", "twin_perplexity", "student_step", "saving"]
    return pd.concat(frames, ignore_index=True).reindex(columns=columns)
