"""RoBERTa (``roberta``; Liu et al. 2019) and XLM-R (``xlm-roberta``; Conneau et al. 2020):
one code path in transformers. Positions count from the padding index + 1, so a model of
``max_position_embeddings`` P admits P - pad - 1 tokens; the classification head reads the
first token (``<s>``) through a dense layer of its own."""

from __future__ import annotations

from embryo.models.families.base import Family, after_padding, masked_attention


def mlm_head(model, hidden):
    return model.lm_head(hidden)


def packed_classifier(model, hidden, first, example):
    return model.classifier(hidden[first][:, None])


def _roberta(name: str, label: str, trained: bool) -> Family:
    return Family(
        name=name,
        label=label,
        layers="encoder.layer",
        embeddings=("embeddings",),
        mlm_head=mlm_head,
        first_position=after_padding,
        packed_attention=masked_attention,
        packed_classifier=packed_classifier,
        trained=trained,
    )


ROBERTA = _roberta("roberta", "RoBERTa", trained=True)
XLM_ROBERTA = _roberta("xlm-roberta", "XLM-R", trained=False)
