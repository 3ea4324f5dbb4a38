"""The pretraining objective: dynamic masking (BERT's 80/10/10) and ALBERT's sentence order.

Every random choice draws from an explicit ``torch.Generator``, seeded from (run seed,
step, purpose) by :func:`derive_seed`, so a segment resumed at any step makes exactly the
choices an uninterrupted run would, with no RNG state to carry between jobs.

Only training code imports this module, so it imports torch at the top.
"""

from __future__ import annotations

import hashlib

import torch
import torch.nn.functional as F


def derive_seed(*parts) -> int:
    """A 63-bit seed determined by ``parts`` (e.g. run seed, step, purpose)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def generator(*parts):
    return torch.Generator().manual_seed(derive_seed(*parts))


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


# The masked-LM head of each family; it maps hidden states of any shape to vocabulary logits.
_MLM_HEADS = {"albert": "predictions", "bert": "cls", "roberta": "lm_head"}


def masked_logits(model, input_ids, selected, token_type_ids=None):
    """Vocabulary logits at the ``selected`` positions only, and the encoder output.

    The same numbers as ``model(input_ids).logits[selected]``, but the vocabulary
    projection — the largest matrix product of a small model — runs on the ~15% selected
    positions only (sparse prediction: Izsak et al. 2021, "How to Train BERT with an
    Academic Budget", §3).
    """
    out = model.base_model(input_ids=input_ids, token_type_ids=token_type_ids)
    head = getattr(model, _MLM_HEADS[model.config.model_type])
    return head(out.last_hidden_state[selected]), out


class PretrainingLoss(torch.nn.Module):
    """The pretraining loss of a Hugging Face masked LM, computed with :func:`masked_logits`.

    Equal to the model's own ``loss``: mean cross-entropy over the selected positions,
    plus ALBERT's sentence-order loss when the model has an SOP head. With a ``teacher``
    (knowledge inheritance, :mod:`embryo.inheritance`) and a weight ``alpha`` > 0, the
    loss is (1 - alpha) times that plus alpha times the distillation term on the same
    masked positions, the teacher evaluated without gradients. Wrapping the model in a
    module keeps distributed data parallel gradient synchronisation intact.

    ``scale`` multiplies the terms averaged over masked positions (MLM, distillation).
    The training loop sets it to (this batch's masked positions × processes ×
    accumulation steps) / (the optimizer step's masked positions), so that after data
    parallel averaging and accumulation every masked position of the step weighs the same,
    however the step is split; with one process and no accumulation it is exactly 1.
    """

    def __init__(self, model, teacher=None, *, temperature: float = 1.0, top_k=None):
        super().__init__()
        self.model = model
        self.teacher = teacher.eval().requires_grad_(False) if teacher is not None else None
        self.temperature, self.top_k = temperature, top_k

    def forward(
        self, input_ids, labels, token_type_ids=None, sentence_order_label=None, alpha=0.0,
        scale=1.0,
    ):  # fmt: skip
        selected = labels != -100
        logits, out = masked_logits(self.model, input_ids, selected, token_type_ids)
        loss = scale * F.cross_entropy(logits.float(), labels[selected])
        if sentence_order_label is not None:
            order = self.model.sop_classifier(out.pooler_output)
            loss = loss + F.cross_entropy(order.float(), sentence_order_label)
        if alpha > 0:
            from embryo.inheritance import kd_loss

            with torch.no_grad():
                guide = masked_logits(self.teacher, input_ids, selected, token_type_ids)[0]
            kd = scale * kd_loss(logits, guide, temperature=self.temperature, top_k=self.top_k)
            loss = (1 - alpha) * loss + alpha * kd
        return loss
