"""What a model family is to embryo: :class:`Family`, and the helpers families share.

A family is a Hugging Face ``model_type`` (``config.json``'s): what every analysis needs to
know of its models beyond what ``AutoModelForMaskedLM`` and ``AutoTokenizer`` give. Each
family's entry lives in a module of its own (:mod:`embryo.models.families`); nothing in
this module imports torch or transformers at import time, so the registry can be read
while the workflow is parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


def no_offset(config) -> int:
    return 0


def after_padding(config) -> int:
    """RoBERTa's first position: the padding index + 1 (``create_position_ids_from_input_ids``)."""
    return config.pad_token_id + 1


@dataclass(frozen=True)
class Family:
    """One Hugging Face model family, as the analyses and the transfer grid use it.

    ``layers``: the path, under the base model, of the list of encoder layers (the
    modules a "layer" of the transferability grid redraws and reorders; ALBERT's list is
    of layer groups, untied before a layer is redrawn). ``embeddings``: the paths, under
    the base model, of what turns tokens into the first layer's input (kept by every
    reinit scheme; the weight analysis's "embeddings" part). ``mlm_head``: the masked-LM
    head as a function ``(model, hidden[N, H]) -> logits[N, V]``, so that vocabulary logits
    are computed at the positions asked for only; ``None`` computes the full logits and
    gathers them. ``first_position``: the position id of a sequence's first token (RoBERTa
    counts from the padding index + 1). ``packed_attention``: the attention arguments of
    packed rows, ``(model, same[R, W, W] bool, positions[R, W]) -> dict`` (a token attends to
    the tokens of its own example only), or ``None`` where the family's attention takes
    no block-diagonal mask (fine-tuning then computes batches in pieces).
    ``packed_classifier``: the sequence-classification head on packed rows,
    ``(model, hidden[T, H], first[N], example[T]) -> logits[N, C]`` (``first``: each
    example's first token, ``example``: each token's example, N for padding).
    ``trained``: embryo pretrains this family itself (``runs.<run>.architecture``).
    """

    name: str
    label: str
    layers: str
    embeddings: tuple[str, ...]
    mlm_head: Callable | None = None
    first_position: Callable = no_offset
    packed_attention: Callable | None = None
    packed_classifier: Callable | None = None
    trained: bool = False
    notes: tuple[str, ...] = field(default=())


def resolve(module, path: str):
    """The submodule of ``module`` at a dotted ``path`` ("" is ``module`` itself)."""
    for part in filter(None, path.split(".")):
        module = getattr(module, part)
    return module


def block_diagonal(model, same):
    """``same`` [R, W, W] (a token may attend to another) as the 4-D mask the model's
    attention takes: booleans for SDPA, an additive float mask for eager attention."""
    import torch

    mask = same[:, None]
    if model.config._attn_implementation == "eager":
        return torch.zeros(mask.shape, device=mask.device).masked_fill_(
            ~mask, torch.finfo(torch.float32).min
        )
    if model.config._attn_implementation != "sdpa":
        raise ValueError(f"no block-diagonal mask for {model.config._attn_implementation!r}")
    return mask


def masked_attention(model, same, positions):
    """Packed rows for a BERT-style encoder: a 4-D block-diagonal mask and each example's
    own positions."""
    return {"attention_mask": block_diagonal(model, same), "position_ids": positions}


def first_tokens(hidden, first):
    """Each example's first-token vector ([N, H]) from the packed rows' flat hidden states."""
    return hidden[first]
