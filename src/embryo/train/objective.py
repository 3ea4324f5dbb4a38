"""The pretraining objective: dynamic masking (BERT's 80/10/10; token by token, or ALBERT's
n-gram and whole-word spans) and ALBERT's sentence order.

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
    special = torch.isin(input_ids, torch.tensor(sorted(special_ids), dtype=input_ids.dtype))
    probs = torch.full(input_ids.shape, probability)
    selected = torch.bernoulli(probs, generator=gen).bool() & ~special
    return corrupt(input_ids, selected, mask_id=mask_id, vocab_size=vocab_size, gen=gen)


def corrupt(input_ids, selected, *, mask_id: int, vocab_size: int, gen):
    """BERT's 80/10/10 at the ``selected`` positions: the mask token with probability 0.8,
    a uniformly random token with 0.1, unchanged with 0.1. Returns ``(inputs, labels)``,
    labels -100 where not selected."""
    labels = input_ids.clone()
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


# ALBERT's punctuation pieces (create_pretraining_data.py, _is_start_piece_sp)
_PUNCTUATION = set("!\"#$%&'()*+,-./:;?@[\\]^_`{|}~")
_LETTERS = set("abcdefghijklmnopqrstuvwxyz")


def word_starts(tokenizer) -> torch.Tensor:
    """Whether each vocabulary piece starts a word (a bool tensor over the ids), for
    whole-word masking: as ALBERT decides it (google-research/albert
    ``create_pretraining_data.py``, ``_is_start_piece_bert`` and ``_is_start_piece_sp``).

    A WordPiece vocabulary: every piece but the ``##`` continuations. Otherwise (unigram
    with Metaspace ``▁``, byte-level BPE with ``Ġ``): a piece starting with ``▁``, ``Ġ`` or
    ``<``, a punctuation piece, or a piece with any character other than an ASCII letter
    or punctuation (ALBERT treats those as whole pieces). Special tokens end a word
    wherever they are (:func:`mask_spans`).
    """
    import json

    model = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
    prefix = model.get("continuing_subword_prefix") if model["type"] == "WordPiece" else None
    vocab = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))

    def starts(piece: str) -> bool:
        if prefix:
            return not piece.startswith(prefix)
        return (
            piece.startswith(("▁", "Ġ", "<"))
            or piece in _PUNCTUATION
            or any(c.lower() not in _LETTERS | _PUNCTUATION for c in piece)
        )

    return torch.tensor([starts(p) for p in vocab], dtype=torch.bool)


def mask_spans(
    input_ids,
    *,
    special_ids,
    mask_id: int,
    vocab_size: int,
    probability: float,
    gen,
    word_start=None,
    max_ngram: int = 1,
    max_predictions: int | None = None,
    pad_id=None,
):
    """ALBERT's masking (Lan et al. 2020, §4.1; google-research/albert
    ``create_pretraining_data.py``, ``create_masked_lm_predictions``), on a copy of
    ``input_ids``; BERT's whole-word masking is its case ``max_ngram`` = 1.

    The units are words when ``word_start`` (:func:`word_starts`) is given, else single
    tokens; special tokens belong to none and end a word. Each sequence masks a budget of
    ``min(max_predictions, max(1, round(length * probability)))`` tokens: its units are
    visited in a random order, each starting an n-gram of n units with p(n) ∝ 1/n for n =
    1 .. ``max_ngram``; a span that would exceed the budget is shortened to fewer units,
    or skipped if one unit already does, and a span overlapping one already chosen is
    skipped, until the budget is reached. The chosen tokens get BERT's 80/10/10
    (:func:`corrupt`). Returns ``(inputs, labels)``, labels -100 where not chosen.

    As in ALBERT's code the budget counts the special tokens in ``length`` (not the
    padding, ``pad_id``, of a sentence-order row), and every
    unit, even near the end of a sequence, draws n from all of 1 .. ``max_ngram`` (a
    span is cut at the sequence's end). Unlike it, a continuation piece right after a
    special token starts a new word (ALBERT would join it to the word before the
    ``[SEP]``).
    """
    special = torch.isin(input_ids, torch.tensor(sorted(special_ids), dtype=input_ids.dtype))
    starts = word_start[input_ids] if word_start is not None else torch.ones_like(special)
    previous_special = torch.nn.functional.pad(special[:, :-1], (1, 0), value=True)
    begins = (starts | previous_special) & ~special  # a unit begins here
    weights = 1.0 / torch.arange(1, max_ngram + 1, dtype=torch.float)
    selected = torch.zeros_like(special)
    full = input_ids.shape[1]
    lengths = (input_ids != pad_id).sum(1).tolist() if pad_id is not None else None
    # the unit of every position: units numbered from 0 along the row, -1 for specials
    unit = torch.where(special, -1, begins.long().cumsum(1) - 1)
    for row, units in enumerate(unit.tolist()):
        budget = max(1, round((full if lengths is None else lengths[row]) * probability))
        budget = budget if max_predictions is None else min(budget, max_predictions)
        positions: list[list[int]] = [[] for _ in range(max(units, default=-1) + 1)]
        for position, u in enumerate(units):
            if u >= 0:
                positions[u].append(position)
        order = torch.randperm(len(positions), generator=gen).tolist()
        sizes = torch.multinomial(weights, len(positions), replacement=True, generator=gen) + 1
        chosen: set[int] = set()
        for u in order:
            if len(chosen) >= budget:
                break
            for n in range(int(sizes[u]), 0, -1):  # shorter spans until one fits the budget
                span = [p for k in range(u, min(u + n, len(positions))) for p in positions[k]]
                if len(chosen) + len(span) <= budget:
                    break
            else:
                continue
            if not chosen.intersection(span):
                chosen.update(span)
        selected[row, sorted(chosen)] = True
    return corrupt(input_ids, selected, mask_id=mask_id, vocab_size=vocab_size, gen=gen)


def masking(objective, tokenizer, special_ids):
    """The masking of a run's ``objective`` (its ``runs.<run>.objective`` settings), as a
    function ``(input_ids, gen) -> (inputs, labels)``: :func:`mask_tokens` for ``token``
    masking, each token on its own; :func:`mask_spans` for whole-word masking (``token``
    with ``whole_word``: BERT's whole-word masking) and for ``ngram`` (ALBERT's spans of
    up to ``max_ngram`` words, or tokens without ``whole_word``)."""
    common = dict(
        special_ids=special_ids,
        mask_id=tokenizer.mask_token_id,
        vocab_size=len(tokenizer),
        probability=objective.mlm_probability,
    )
    if objective.masking == "token" and not objective.whole_word:
        return lambda ids, gen: mask_tokens(ids, gen=gen, **common)
    starts = word_starts(tokenizer) if objective.whole_word else None
    n = objective.max_ngram if objective.masking == "ngram" else 1
    return lambda ids, gen: mask_spans(
        ids,
        gen=gen,
        word_start=starts,
        max_ngram=n,
        max_predictions=objective.max_predictions,
        pad_id=tokenizer.pad_token_id,
        **common,
    )


def sentence_order(input_ids, *, cls_id: int, sep_id: int, gen, doc_starts=None, pad_id: int = 0):
    """ALBERT's sentence-order prediction pairs (Lan et al. 2020, §4.1), built from blocks.

    As ALBERT's ``create_pretraining_data.py`` (L314-343), A and B are two consecutive
    segments of **one document**, swapped with probability 0.5 (label 1 for swapped). A
    packed block ``[CLS] x_1 .. x_n [SEP]`` (its last content token dropped to make room
    for the middle separator) may hold the end of one document and the start of the next:
    with ``doc_starts`` (per block, the positions where a document starts inside it;
    :func:`embryo.data.blocks.pack_corpus`), the document is the run of the block holding a
    position drawn uniformly (a document's chance is its share of the block, as ALBERT draws
    its targets from documents by length), A and B are that run cut at a random point,
    and the rest of the row is padding (``pad_id``; the attention mask returned says
    where). A run of one token has no two segments: that row is cut across the whole
    block, as without ``doc_starts``. ALBERT cuts at sentence boundaries; ours cut at a
    token, so a segment may start mid-sentence. Returns ``(input_ids, token_type_ids,
    sentence_order_label, attention_mask)``.
    """
    batch, length = input_ids.shape
    content = input_ids[:, 1 : length - 2]
    n = content.shape[1]
    picks = torch.randint(0, n, (batch,), generator=gen)
    fractions = torch.rand(batch, generator=gen)
    swap = torch.bernoulli(torch.full((batch,), 0.5), generator=gen).long()
    out = torch.full_like(input_ids, pad_id)
    types = torch.zeros_like(input_ids)
    attention = torch.zeros_like(input_ids)
    for i in range(batch):
        start, end = 0, n
        if doc_starts is not None:
            bounds = [int(p) - 1 for p in doc_starts[i] if 0 < int(p) - 1 < n]
            for b in bounds:  # the run holding the drawn position
                if b <= picks[i]:
                    start = b
                elif end == n:
                    end = b
            if end - start < 2:
                start, end = 0, n
        run = content[i, start:end]
        cut = 1 + int(fractions[i] * (len(run) - 1))
        a, b = run[:cut], run[cut:]
        if swap[i]:
            a, b = b, a
        sep = input_ids.new_tensor([sep_id])
        row = torch.cat([input_ids.new_tensor([cls_id]), a, sep, b, sep])
        out[i, : len(row)] = row
        attention[i, : len(row)] = 1
        types[i, len(a) + 2 : len(row)] = 1
    return out, types, swap, attention


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

    def terms(
        self,
        input_ids,
        labels,
        token_type_ids=None,
        sentence_order_label=None,
        scale=1.0,
        attention_mask=None,
    ):
        """The loss, the logits at the masked positions and those positions."""
        selected = labels != -100
        logits, out = masked_logits(self.model, input_ids, selected, token_type_ids, attention_mask)
        loss = scale * F.cross_entropy(logits.float(), labels[selected])
        if sentence_order_label is not None:
            order = self.model.sop_classifier(out.pooler_output)
            loss = loss + F.cross_entropy(order.float(), sentence_order_label)
        return loss, logits, selected

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
        if alpha:
            raise ValueError("an inheritance weight without a teacher (embryo.train.student)")
        return self.terms(
            input_ids, labels, token_type_ids, sentence_order_label, scale, attention_mask
        )[0]
