"""Loading an exported checkpoint, and masked-LM logits at chosen positions only.

Every analysis loads a checkpoint through :func:`load_masked_lm` and asks for vocabulary
logits with :func:`masked_logits`; pretraining uses the same sparse prediction.
"""

from __future__ import annotations

from collections import defaultdict


def max_positions(model) -> int:
    """The longest sequence the model's position embeddings admit (RoBERTa counts from pad + 1)."""
    config = model.config
    n = config.max_position_embeddings
    if config.model_type == "roberta":
        n -= config.pad_token_id + 1
    return n


def default_device() -> str:
    """ "cuda" when a GPU is visible, else "cpu"."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_masked_lm(model_dir, device=None):
    """A checkpoint's ``AutoModelForMaskedLM`` in eval mode on ``device`` (default: the GPU
    if any), and its tokenizer."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForMaskedLM.from_pretrained(model_dir).to(device or default_device())
    return model.eval(), tokenizer


# The masked-LM head of each family; it maps hidden states of any shape to vocabulary logits.
_MLM_HEADS = {"albert": "predictions", "bert": "cls", "roberta": "lm_head"}


def masked_logits(model, input_ids, selected, token_type_ids=None, attention_mask=None):
    """Vocabulary logits at the ``selected`` positions only, and the encoder output.

    The same numbers as ``model(input_ids).logits[selected]``, but the vocabulary
    projection — the largest matrix product of a small model — runs on the ~15% selected
    positions only (sparse prediction: Izsak et al. 2021, "How to Train BERT with an
    Academic Budget", §3). ``attention_mask``: 0 at padding (sentence-order pairs).
    """
    out = model.base_model(
        input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask
    )
    head = getattr(model, _MLM_HEADS[model.config.model_type])
    return head(out.last_hidden_state[selected]), out


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
