"""The optimisers and learning-rate schedule shared by pretraining and fine-tuning.

AdamW with BERT's split of weight decay (weights, not biases and LayerNorm), or LAMB as
ALBERT pretrains (:class:`embryo.train.lamb.Lamb`), and a linear warm-up then linear
decay over a fixed number of steps (optionally after a stable stretch at the peak).
"""

from __future__ import annotations

from typing import NamedTuple


class Optimizer(NamedTuple):
    """A pretraining run's optimiser, schedule and batch (``runs.<run>.optimizer``)."""

    name: str  # adamw or lamb
    lr: float
    weight_decay: float
    beta1: float
    beta2: float
    eps: float
    warmup_steps: int
    total_steps: int  # of the schedule: the run's, never a segment's
    batch_size: int  # blocks per optimizer step, over all processes and micro-steps
    grad_accum: int
    max_grad_norm: float | None
    mixed_precision: str
    decay_start: int | None = None  # at the peak until this step (None: the warm-up's end)


def lr_factor(step: int, warmup: int, total: int, decay_start: int | None = None) -> float:
    """The learning rate of optimizer step ``step`` (1-based), as a fraction of the peak.

    Linear warm-up reaching the peak at step ``warmup`` (at step 1 without warm-up), then
    linear decay that would reach 0 at step ``total + 1``, so no step is taken with a zero
    learning rate (the ``transformers`` schedule gives the first step a learning rate of 0,
    which would make checkpoint 1 a copy of checkpoint 0). With ``decay_start`` the rate
    stays at the peak until that step and decays after it (warmup-stable-decay; at or
    after ``total``: constant).
    """
    if step <= warmup:
        return step / warmup
    start = max(warmup, 1) if decay_start is None else max(decay_start, warmup, 1)
    if step <= start:
        return 1.0
    return max(0.0, (total + 1 - step) / (total + 1 - start))


def parameter_groups(model, weight_decay: float) -> list[dict]:
    """Weights (decayed) and biases and LayerNorm parameters (not decayed), as BERT and
    ALBERT split them (ALBERT's ``exclude_from_weight_decay=["LayerNorm", "layer_norm",
    "bias"]``, google-research/albert ``optimization.py``)."""
    import torch

    decay, no_decay = [], []
    norms = {
        id(p) for m in model.modules() if isinstance(m, torch.nn.LayerNorm) for p in m.parameters()
    }
    for name, p in model.named_parameters():
        (no_decay if name.endswith("bias") or id(p) in norms else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0, "adapt": False},
    ]


def make_optimizer(model, opt, *, fused: bool = False):
    """The optimiser ``opt.name`` names (:class:`Optimizer`): :func:`adamw` or LAMB
    (:class:`embryo.train.lamb.Lamb`)."""
    if opt.name == "lamb":
        from embryo.train.lamb import Lamb

        return Lamb(
            parameter_groups(model, opt.weight_decay),
            lr=opt.lr,
            betas=(opt.beta1, opt.beta2),
            eps=opt.eps,
        )
    return adamw(model, opt, fused=fused)


def adamw(model, opt, *, fused: bool = False, scaled=((), 1.0)):
    """AdamW with weight decay on weights only (not on biases and LayerNorm), as BERT trains.

    ``opt`` has ``lr``, ``weight_decay``, ``beta1``, ``beta2`` and ``eps``
    (:class:`Optimizer`, or fine-tuning's settings).

    ``fused``: one fused kernel per parameter group instead of a dozen element-wise passes
    per tensor (the same update up to float rounding; on 2 CPU cores a pretraining step is
    ~1.1-1.3x faster, ``benchmarks/throughput.py``). Where the fused kernel is missing
    (torch < 2.4 on CPU) the default implementation is used.

    ``scaled``: (parameters, multiplier): those parameters train at ``multiplier`` times
    the learning rate, in groups of their own (a fine-tuning job's redrawn layers).
    """
    import torch

    params, multiplier = scaled
    ids = {id(p) for p in params} if multiplier != 1.0 else set()
    groups = []
    for group in parameter_groups(model, opt.weight_decay):
        group.pop("adapt", None)  # LAMB's option
        for chosen in (False, True):
            kept = [p for p in group["params"] if (id(p) in ids) == chosen]
            if kept:
                groups.append(
                    {**group, "params": kept, "lr": opt.lr * (multiplier if chosen else 1.0)}
                )
    hyper = dict(lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps)
    if fused:
        try:
            return torch.optim.AdamW(groups, fused=True, **hyper)
        except RuntimeError:  # no fused kernel for these parameters' device
            pass
    return torch.optim.AdamW(groups, **hyper)
