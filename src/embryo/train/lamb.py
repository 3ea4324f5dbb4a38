"""LAMB, the optimiser ALBERT pretrains with (training code only: torch at the top)."""

from __future__ import annotations

import torch


class Lamb(torch.optim.Optimizer):
    """LAMB (You et al. 2020, "Large Batch Optimization for Deep Learning: Training
    BERT in 76 minutes"), as ALBERT pretrains with it: google-research/albert
    ``lamb_optimizer.py`` (``LAMBOptimizer.apply_gradients``), for each parameter w
    with gradient g::

        m <- beta1 m + (1 - beta1) g
        v <- beta2 v + (1 - beta2) g^2
        u  = m / (sqrt(v) + eps) + weight_decay * w
        r  = ||w|| / ||u||   (1 if either norm is 0)
        w <- w - lr * r * u

    with no bias correction of m and v (as in ALBERT's code; the paper's Algorithm 2
    has it), the norms over the whole tensor, and a parameter group with ``adapt``
    False (ALBERT: the ones excluded from weight decay, biases and LayerNorm) taking
    r = 1, a plain Adam-style step. ``tests/test_objective.py`` checks one step
    against these formulas computed by hand.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, adapt=True)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                update = m / (v.sqrt() + group["eps"])
                if group["weight_decay"]:
                    update.add_(p, alpha=group["weight_decay"])
                if group["adapt"]:  # as a tensor: no device synchronisation per tensor
                    w_norm, u_norm = p.norm(), update.norm()
                    ratio = torch.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, 1.0)
                    update.mul_(ratio)
                p.add_(update, alpha=-group["lr"])
        return loss
