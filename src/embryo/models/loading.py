"""Loading an exported checkpoint, and masked-LM logits at chosen positions only.

Every analysis loads a checkpoint through :func:`load_masked_lm` and asks for vocabulary
logits with :func:`masked_logits`; pretraining uses the same sparse prediction. Both work
for every family ``AutoModelForMaskedLM`` loads: what differs by family is in
:mod:`embryo.models.families`.
"""

from __future__ import annotations

from collections import defaultdict

from embryo.models import families
from embryo.runtime.errors import EmbryoError


def max_positions(model) -> int:
    """The longest sequence the model's position embeddings admit (RoBERTa counts from
    pad + 1: :func:`embryo.models.families.max_positions`)."""
    return families.max_positions(model.config)


def takes_token_types(model) -> bool:
    """Whether the model's base encoder takes ``token_type_ids`` (DistilBERT and ModernBERT
    do not), read from its ``forward``'s signature, and has more than one type to embed
    (RoBERTa and XLM-R have one: a tokenizer that marks a pair's second text 1 would index
    past it)."""
    import inspect

    if getattr(model.config, "type_vocab_size", 2) < 2:
        return False
    return "token_type_ids" in inspect.signature(model.base_model.forward).parameters


def encoder_inputs(model, **inputs) -> dict:
    """``inputs`` without the ``None`` values and without ``token_type_ids`` for a model
    that takes none."""
    if not takes_token_types(model):
        inputs.pop("token_type_ids", None)
    return {k: v for k, v in inputs.items() if v is not None}


def default_device() -> str:
    """ "cuda" when a GPU is visible, else "cpu"."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_masked_lm(model_dir, device=None):
    """A checkpoint's ``AutoModelForMaskedLM`` in eval mode on ``device`` (default: the GPU
    if any), and its tokenizer, which must have a mask token."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.mask_token_id is None:
        raise EmbryoError(f"{model_dir}: its tokenizer has no mask token; a masked LM needs one")
    model = AutoModelForMaskedLM.from_pretrained(model_dir).to(device or default_device())
    return model.eval(), tokenizer


def masked_logits(model, input_ids, selected, token_type_ids=None, attention_mask=None):
    """Vocabulary logits at the ``selected`` positions only, and the encoder output.

    The same numbers as ``model(input_ids).logits[selected]``, but where the family's
    masked-LM head is known (:mod:`embryo.models.families`) the vocabulary projection —
    the largest matrix product of a small model — runs on the ~15% selected positions only
    (sparse prediction: Izsak et al. 2021, "How to Train BERT with an Academic Budget",
    §3); for a family embryo does not know, the full logits are computed and gathered.
    ``attention_mask``: 0 at padding (sentence-order pairs).
    """
    inputs = encoder_inputs(
        model, input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask
    )
    known = families.of(model)
    if known is None or known.mlm_head is None:
        out = model(**inputs, output_hidden_states=True)
        return out.logits[selected], _Encoded(out.hidden_states[-1])
    out = model.base_model(**inputs)
    return known.mlm_head(model, out.last_hidden_state[selected]), out


class _Encoded:
    """The encoder output of the full-logits path: its ``last_hidden_state`` only."""

    def __init__(self, last_hidden_state):
        self.last_hidden_state = last_hidden_state


def same_length_batches(items, lengths, batch_size: int) -> list[list]:
    """``items`` in batches of at most ``batch_size`` whose sequences have one length.

    No batch needs padding or an attention mask, so a sequence's result does not depend on
    its batch mates; shorter sequences come first, the items of one length in their order.
    """
    groups = defaultdict(list)
    for item, length in zip(items, lengths, strict=True):
        groups[length].append(item)
    return [
        group[k : k + batch_size]
        for _, group in sorted(groups.items())
        for k in range(0, len(group), batch_size)
    ]
