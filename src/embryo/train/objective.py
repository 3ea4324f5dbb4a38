"""The pretraining objective: dynamic masking (BERT's 80/10/10) and ALBERT's sentence order.

Every random choice draws from an explicit ``torch.Generator``, seeded from (run seed,
step, purpose) by :func:`embryo.models.seeds.generator`, so a segment resumed at any step makes exactly the
choices an uninterrupted run would, with no RNG state to carry between jobs.

Only training code imports this module, so it imports torch at the top.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from embryo.models.loading import masked_logits


def mask_tokens(input_ids, *, special_ids, mask_id: int, vocab_size: int, probability: float, gen):
    """BERT's dynamic masking (Devlin et al. 2019, §3.1), on a copy of ``input_ids``.

    Each non-special token is selected with ``probability``; a selected token becomes the
    mask token with probability 0.8, a uniformly random token with 0.1, and stays with
    0.1. Returns ``(inputs, labels)`` with labels -100 at unselected positions.
    """
    labels = input_ids.clone()
    special = torch.isin(input_ids, torch.tensor(sorted(special_ids), dtype=input_ids.dtype))
    probs = torch.full(input_ids.shape, probability)
    selected = torch.bernoulli(probs, generator=gen).bool() & ~special
    labels[~selected] = -100
    inputs = input_ids.clone()
    to_mask = torch.bernoulli(torch.full(input_ids.shape, 0.8), generator=gen).bool() & selected
    inputs[to_mask] = mask_id
    to_random = (
        torch.bernoulli(torch.full(input_ids.shape, 0.5), generator=gen).bool()
        & selected
        & ~to_mask
    )
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=gen, dtype=input_ids.dtype)
    inputs[to_random] = random_ids[to_random]
    return inputs, labels


def sentence_order(input_ids, *, cls_id: int, sep_id: int, gen):
    """ALBERT's sentence-order prediction pairs (Lan et al. 2020, §4.1), built from blocks.

    A packed block ``[CLS] x_1 .. x_n [SEP]`` is cut at a random point into two
    consecutive segments A and B (the last content token is dropped to make room for
    the middle separator); with probability 0.5 they are swapped. Returns
    ``(input_ids, token_type_ids, sentence_order_label)`` with label 1 for swapped.
    ALBERT cuts at sentence boundaries of a document; ours cuts the packed stream, so a
    segment may start mid-sentence.
    """
    batch, length = input_ids.shape
    content = input_ids[:, 1 : length - 2]
    n = content.shape[1]
    cuts = torch.randint(1, n, (batch,), generator=gen)
    swap = torch.bernoulli(torch.full((batch,), 0.5), generator=gen).long()
    out = torch.empty_like(input_ids)
    types = torch.zeros_like(input_ids)
    for i in range(batch):
        a, b = content[i, : cuts[i]], content[i, cuts[i] :]
        if swap[i]:
            a, b = b, a
        sep = input_ids.new_tensor([sep_id])
        out[i] = torch.cat([input_ids.new_tensor([cls_id]), a, sep, b, sep])
        types[i, len(a) + 2 :] = 1
    return out, types, swap


class PretrainingLoss(torch.nn.Module):
    """The pretraining loss of a Hugging Face masked LM, computed with :func:`masked_logits`.

    Equal to the model's own ``loss``: mean cross-entropy over the selected positions,
    plus ALBERT's sentence-order loss when the model has an SOP head. Wrapping the model
    in a module keeps distributed data parallel gradient synchronisation intact. A
    student's loss adds its teacher's term (:class:`embryo.train.student.InheritanceLoss`);
    ``alpha``, the weight of that term, is 0 here.

    ``scale`` multiplies the terms averaged over masked positions (MLM, distillation).
    The training loop sets it to (this batch's masked positions × processes ×
    accumulation steps) / (the optimizer step's masked positions), so that after data
    parallel averaging and accumulation every masked position of the step weighs the same,
    however the step is split; with one process and no accumulation it is exactly 1.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def terms(self, input_ids, labels, token_type_ids=None, sentence_order_label=None, scale=1.0):
        """The loss, the logits at the masked positions and those positions."""
        selected = labels != -100
        logits, out = masked_logits(self.model, input_ids, selected, token_type_ids)
        loss = scale * F.cross_entropy(logits.float(), labels[selected])
        if sentence_order_label is not None:
            order = self.model.sop_classifier(out.pooler_output)
            loss = loss + F.cross_entropy(order.float(), sentence_order_label)
        return loss, logits, selected

    def forward(
        self, input_ids, labels, token_type_ids=None, sentence_order_label=None, alpha=0.0,
        scale=1.0,
    ):  # fmt: skip
        if alpha:
            raise ValueError("an inheritance weight without a teacher (embryo.train.student)")
        return self.terms(input_ids, labels, token_type_ids, sentence_order_label, scale)[0]
