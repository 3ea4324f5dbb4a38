"""ELECTRA (``electra``; Clark et al. 2020). ``AutoModelForMaskedLM`` loads the
*generator* (``ElectraForMaskedLM``: ``generator_predictions``, ``generator_lm_head``); a
discriminator checkpoint has no masked-LM head and gets a new one, which the analyses
would read as noise. Its embeddings may be narrower than its layers
(``embeddings_project``); the classification head reads the first token."""

from __future__ import annotations

from embryo.models.families.base import Family, masked_attention


def mlm_head(model, hidden):
    return model.generator_lm_head(model.generator_predictions(hidden))


def packed_classifier(model, hidden, first, example):
    return model.classifier(hidden[first][:, None])


ELECTRA = Family(
    name="electra",
    label="ELECTRA",
    layers="encoder.layer",
    embeddings=("embeddings", "embeddings_project"),
    mlm_head=mlm_head,
    packed_attention=masked_attention,
    packed_classifier=packed_classifier,
)
