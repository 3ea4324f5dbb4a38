"""Reinitialisation schemes: each changes exactly the parameters it names (Tamkin et al. 2020)."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    AlbertConfig,
    AlbertForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
)

from embryo.runtime.errors import EmbryoError
from embryo.transfer.reinit import (
    Recipe,
    apply_scheme,
    expand_schemes,
    parse_scheme,
    same_model,
    untie_albert,
)

DIMS = dict(
    vocab_size=50,
    hidden_size=32,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=16,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
)


def pretrained_like(model):
    """Perturb every parameter, so that LayerNorm is not already the identity and biases not 0."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.05)
    return model


def bert(layers=3):
    torch.manual_seed(0)
    return pretrained_like(
        BertForSequenceClassification(BertConfig(num_hidden_layers=layers, **DIMS))
    )


def albert(layers=3):
    torch.manual_seed(0)
    cfg = AlbertConfig(
        num_hidden_layers=layers, embedding_size=16, classifier_dropout_prob=0.0, **DIMS
    )
    return pretrained_like(AlbertForSequenceClassification(cfg))


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def changed(before, model):
    after = model.state_dict()
    return {k for k in before if not torch.equal(before[k], after[k])}


def layer_keys(state, i):
    return {k for k in state if k.startswith(f"bert.encoder.layer.{i}.")}


