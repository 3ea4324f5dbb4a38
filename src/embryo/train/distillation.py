"""The knowledge-inheritance loss (Qin et al., 2021): a larger student pretrained with a smaller teacher.

The student's loss at step t (their §3, "Knowledge Inheritance"):

    L_t = (1 - α_t) · L_MLM + α_t · τ² · KL(p_T^τ ‖ p_S^τ)

where L_MLM is the student's own masked-LM loss, p^τ = softmax(logits / τ) over the
vocabulary at each masked position, the teacher is evaluated without gradients on the same
masked input, and the KL is averaged over the masked positions. τ² keeps the gradient
scale of the KD term independent of τ (Hinton et al., 2015). The inheritance weight α_t
follows a schedule (:func:`alpha`): ``linear`` decay α_0 · max(1 - t / T_KD, 0), the
paper's choice with α_0 = 1; ``constant`` α_0; ``heaviside`` α_0 until T_KD and 0 after
(pure distillation, then pure MLM) — the paper's ablations.

Top-K (the paper found K = 10 enough): the teacher's distribution is cut to its K most
likely tokens and renormalised, and the KL is that of this cut distribution from the
student's full distribution, Σ_k p̃_T,k · (log p̃_T,k - log p_S,k); with K = the
vocabulary size it is the full KL.

Losses are natural-log, and perplexity is exp(loss); the paper's fairseq logs report
base-2 losses (perplexity 2^loss), so compare perplexities, not losses, with its curves.
"""

from __future__ import annotations

from embryo.runtime.errors import EmbryoError

SCHEDULES = ("linear", "constant", "heaviside")


def alpha(step: int, *, schedule: str, alpha0: float, kd_steps: int) -> float:
    """The inheritance weight α_t of optimizer step ``step`` (1-based)."""
    if schedule == "linear":
        return alpha0 * max(1.0 - step / kd_steps, 0.0)
    if schedule == "constant":
        return alpha0
    if schedule == "heaviside":
        return alpha0 if step <= kd_steps else 0.0
    raise EmbryoError(f"unknown inheritance schedule {schedule!r}; expected one of {SCHEDULES}")


def kd_loss(student_logits, teacher_logits, *, temperature: float, top_k: int | None = None):
    """τ² · KL(p_T^τ ‖ p_S^τ), averaged over positions (rows of the logits).

    With ``top_k``, the teacher's distribution is cut to its K most likely tokens and
    renormalised before the KL (module docstring).
    """
    import torch.nn.functional as F

    tau = temperature
    log_q = F.log_softmax(student_logits.float() / tau, dim=-1)
    teacher = teacher_logits.float() / tau
    if top_k is not None and top_k < teacher.shape[-1]:
        teacher, index = teacher.topk(top_k, dim=-1)
        log_q = log_q.gather(-1, index)
    log_p = F.log_softmax(teacher, dim=-1)
    kl = (log_p.exp() * (log_p - log_q)).sum(-1)
    return tau**2 * kl.mean()
