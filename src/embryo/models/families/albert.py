"""ALBERT (``albert``; Lan et al. 2020): the Embryology paper's model. Its embeddings are
factorised (an embedding width, then ``encoder.embedding_hidden_mapping_in`` to the hidden
width) and its L layers share the weights of its layer groups (one group in the published
models): the layer list is of groups, untied before a layer is redrawn
(:func:`embryo.transfer.reinit.untie_albert`)."""

from __future__ import annotations

from embryo.models.families.base import Family, masked_attention


def mlm_head(model, hidden):
    return model.predictions(hidden)


def packed_classifier(model, hidden, first, example):
    base = model.base_model
    pooled = base.pooler_activation(base.pooler(hidden[first]))
    return model.classifier(model.dropout(pooled))


ALBERT = Family(
    name="albert",
    label="ALBERT",
    layers="encoder.albert_layer_groups",
    embeddings=("embeddings", "encoder.embedding_hidden_mapping_in"),
    mlm_head=mlm_head,
    packed_attention=masked_attention,
    packed_classifier=packed_classifier,
    trained=True,
)