def outputs(model, seed=1):
    model.eval()
    ids = torch.randint(0, 50, (3, 12), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_parse_names_the_layers_redrawn():
    assert parse_scheme("none", 4).reinit == ()
    assert parse_scheme("progressive-k1", 4).reinit == (1, 2, 3)
    assert parse_scheme("progressive-k4", 4).reinit == ()
    assert parse_scheme("progressive-k0", 4).reinit == (0, 1, 2, 3)
    assert parse_scheme("block-1-2", 4).reinit == (1, 2)
    assert parse_scheme("only-1-2", 4).reinit == (0, 3)
    assert parse_scheme("single-3", 4).reinit == (3,)
    scramble = parse_scheme("scramble-s1", 4)
    assert scramble.reinit == () and sorted(scramble.order) == [0, 1, 2, 3]
    assert scramble.order == parse_scheme("scramble-s1", 4).order
    assert scramble.order != tuple(range(4))


@pytest.mark.parametrize(
    "name",
    ["progressive-k5", "block-2-1", "block-0-4", "only-3-9", "single-4", "scramble-s0", "foo"],
)
def test_parse_refuses_impossible_schemes(name):
    with pytest.raises(EmbryoError, match="reinit|scheme"):
        parse_scheme(name, 4)


def test_expand_families():
    assert expand_schemes(["none", "progressive", "single"], 2) == [
        "none",
        "progressive-k0",
        "progressive-k1",
        "single-0",
        "single-1",
    ]
    assert expand_schemes(["block-w2", "only-w2"], 3) == [
        "block-0-1",
        "block-1-2",
        "only-0-1",
        "only-1-2",
    ]
    assert expand_schemes(["scramble-n2"], 3) == ["scramble-s1", "scramble-s2"]
    # on 2 layers seed 1 is the identity (= none); on 3 layers seeds 4..13 repeat orders
    assert expand_schemes(["scramble-n1"], 2) == ["scramble-s2"]
    assert expand_schemes(["scramble-n4"], 3) == [f"scramble-s{s}" for s in (1, 2, 3, 14)]
    with pytest.raises(EmbryoError, match="only 1 layer order other than its own"):
        expand_schemes(["scramble-n2"], 2)
    with pytest.raises(EmbryoError, match="single-7"):
        expand_schemes(["single-7"], 3)


def test_schemes_that_build_the_same_model_are_one_job():
    assert same_model(["none", "progressive-k0", "progressive-k1", "single-0", "single-1"], 2) == {
        "single-1": "progressive-k1"
    }
    names = [
        "single-2",
        "only-0-1",
        "block-1-2",
        "block-0-2",
        "progressive-k1",
        "progressive-k2",
        "progressive-k0",
        "block-1-1",
        "single-1",
        "scramble-s3",
        "scramble-s4",
        "scramble-s5",
        "none",
    ]
    # on 3 layers: {2} redrawn = progressive-k2; {1, 2} = progressive-k1; all = progressive-k0;
    # block-1-1 = single-1 (block before single); seeds 3 and 4 give one order, 5 the identity
    assert parse_scheme("scramble-s3", 3).order == parse_scheme("scramble-s4", 3).order
    assert parse_scheme("scramble-s5", 3).order == (0, 1, 2)
    assert same_model(names, 3) == {
        "single-2": "progressive-k2",
        "only-0-1": "progressive-k2",
        "block-1-2": "progressive-k1",
        "block-0-2": "progressive-k0",
        "single-1": "block-1-1",
        "scramble-s4": "scramble-s3",
        "scramble-s5": "none",
    }
    for init in ("model", "original"):  # and the models are indeed equal
        a, b = bert(3), bert(3)
        apply_scheme(a, "block-1-2", seed=4, recipe=Recipe(init))
        apply_scheme(b, "progressive-k1", seed=4, recipe=Recipe(init))
        assert not changed(snapshot(a), b)


@pytest.mark.parametrize(
    "name", ["progressive-k1", "progressive-k0", "block-1-2", "only-1-1", "single-0", "single-2"]
)
def test_each_scheme_changes_exactly_its_layers(name):
    model = bert(3)
    before = snapshot(model)
    scheme = apply_scheme(model, name, seed=0)
    expected = set().union(*(layer_keys(before, i) for i in scheme.reinit))
    assert changed(before, model) == expected


def test_model_init_draws_like_a_fresh_model():
    model = bert(2)
    apply_scheme(model, "single-1", seed=0)
    layer = model.bert.encoder.layer[1]
    weight = layer.intermediate.dense.weight
    assert abs(weight.std().item() - 0.02) < 0.002
    assert torch.all(layer.intermediate.dense.bias == 0)
    assert torch.all(layer.output.LayerNorm.weight == 1)
    assert torch.all(layer.output.LayerNorm.bias == 0)


def test_original_recipe_redraws_only_linear_weights_near_zero():
    model = bert(2)
    before = snapshot(model)
    apply_scheme(model, "single-0", seed=0, recipe=Recipe("original"))
    prefix = "bert.encoder.layer.0."
    moved = changed(before, model)
    assert moved == {k for k in layer_keys(before, 0) if k.endswith("weight") or "LayerNorm" in k}
    layer = model.bert.encoder.layer[0]
    for linear in (layer.attention.self.query, layer.intermediate.dense, layer.output.dense):
        assert linear.weight.abs().max().item() <= 0.04 * 0.02 + 1e-9
    assert torch.equal(before[prefix + "intermediate.dense.bias"], layer.intermediate.dense.bias)
    assert torch.all(layer.output.LayerNorm.weight == 1)


def test_reinit_is_reproducible_from_the_seed():
    a, b, c = bert(2), bert(2), bert(2)
    apply_scheme(a, "single-0", seed=3)
    apply_scheme(b, "single-0", seed=3)
    apply_scheme(c, "single-0", seed=4)
    key = "bert.encoder.layer.0.output.dense.weight"
    assert torch.equal(a.state_dict()[key], b.state_dict()[key])
    assert not torch.equal(a.state_dict()[key], c.state_dict()[key])


def test_progressive_all_layers_kept_is_none():
    model, reference = bert(3), bert(3)
    apply_scheme(model, "progressive-k3", seed=0)
    apply_scheme(reference, "none", seed=0)
    assert changed(snapshot(reference), model) == set()


def test_scramble_holds_the_same_layers_in_another_order():
    model = bert(3)
    before = snapshot(model)
    scheme = apply_scheme(model, "scramble-s2", seed=0)
    assert scheme.order != (0, 1, 2)
    after = model.state_dict()
    for position, source in enumerate(scheme.order):
        for key in layer_keys(before, source):
            moved = key.replace(f"layer.{source}.", f"layer.{position}.")
            assert torch.equal(after[moved], before[key])
    outside = {k for k in before if ".encoder.layer." not in k}
    assert all(torch.equal(after[k], before[k]) for k in outside)


def test_untying_albert_preserves_its_outputs():
    model = albert(3)
    reference = outputs(model)
    untie_albert(model)
    assert model.config.num_hidden_groups == 3
    assert len(model.albert.encoder.albert_layer_groups) == 3
    assert torch.allclose(outputs(model), reference, atol=1e-6)
    # and the copies are independent parameters
    groups = model.albert.encoder.albert_layer_groups
    assert groups[0].albert_layers[0].ffn.weight is not groups[1].albert_layers[0].ffn.weight


def test_albert_single_layer_reinit_changes_only_that_copy():
    model = albert(3)
    shared = snapshot(model)
    apply_scheme(model, "single-1", seed=0)
    after = model.state_dict()
    for i in range(3):
        prefix = f"albert.encoder.albert_layer_groups.{i}."
        keys = [k for k in after if k.startswith(prefix)]
        same = [
            torch.equal(
                after[k], shared[k.replace(prefix, "albert.encoder.albert_layer_groups.0.")]
            )
            for k in keys
        ]
        assert (not all(same)) if i == 1 else all(same)
    outside = [k for k in shared if "albert_layer_groups" not in k]
    assert all(torch.equal(after[k], shared[k]) for k in outside)


def test_albert_none_stays_shared_and_scramble_is_refused():
    model = albert(2)
    apply_scheme(model, "none", seed=0)
    apply_scheme(model, "progressive-k2", seed=0)
    assert model.config.num_hidden_groups == 1
    with pytest.raises(EmbryoError, match="shares one set of weights"):
        apply_scheme(model, "scramble-s1", seed=0)


@pytest.mark.parametrize("init", ["model", "original"])
def test_keep_layer_norm_keeps_the_pretrained_norms(init):
    model = bert(2)
    before = snapshot(model)
    apply_scheme(model, "single-1", seed=0, recipe=Recipe(init, keep_layer_norm=True))
    moved = changed(before, model)
    redrawn = {k for k in layer_keys(before, 1) if "LayerNorm" not in k}
    if init == "original":  # its biases stay pretrained too
        redrawn = {k for k in redrawn if k.endswith("weight")}
    assert moved == redrawn
    assert any("LayerNorm" in k for k in layer_keys(before, 1))


def test_redrawn_layers_train_at_the_multiplied_rate():
    from embryo.train.optimizer import adamw
    from embryo.transfer.finetune import FinetuneSettings
    from embryo.transfer.reinit import encoder_layers

    model = bert(3)
    scheme = apply_scheme(model, "block-1-2", seed=0)
    hparams = FinetuneSettings(**{f: 0 for f in FinetuneSettings._fields})._replace(
        lr=2e-5, weight_decay=0.01, beta1=0.9, beta2=0.999, eps=1e-8
    )
    redrawn = [p for i in scheme.reinit for p in encoder_layers(model)[i].parameters()]
    opt = adamw(model, hparams, scaled=(redrawn, 5.0))
    rate = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    assert len(rate) == len(list(model.parameters()))
    ids = {id(p) for p in redrawn}
    assert {rate[i] for i in ids} == {1e-4}
    assert {r for i, r in rate.items() if i not in ids} == {2e-5}
    # decay stays split as before: no decay on the redrawn layers' biases and norms
    decay = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    layer = encoder_layers(model)[1]
    assert (
        decay[id(layer.output.LayerNorm.weight)] == 0
        and decay[id(layer.output.dense.weight)] == 0.01
    )
    assert len(adamw(model, hparams).param_groups) == 2  # multiplier 1: the two usual groups
