"""Model families: what embryo knows of each Hugging Face ``model_type``, one module each.

Every per-checkpoint analysis runs on any checkpoint that ``AutoModelForMaskedLM`` and
``AutoTokenizer`` load and whose tokenizer has a mask token, whatever its family: the
features are ``output_hidden_states``, the masked-LM logits fall back to the full logits
gathered at the positions asked for. What a family adds is in its module:

- :mod:`~.bert` BERT, :mod:`~.roberta` RoBERTa and XLM-R, :mod:`~.albert` ALBERT,
  :mod:`~.distilbert` DistilBERT, :mod:`~.electra` ELECTRA (its generator),
  :mod:`~.deberta` DeBERTa-v2/v3, :mod:`~.modernbert` ModernBERT and Ettin: the
  masked-LM head (logits at chosen positions only), the first position id, the list of
  layers and the embeddings (partial reinitialisation, the weight analysis), packed
  fine-tuning's attention and classification head;
- :mod:`~.trained`: the three families embryo pretrains itself (sizes, configs).

:data:`FAMILIES` maps each ``model_type`` to its :class:`~.base.Family`; a family that is
not there gets the general path of every analysis, and a clear refusal, at parse time,
from what needs to know its layers (:func:`missing`). Nothing here imports torch or
transformers at import time: the workflow reads the registry while it parses.
"""

from __future__ import annotations

from embryo.models.families.albert import ALBERT
from embryo.models.families.base import Family, resolve
from embryo.models.families.bert import BERT
from embryo.models.families.deberta import DEBERTA_V2
from embryo.models.families.distilbert import DISTILBERT
from embryo.models.families.electra import ELECTRA
from embryo.models.families.modernbert import MODERNBERT
from embryo.models.families.roberta import ROBERTA, XLM_ROBERTA
from embryo.models.families.trained import (
    ARCHITECTURES,
    SIZES,
    ModelSpec,
    build_config,
    model_dims,
    model_spec,
    new_model,
    parameter_count,
)

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (BERT, ROBERTA, XLM_ROBERTA, ALBERT, DISTILBERT, ELECTRA, DEBERTA_V2, MODERNBERT)
}

# what a config may ask of a family, and what it takes (see :func:`missing`)
NEEDS = {
    "transfer": "its list of layers and embeddings (partial reinitialisation)",
    "packing": "a block-diagonal attention mask (packed fine-tuning)",
    "training": "a config embryo can build and pretrain",
}


def family(model_type: str) -> Family | None:
    """The :class:`~.base.Family` of ``model_type``, or None for a family embryo does not
    know (which every per-checkpoint analysis still runs on)."""
    return FAMILIES.get(model_type)


def of(model) -> Family | None:
    """The family of a loaded model (its config's ``model_type``)."""
    return family(model.config.model_type)


def missing(model_type: str, need: str) -> str | None:
    """What family ``model_type`` lacks for ``need`` (a key of :data:`NEEDS`), or None."""
    known = family(model_type)
    if need == "training":
        return None if known is not None and known.trained else NEEDS[need]
    if known is None:
        return f"{NEEDS[need]}: embryo does not know the {model_type!r} family (embryo.models.families)"
    if need == "packing" and known.packed_attention is None:
        return NEEDS[need]
    return None


def first_position(config) -> int:
    """The position id of a sequence's first token (RoBERTa: the padding index + 1)."""
    known = family(config.model_type)
    return known.first_position(config) if known is not None else 0


def max_positions(config) -> int:
    """The longest input a model's positions admit: ``max_position_embeddings`` less the
    positions its first token skips (RoBERTa counts from pad + 1). A family embryo does
    not know is granted two positions fewer than its table, as RoBERTa's would be."""
    n = config.max_position_embeddings
    if family(config.model_type) is None:
        return n - 2
    return n - first_position(config)


def layer_list(model):
    """The module list of a model's encoder layers (ALBERT: its layer groups), by its
    family's ``layers`` path; for a family embryo does not know, the base model's only
    module list with ``num_hidden_layers`` entries (an error when there is none or several)."""
    import torch

    known = of(model)
    base = model.base_model
    if known is not None:
        return resolve(base, known.layers)
    lists = [
        m
        for m in base.modules()
        if isinstance(m, torch.nn.ModuleList) and len(m) == model.config.num_hidden_layers
    ]
    if len(lists) != 1:
        raise ValueError(
            f"{model.config.model_type}: {len(lists)} module lists of "
            f"{model.config.num_hidden_layers} layers; embryo cannot tell which are its layers"
        )
    return lists[0]


def embedding_modules(model) -> list:
    """The modules that embed the input (every reinit scheme keeps them); for a family
    embryo does not know, the base model's ``embeddings``."""
    known = of(model)
    paths = known.embeddings if known is not None else ("embeddings",)
    out = []
    for path in paths:
        try:
            out.append(resolve(model.base_model, path))
        except AttributeError:
            continue  # an optional part (ELECTRA's projection when widths are equal)
    return out


__all__ = [
    "ARCHITECTURES",
    "FAMILIES",
    "Family",
    "ModelSpec",
    "NEEDS",
    "SIZES",
    "build_config",
    "embedding_modules",
    "family",
    "first_position",
    "layer_list",
    "max_positions",
    "missing",
    "model_dims",
    "model_spec",
    "new_model",
    "of",
    "parameter_count",
    "resolve",
]
