"""Growth: function-preserving width expansion, depth stacking, and what is refused."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    AlbertConfig,
    AlbertForMaskedLM,
    AutoModelForMaskedLM,
    BertConfig,
    RobertaConfig,
)

from embryo.runtime.errors import EmbryoError
from embryo.train.growth import grow, output_deviation

CONFIGS = {"bert": BertConfig, "roberta": RobertaConfig}


def model(arch="bert", hidden=32, heads=2, inter=64, layers=2, seed=0):
    torch.manual_seed(seed)
    config = CONFIGS[arch](
        vocab_size=60,
        hidden_size=hidden,
        num_attention_heads=heads,
        intermediate_size=inter,
        num_hidden_layers=layers,
        max_position_embeddings=40,
        pad_token_id=1,
    )
    out = AutoModelForMaskedLM.from_config(config)
    with torch.no_grad():  # "pretrained": LayerNorms and biases away from their init
        for p in out.parameters():
            p.add_(torch.randn(p.shape) * 0.05)
    return out


def inputs():
    return torch.randint(2, 60, (3, 12), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("arch", ["bert", "roberta"])
def test_doubling_the_width_preserves_the_function(arch):
    small, wide = model(arch), model(arch, hidden=64, heads=4, inter=128, seed=1)
    before = output_deviation(small, wide, inputs())
    summary = grow(small, wide)
    assert summary["exact"] and before > 1e-2
    assert output_deviation(small, wide, inputs()) < 1e-4
    # the tied decoder is still the embedding table
    assert (
        wide.get_output_embeddings().weight.data_ptr()
        == wide.get_input_embeddings().weight.data_ptr()
    )


def test_other_width_factors_report_their_deviation():
    small, wide = model(), model(hidden=48, heads=3, inter=96, seed=1)
    summary = grow(small, wide)
    deviation = output_deviation(small, wide, inputs())
    assert not summary["exact"] and deviation > 1e-4
    assert deviation < output_deviation(
        small, model(hidden=48, heads=3, inter=96, seed=1), inputs()
    )


def test_depth_stacks_the_source_layers():
    small, deep = model(), model(layers=5, seed=1)
    summary = grow(small, deep)
    assert deep.config.num_hidden_layers == 5 and not summary["exact"]
    old = small.bert.encoder.layer
    for i, layer in enumerate(deep.bert.encoder.layer):
        for (name, a), b in zip(
            layer.state_dict().items(), old[i % 2].state_dict().values(), strict=True
        ):
            assert torch.equal(a, b), (i, name)


def test_growth_that_is_not_one_is_refused():
    with pytest.raises(EmbryoError, match="head size must stay 16"):
        grow(model(), model(hidden=64, heads=2, inter=128))
    with pytest.raises(EmbryoError, match="smaller than the source: num_hidden_layers 1 < 2"):
        grow(model(), model(layers=1))
    albert = AlbertForMaskedLM(
        AlbertConfig(
            vocab_size=60,
            hidden_size=32,
            num_attention_heads=2,
            intermediate_size=64,
            embedding_size=16,
        )
    )
    with pytest.raises(EmbryoError, match="ALBERT shares its layers"):
        grow(albert, albert)
