"""The families embryo pretrains (ALBERT, BERT, RoBERTa): sizes, configs, a new model.

What a pretraining run builds at step 0; what every later stage loads is in
:mod:`embryo.models.loading`, and what it needs of each family in the family's module.
"""

from __future__ import annotations

from typing import NamedTuple

from embryo.runtime.errors import EmbryoError

ARCHITECTURES = ("albert", "bert", "roberta")  # the families with trained=True

# hidden, layers, heads, intermediate, (ALBERT) embedding size. tiny..medium: the BERT
# miniatures of Turc et al. 2019 (google-research/bert README); base, large: Devlin et al.
SIZES = {
    "tiny": (128, 2, 2, 512, 64),
    "mini": (256, 4, 4, 1024, 128),
    "small": (512, 4, 8, 2048, 128),
    "medium": (512, 8, 8, 2048, 128),
    "base": (768, 12, 12, 3072, 128),
    "large": (1024, 24, 16, 4096, 128),
}


def model_dims(architecture: str, model: dict) -> dict:
    """Resolve a ``model`` config section (size preset + overrides) into dimensions."""
    if architecture not in ARCHITECTURES:
        raise EmbryoError(f"unknown architecture {architecture!r}; expected one of {ARCHITECTURES}")
    hidden, layers, heads, inter, emb = SIZES[model.get("size", "tiny")]
    dims = {
        "hidden_size": model.get("hidden_size", hidden),
        "num_hidden_layers": model.get("num_layers", layers),
        "num_attention_heads": model.get("num_heads", heads),
        "intermediate_size": model.get("intermediate_size", inter),
    }
    if architecture == "albert":
        dims["embedding_size"] = model.get("embedding_size", emb)
    elif "embedding_size" in model:
        raise EmbryoError(
            f"embedding_size is ALBERT's factorised embedding; {architecture} has none"
        )
    if dims["hidden_size"] % dims["num_attention_heads"]:
        raise EmbryoError(
            f"num_heads {dims['num_attention_heads']} does not divide hidden_size {dims['hidden_size']}"
        )
    return dims


class ModelSpec(NamedTuple):
    """A model's size and initialisation, resolved from a run's ``model`` section."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    embedding_size: int | None  # ALBERT's factorised embedding; None for BERT and RoBERTa
    dropout: float
    initializer_range: float


def model_spec(architecture: str, model: dict) -> ModelSpec:
    """The :class:`ModelSpec` of a validated ``model`` section (preset, overrides, dropout,
    initializer range: see ``config/schema.yaml``)."""
    dims = model_dims(architecture, model)
    return ModelSpec(
        **{"embedding_size": None, **dims},
        dropout=model["dropout"],
        initializer_range=model["initializer_range"],
    )


def build_config(architecture: str, model: ModelSpec, tokenizer, block_size: int):
    """A transformers config for ``architecture`` sized by ``model``, matching ``tokenizer``."""
    from transformers import AlbertConfig, BertConfig, RobertaConfig

    dims = model._asdict()
    dropout, initializer_range = dims.pop("dropout"), dims.pop("initializer_range")
    if dims["embedding_size"] is None:
        del dims["embedding_size"]
    common = dict(
        vocab_size=len(tokenizer),
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        initializer_range=initializer_range,
        pad_token_id=tokenizer.pad_token_id,
        **dims,
    )
    if architecture == "albert":
        return AlbertConfig(
            max_position_embeddings=block_size,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
            classifier_dropout_prob=common["hidden_dropout_prob"],
            **common,
        )
    if architecture == "bert":
        return BertConfig(max_position_embeddings=block_size, **common)
    # RoBERTa counts positions from pad_token_id + 1, hence two extra position slots.
    return RobertaConfig(
        max_position_embeddings=block_size + tokenizer.pad_token_id + 1,
        type_vocab_size=1,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **common,
    )


def new_model(
    architecture: str, model: ModelSpec, tokenizer, block_size: int, *, seed: int, sop: bool
):
    """A freshly initialised model: ``ForMaskedLM``, or ALBERT's ``ForPreTraining`` with SOP."""
    import torch
    from transformers import AlbertForPreTraining, AutoModelForMaskedLM

    config = build_config(architecture, model, tokenizer, block_size)
    torch.manual_seed(seed)
    if sop:
        return AlbertForPreTraining(config)
    return AutoModelForMaskedLM.from_config(config)


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())
