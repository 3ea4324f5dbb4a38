"""ModernBERT (``modernbert``; Warner et al. 2024) and the Ettin encoders built on it:
rotary positions, no token types, layers under ``layers``, and attention that alternates
global layers with local ones (every token sees the tokens within ``sliding_window`` of
it). A masked-LM checkpoint's final norm is part of the base model; the head is
``head`` (dense, activation, norm) then ``decoder``. Packed rows give each attention type
its own block-diagonal mask: the local one also cut to the window, as
``transformers.masking_utils.sliding_window_bidirectional_overlay`` cuts it. The
classification head pools the first token or the mean of the example's tokens
(``classifier_pooling``)."""

from __future__ import annotations

from embryo.models.families.base import Family, block_diagonal


def mlm_head(model, hidden):
    return model.decoder(model.head(hidden))


def packed_attention(model, same, positions):
    near = (positions[:, :, None] - positions[:, None, :]).abs() <= model.config.sliding_window
    masks = {
        "full_attention": block_diagonal(model, same),
        "sliding_attention": block_diagonal(model, same & near),
    }
    return {"attention_mask": masks, "position_ids": positions}


def packed_classifier(model, hidden, first, example):
    import torch

    if model.config.classifier_pooling == "mean":
        n = len(first)
        sums = torch.zeros(n + 1, hidden.shape[-1], dtype=hidden.dtype, device=hidden.device)
        sums.index_add_(0, example, hidden)
        counts = torch.bincount(example, minlength=n + 1)[:n, None].to(hidden.dtype)
        pooled = sums[:n] / counts
    else:
        pooled = hidden[first]
    return model.classifier(model.drop(model.head(pooled)))


MODERNBERT = Family(
    name="modernbert",
    label="ModernBERT / Ettin",
    layers="layers",
    embeddings=("embeddings",),
    mlm_head=mlm_head,
    packed_attention=packed_attention,
    packed_classifier=packed_classifier,
)
