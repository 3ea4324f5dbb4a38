"""A knowledge-inheritance student's segments: pretraining with a teacher's guidance.

A student (a run with a ``teacher``, Qin et al. 2021) trains like any run
(:mod:`embryo.train.segment`) but for its loss: at step t, (1 - α_t) times its own
pretraining loss plus α_t times the distillation term on the same masked positions
(:mod:`embryo.train.distillation`), the teacher's checkpoint evaluated without
gradients. Only the segments of students after step 0 run this module (rule
``pretrain_student``), so that editing the distillation code reruns the students'
segments and what follows them, not every run's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from embryo.runtime.errors import EmbryoError
from embryo.train.distillation import alpha, kd_loss
from embryo.train.objective import PretrainingLoss
from embryo.train.segment import Trainer, build_trainer, run_segment


class InheritanceLoss(PretrainingLoss):
    """The student's loss: (1 - α) · its pretraining loss + α · τ² · KL(teacher ‖ student).

    With ``alpha`` = 0 it is the student's own loss exactly (a student of α_0 = 0 is its
    twin, bit for bit). ``scale`` multiplies the distillation term as it does the masked-LM
    term (:class:`~embryo.train.objective.PretrainingLoss`).
    """

    def __init__(self, model, teacher, *, temperature: float, top_k: int | None):
        super().__init__(model)
        self.teacher = teacher.eval().requires_grad_(False)
        self.temperature, self.top_k = temperature, top_k

    def forward(
        self,
        input_ids,
        labels,
        token_type_ids=None,
        sentence_order_label=None,
        alpha=0.0,
        scale=1.0,
        attention_mask=None,
    ):
        import torch

        from embryo.models.loading import masked_logits

        loss, logits, selected = self.terms(
            input_ids, labels, token_type_ids, sentence_order_label, scale, attention_mask
        )
        if alpha > 0:
            with torch.no_grad():
                guide = masked_logits(
                    self.teacher, input_ids, selected, token_type_ids, attention_mask
                )[0]
            kd = scale * kd_loss(logits, guide, temperature=self.temperature, top_k=self.top_k)
            loss = (1 - alpha) * loss + alpha * kd
        return loss


@dataclass
class StudentTrainer(Trainer):
    """A :class:`~embryo.train.segment.Trainer` whose step weighs in the teacher by α_t."""

    def weight(self, t: int) -> float:
        ki = self.settings.teacher
        return alpha(t, schedule=ki.schedule, alpha0=ki.alpha, kd_steps=ki.kd_steps)


def student_trainer(settings, model, tokenizer, train_blocks, accelerator, *, teacher_dir, **kw):
    """:func:`~embryo.train.segment.build_trainer` with the teacher's loss and weight."""
    from transformers import AutoModelForMaskedLM

    ki = settings.teacher
    if ki is None:
        raise EmbryoError(f"segment {settings.step} has no teacher: it is not a student's")
    if teacher_dir is None:
        raise EmbryoError(f"segment {settings.step} is a student's: it needs {ki.run}'s checkpoint")
    teacher = AutoModelForMaskedLM.from_pretrained(teacher_dir)
    loss = InheritanceLoss(model, teacher, temperature=ki.temperature, top_k=ki.top_k)
    return build_trainer(
        settings,
        model,
        tokenizer,
        train_blocks,
        accelerator,
        loss=loss,
        trainer=StudentTrainer,
        **kw,
    )


def run_student_segment(settings, *, teacher_dir, **kw) -> dict:
    """:func:`~embryo.train.segment.run_segment` of a student's segment after step 0,
    guided by the teacher's exported checkpoint ``teacher_dir``."""
    return run_segment(
        settings, make_trainer=partial(student_trainer, teacher_dir=teacher_dir), **kw
    )


def launch_student(settings, **kw) -> dict:
    """:func:`embryo.train.launch.launch` of a student's segment."""
    from embryo.train import launch as launcher

    return launcher.launch(settings, run=run_student_segment, entry="embryo.train.student", **kw)


if __name__ == "__main__":
    from embryo.train.launch import main

    main(run=run_student_segment)
