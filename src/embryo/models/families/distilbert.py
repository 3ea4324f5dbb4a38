"""DistilBERT (``distilbert``; Sanh et al. 2019): BERT's layers under other names
(``transformer.layer``), no token types, a masked-LM head of four modules and a
classification head of its own (``pre_classifier``, ReLU, dropout, ``classifier``) on the
first token."""

from __future__ import annotations

from embryo.models.families.base import Family, masked_attention


def mlm_head(model, hidden):
    return model.vocab_projector(
        model.vocab_layer_norm(model.activation(model.vocab_transform(hidden)))
    )


def packed_classifier(model, hidden, first, example):
    import torch

    pooled = torch.relu(model.pre_classifier(hidden[first]))
    return model.classifier(model.dropout(pooled))


DISTILBERT = Family(
    name="distilbert",
    label="DistilBERT",
    layers="transformer.layer",
    embeddings=("embeddings",),
    mlm_head=mlm_head,
    packed_attention=masked_attention,
    packed_classifier=packed_classifier,
)
