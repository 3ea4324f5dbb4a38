"""Model families and sizes: Hugging Face configs and classes for ALBERT, BERT and RoBERTa."""

from __future__ import annotations

from embryo.errors import EmbryoError

ARCHITECTURES = ("albert", "bert", "roberta")

# hidden, layers, heads, intermediate, (ALBERT) embedding size
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


def build_config(architecture: str, model: dict, tokenizer, block_size: int):
    """A transformers config for ``architecture`` sized by ``model``, matching ``tokenizer``."""
    from transformers import AlbertConfig, BertConfig, RobertaConfig

    common = dict(
        vocab_size=len(tokenizer),
        hidden_dropout_prob=model.get("dropout", 0.1),
        attention_probs_dropout_prob=model.get("dropout", 0.1),
        initializer_range=model.get("initializer_range", 0.02),
        pad_token_id=tokenizer.pad_token_id,
        **model_dims(architecture, model),
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


def new_model(architecture: str, model: dict, tokenizer, block_size: int, *, seed: int, sop: bool):
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


def max_positions(model) -> int:
    """The longest sequence the model's position embeddings admit (RoBERTa counts from pad + 1)."""
    config = model.config
    n = config.max_position_embeddings
    if config.model_type == "roberta":
        n -= config.pad_token_id + 1
    return n


def default_device() -> str:
    """ "cuda" when a GPU is visible, else "cpu"."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_masked_lm(model_dir, device=None):
    """A checkpoint's ``AutoModelForMaskedLM`` in eval mode on ``device`` (default: the GPU
    if any), and its tokenizer."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForMaskedLM.from_pretrained(model_dir).to(device or default_device())
    return model.eval(), tokenizer
