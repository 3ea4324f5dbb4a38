"""DeBERTa-v2 and v3 (``deberta-v2``; He et al. 2021, 2023): disentangled attention over
relative positions, whose table (``encoder.rel_embeddings``, with its LayerNorm) every
layer shares and so belongs with the embeddings. Its attention takes a 2-D or 3-D mask
and its embeddings multiply by a 2-D one, so packed rows cannot be computed: fine-tuning
runs in pieces of similar length. The masked-LM head is ``cls`` in the legacy layout (the
default) or ``lm_predictions`` reading the word embeddings."""

from __future__ import annotations

from embryo.models.families.base import Family


def mlm_head(model, hidden):
    if getattr(model.config, "legacy", True):
        return model.cls(hidden)
    return model.lm_predictions(hidden, model.deberta.embeddings.word_embeddings)


DEBERTA_V2 = Family(
    name="deberta-v2",
    label="DeBERTa-v2/v3",
    layers="encoder.layer",
    embeddings=("embeddings", "encoder.rel_embeddings", "encoder.LayerNorm"),
    mlm_head=mlm_head,
    notes=("no packed fine-tuning: its embeddings take a 2-D mask only",),
)
