"""Growth: a larger model initialised from a smaller one's checkpoint (bert2BERT, StackBERT).

Width (hidden size, attention heads, feed-forward width) grows by function-preserving
initialisation (Net2Net, Chen et al. 2016; bert2BERT's FPI, Chen et al. 2022): new unit
j of a layer copies old unit g(j) = j mod (old width), so every old unit has c copies;
a weight that *reads* a grown dimension divides each copy by its unit's count c, so the
sum it computes is the old one, and a weight that *writes* one copies the old rows.
Heads are copied whole (the head size must stay the same), so every copied head attends
exactly as its original. The embedding tables are divided too (they are read by the
tied masked-LM decoder, and the embedding LayerNorm does not see a common scale).

When the new width is a multiple of the old one every unit has the same count, every
LayerNorm sees the old mean and variance, and the grown model computes the same function
up to float rounding (``tests/test_growth.py``); for other factors the counts differ,
the LayerNorms see other statistics, and :func:`output_deviation` measures how far the
outputs move. The copies get identical gradients only where dropout draws identical
masks, so pretraining (dropout on) breaks the symmetry.

Depth grows by stacking (StackBERT, Gong et al. 2019): layer i of the grown model is the
(width-grown) layer i mod L of the source, so its first L layers are the source's. A
stacked model is not the same function: the new layers add their residual updates.

BERT and RoBERTa masked LMs; ALBERT's shared, factorised layers are refused.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from embryo.runtime.errors import EmbryoError


class Growth(NamedTuple):
    """The checkpoint a grown run starts from (``runs.<run>.grow_from``, step resolved)."""

    run: str
    step: int


ARCHITECTURES = ("bert", "roberta")

# parameter name pattern -> what each axis of the tensor is: (dimension, how it grows)
# dimensions: h hidden, a attention (head-structured hidden), f feed-forward, None as is;
# "copy" repeats old units (a writing axis), "split" also divides by the unit's count.
_AXES = [
    (r"embeddings\.(word|position|token_type)_embeddings\.weight", [(None, None), ("h", "split")]),
    (r"(LayerNorm|layer_norm)\.(weight|bias)", [("h", "copy")]),
    (r"attention\.self\.(query|key|value)\.weight", [("a", "copy"), ("h", "split")]),
    (r"attention\.self\.(query|key|value)\.bias", [("a", "copy")]),
    (r"attention\.output\.dense\.weight", [("h", "copy"), ("a", "split")]),
    (r"intermediate\.dense\.weight", [("f", "copy"), ("h", "split")]),
    (r"intermediate\.dense\.bias", [("f", "copy")]),
    (r"layer\.\d+\.output\.dense\.weight", [("h", "copy"), ("f", "split")]),
    (r"(transform\.dense|lm_head\.dense)\.weight", [("h", "copy"), ("h", "split")]),
    (r"dense\.bias", [("h", "copy")]),
    (r"decoder\.weight", [(None, None), ("h", "split")]),
    (r"(decoder\.bias|predictions\.bias|lm_head\.bias)", [(None, None)]),
]
_LAYER = re.compile(r"\.layer\.(\d+)\.")


def _axes(name: str):
    for pattern, axes in _AXES:
        if re.search(pattern, name):
            return axes
    raise EmbryoError(f"growth: no rule for parameter {name}")


def check_growth(source, target) -> None:
    """Refuse a growth that is not one: another family or vocabulary, smaller, other head size."""
    s, t = source.config, target.config
    if s.model_type not in ARCHITECTURES or t.model_type != s.model_type:
        raise EmbryoError(
            f"growth: a {t.model_type} grows from a {s.model_type} of the same family, one "
            f"of {ARCHITECTURES} (ALBERT shares its layers and factorises its embeddings)"
        )
    if s.vocab_size != t.vocab_size:
        raise EmbryoError(f"growth: vocabularies differ ({s.vocab_size} vs {t.vocab_size})")
    dims = {
        "hidden_size": (s.hidden_size, t.hidden_size),
        "num_attention_heads": (s.num_attention_heads, t.num_attention_heads),
        "intermediate_size": (s.intermediate_size, t.intermediate_size),
        "num_hidden_layers": (s.num_hidden_layers, t.num_hidden_layers),
        "max_position_embeddings": (s.max_position_embeddings, t.max_position_embeddings),
        "type_vocab_size": (s.type_vocab_size, t.type_vocab_size),
    }
    smaller = [f"{k} {b} < {a}" for k, (a, b) in dims.items() if b < a]
    if smaller:
        raise EmbryoError(f"growth: the target is smaller than the source: {', '.join(smaller)}")
    head, new_head = s.hidden_size // s.num_attention_heads, t.hidden_size // t.num_attention_heads
    if head != new_head:
        raise EmbryoError(
            f"growth: heads are copied whole, so the head size must stay {head} "
            f"(target: {t.hidden_size} / {t.num_attention_heads} = {new_head})"
        )


def grow(source, target) -> dict:
    """Overwrite ``target``'s parameters with ``source`` grown to its size; returns a summary.

    ``source`` and ``target`` are masked LMs of one family (BERT or RoBERTa) and one
    vocabulary; the target may be wider (hidden size, heads of the same size, feed-forward
    width), deeper, or both. Rows of the position and token-type tables beyond the
    source's keep the target's initialisation.
    """
    import torch

    check_growth(source, target)
    s, t = source.config, target.config
    head = s.hidden_size // s.num_attention_heads
    new = {
        "h": torch.arange(t.hidden_size) % s.hidden_size,
        "f": torch.arange(t.intermediate_size) % s.intermediate_size,
    }
    units = torch.arange(t.hidden_size)
    new["a"] = (units // head) % s.num_attention_heads * head + units % head
    counts = {k: torch.bincount(v).float() for k, v in new.items()}
    old = dict(source.named_parameters())
    with torch.no_grad():
        for name, param in target.named_parameters():
            layer = _LAYER.search(name)
            source_name = (
                _LAYER.sub(f".layer.{int(layer[1]) % s.num_hidden_layers}.", name, count=1)
                if layer
                else name
            )
            value = old[source_name]
            for axis, (dim, how) in enumerate(_axes(name)):
                if dim is None:
                    continue
                value = value.index_select(axis, new[dim])
                if how == "split":
                    shape = [1] * value.dim()
                    shape[axis] = -1
                    value = value / counts[dim][new[dim]].view(shape)
            rows = tuple(slice(0, n) for n in value.shape)
            param[rows] = value
    return {
        "hidden_size": [s.hidden_size, t.hidden_size],
        "num_attention_heads": [s.num_attention_heads, t.num_attention_heads],
        "intermediate_size": [s.intermediate_size, t.intermediate_size],
        "num_hidden_layers": [s.num_hidden_layers, t.num_hidden_layers],
        "exact": t.hidden_size % s.hidden_size == 0
        and t.intermediate_size % s.intermediate_size == 0
        and t.num_hidden_layers == s.num_hidden_layers,
    }


def output_deviation(source, target, input_ids) -> float:
    """Largest absolute difference of the two models' masked-LM logits on ``input_ids``."""
    import torch

    was = source.training, target.training
    source.eval()
    target.eval()
    with torch.no_grad():
        deviation = (source(input_ids).logits - target(input_ids).logits).abs().max().item()
    source.train(was[0])
    target.train(was[1])
    return deviation
