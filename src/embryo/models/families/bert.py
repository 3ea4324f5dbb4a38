"""BERT (``bert``; Devlin et al. 2019): the MultiBERTs suite, ``bert-base-uncased``, and the
BERTs embryo pretrains. Its ``ForSequenceClassification`` reads the pooler (dense + tanh
on the first token); a masked-LM checkpoint has no pooler, so it is newly drawn."""

from __future__ import annotations

from embryo.models.families.base import Family, masked_attention


def mlm_head(model, hidden):
    return model.cls(hidden)


def packed_classifier(model, hidden, first, example):
    pooled = model.base_model.pooler(hidden[first][:, None])
    return model.classifier(model.dropout(pooled))


BERT = Family(
    name="bert",
    label="BERT",
    layers="encoder.layer",
    embeddings=("embeddings",),
    mlm_head=mlm_head,
    packed_attention=masked_attention,
    packed_classifier=packed_classifier,
    trained=True,
)
