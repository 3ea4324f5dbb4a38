"""Every model family embryo knows runs every per-checkpoint analysis and the transfer grid.

For each family of ``embryo.models.families`` (BERT, RoBERTa, XLM-R, ALBERT, DistilBERT,
ELECTRA's generator, DeBERTa-v2, ModernBERT) a tiny checkpoint saved by ``transformers``
itself (``tests/tiny_models.py``) goes through: the sparse masked-LM logits against the
full logits; the feature cache (every layer), mask prediction by POS, LAMA, BLiMP (its
PLL against one computed by hand from the full logits) and the weight analysis (a part
per layer); partial reinitialisation (the redrawn layer redrawn, the rest and the
embeddings kept, a permutation permuting); packed fine-tuning's logits against the padded
batch's, where the family packs; a fine-tuning job and a task probe. A family embryo does
not know (Megatron-BERT) runs the analyses by the general path and is refused the grid.
These checks back the families table of docs/suites.md.
"""

from __future__ import annotations

import json

import pytest

from .helpers import FINETUNE
from .tiny_models import FAMILIES, save_tiny, texts

PACKING = [f for f in FAMILIES if f != "deberta-v2"]
# one epoch at a moderate rate, no warm-up: the jobs run, their scores are not the point
HPARAMS = FINETUNE._replace(lr=1e-3, epochs=1, warmup_ratio=0.0, eval_batch_size=32)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    return {f: save_tiny(f, root / f) for f in FAMILIES}


def _load(path):
    from embryo.models.loading import load_masked_lm

    return load_masked_lm(path, "cpu")


def _sentences():
    from embryo.data.treebank import Sentence

    out = []
    for k, text in enumerate(texts(12, seed=3)):
        words = text.split()
        out.append(
            Sentence(
                f"s{k}",
                words,
                ["NOUN"] * len(words),
                ["NN"] * len(words),
                [-1] + [0] * (len(words) - 1),
                ["root"] + ["dep"] * (len(words) - 1),
            )
        )
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_sparse_logits_are_the_full_logits(family, checkpoints):
    import torch

    from embryo.models import families
    from embryo.models.loading import masked_logits

    model, tok = _load(checkpoints[family])
    assert families.of(model) is families.FAMILIES[family]
    ids = torch.tensor([tok("the cat sees a dog near the river .")["input_ids"]] * 2)
    selected = torch.zeros_like(ids, dtype=torch.bool)
    selected[0, [1, 3]] = selected[1, 2] = True
    with torch.no_grad():
        sparse, _ = masked_logits(model, ids, selected)
        full = model(input_ids=ids).logits[selected]
    assert sparse.shape == (3, len(tok))
    assert torch.allclose(sparse, full, atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_per_checkpoint_analysis_runs(family, checkpoints, tmp_path):
    import numpy as np
    import torch

    from embryo.embryology.blimp import blimp_items, pseudo_log_likelihoods
    from embryo.embryology.features import extract_features, load_features
    from embryo.embryology.lama import lama_items
    from embryo.embryology.mlm_pos import mlm_items
    from embryo.models.weights import weight_table

    path = checkpoints[family]
    sentences = _sentences()
    stats = extract_features(
        path, sentences, tmp_path / "f.safetensors", batch_size=5, device="cpu"
    )
    cached = load_features(tmp_path / "f.safetensors")
    assert stats["layers"] == 3 and cached["features"].shape[1:] == (3, 32)
    assert cached["kept"].all() and np.abs(cached["features"]).sum() > 0

    spans = [[(0, 2), (1, len(x.words))] for x in sentences]  # edge probing's spans
    stats = extract_features(path, sentences, tmp_path / "s.safetensors", spans=spans, device="cpu")
    assert (
        stats["words"] == 2 * len(sentences)
        and load_features(tmp_path / "s.safetensors")["kept"].all()
    )

    items = mlm_items(path, sentences, device="cpu")
    assert len(items) == sum(len(s.words) for s in sentences)
    assert items["mask_prediction"].notna().all()

    facts = [
        {
            "relation": "P19",
            "label": "born in",
            "type": "N-1",
            "sub_label": sub,
            "obj_label": obj,
            "template": "[X] was born in [Y] .",
        }
        for sub, obj in (("the teacher", "paris"), ("the doctor", "london"))
    ]
    ranks = lama_items(path, facts, device="cpu")
    assert ranks["skipped"].eq("").all() and ranks["rank"].between(1, 500).all()

    pairs = [
        {
            "sentence_good": "the cat sees a dog .",
            "sentence_bad": "the cat see a dog .",
            "UID": "agreement",
            "pairID": "0",
            "field": "morphology",
            "linguistics_term": "s-v agreement",
        }
    ]
    scored = blimp_items(path, pairs, device="cpu")
    model, tok = _load(path)
    sentence = "the cat sees a dog ."
    enc = tok(sentence, return_special_tokens_mask=True)
    by_hand = 0.0
    for t, special in enumerate(enc["special_tokens_mask"]):
        if not special:
            ids = list(enc["input_ids"])
            ids[t] = tok.mask_token_id
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([ids])).logits[0, t]
            by_hand += torch.log_softmax(logits.double(), -1)[enc["input_ids"][t]].item()
    assert scored["pll_good"].iloc[0] == pytest.approx(by_hand, abs=1e-4)
    assert pseudo_log_likelihoods(model, tok, [sentence])[0] == pytest.approx(by_hand, abs=1e-4)

    # the validation loss an imported series gets: a corpus packed with its own tokenizer
    import pandas as pd

    from embryo.data.blocks import pack_corpus
    from embryo.train.validation import score_checkpoint

    for split in ("train", "validation"):
        pd.DataFrame({"text": texts(40, seed=9), "doc": range(40)}).to_parquet(
            tmp_path / f"{split}.parquet"
        )
    pack_corpus(
        path,
        tmp_path / "train.parquet",
        tmp_path / "validation.parquet",
        tmp_path / "blocks",
        block_size=16,
    )
    metrics = score_checkpoint(
        path,
        tmp_path / "blocks",
        tmp_path / "v.json",
        step=5,
        seed=0,
        probability=0.15,
        batch_size=8,
        max_blocks=None,
    )
    assert metrics["step"] == 5 and metrics["val_masked_tokens"] > 0
    assert 0 < metrics["val_loss"] < 10 and json.loads((tmp_path / "v.json").read_text()) == metrics
    # per block, the summed loss and tokens the findings resample: they add up to the loss
    assert len(metrics["val_block_loss"]) == metrics["val_blocks"]
    assert sum(metrics["val_block_tokens"]) == metrics["val_masked_tokens"]
    assert sum(metrics["val_block_loss"]) / sum(metrics["val_block_tokens"]) == pytest.approx(
        metrics["val_loss"]
    )
    from embryo.train.validation import validation_table

    validation_table([tmp_path / "v.json"], tmp_path / "v.csv", run="r", items=tmp_path / "v.pq")
    assert "val_block_loss" not in pd.read_csv(tmp_path / "v.csv").columns
    blocks = pd.read_parquet(tmp_path / "v.pq")
    assert blocks["loss"].sum() == pytest.approx(sum(metrics["val_block_loss"]))
    assert blocks.columns.tolist() == ["run", "step", "block", "loss", "tokens"]

    table = weight_table(path, checkpoints[family], run="r", step=0, reference_step=0)
    layers = 1 if family == "albert" else 2  # ALBERT's layers share one group
    assert table["part"].tolist() == [
        "embeddings",
        *(f"layer {k}" for k in range(1, layers + 1)),
        "head",
        "model",
    ]
    assert (table.set_index("part").loc[["embeddings", "layer 1"], "parameters"] > 0).all()
    assert (table["distance"] == 0).all()


def _classifier(path, seed=0, **kw):
    from embryo.transfer.finetune import load_classifier

    model, _ = load_classifier(path, {"num_labels": 3, "type": "classification", **kw}, seed)
    return model.eval()


@pytest.mark.parametrize("family", FAMILIES)
def test_packing_gives_each_example_its_padded_logits(family, checkpoints):
    """Packed rows (each example attending to itself, with its own positions) give each
    example the logits of the padded batch, through the family's own head; examples longer
    than ModernBERT's local window check its windowed mask. DeBERTa does not pack."""
    import numpy as np
    import torch

    from embryo.transfer.finetune import batch_tensors, packed_logits, packed_tensors, packs

    model = _classifier(checkpoints[family])
    assert packs(model) == (family in PACKING)
    if family not in PACKING:
        return
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 40, size=12)
    rows = {
        "input_ids": [rng.integers(5, 60, k).tolist() for k in lengths],
        "token_type_ids": [[0] * k for k in lengths],
        "label": rng.integers(0, 3, 12).tolist(),
    }
    index = rng.permutation(12)
    variants = [model]
    if family == "modernbert":  # the head pooling the mean of the example's tokens
        mean = _classifier(checkpoints[family])
        mean.config.classifier_pooling = "mean"
        variants.append(mean)
    for m in variants:
        inputs, first, example, _ = packed_tensors(rows, index, lengths[index], m, "cpu")
        assert inputs["input_ids"].shape[0] < 12  # rows shared by several examples
        padded, _ = batch_tensors(rows, index, m.config.pad_token_id or 0, "cpu", m)
        with torch.no_grad():
            expected = m(**padded).logits
            logits = packed_logits(m, inputs, first, example)
        assert torch.allclose(logits, expected, atol=1e-5), family


@pytest.mark.parametrize("family", FAMILIES)
def test_reinitialisation_redraws_layers_and_keeps_the_rest(family, checkpoints):
    import torch

    from embryo.models.families import embedding_modules, layer_list
    from embryo.transfer.reinit import (
        Recipe,
        apply_scheme,
        encoder_layers,
        expand_schemes,
        is_norm,
    )

    pretrained = _classifier(checkpoints[family])

    def state(module):
        return {k: v.clone() for k, v in module.state_dict().items()}

    def same(a, b):
        return all(torch.equal(a[k], b[k]) for k in a)

    model = _classifier(checkpoints[family])
    apply_scheme(model, "progressive-k1", seed=0)
    if family == "albert":  # untied: two copies of the one shared layer
        before = [pretrained.base_model.encoder.albert_layer_groups[0].albert_layers[0]] * 2
    else:
        before = list(layer_list(pretrained))
    after = encoder_layers(model)
    assert len(after) == 2
    assert same(state(before[0]), state(after[0]))
    assert not same(state(before[1]), state(after[1]))
    for a, b in zip(embedding_modules(pretrained), embedding_modules(model), strict=True):
        assert same(state(a), state(b))

    model = _classifier(checkpoints[family])
    apply_scheme(model, "single-0", seed=0, recipe=Recipe("original", keep_layer_norm=False))
    norms = [m for m in encoder_layers(model)[0].modules() if is_norm(m)]
    assert norms and all(torch.all(m.weight == 1) for m in norms)
    linear = next(m for m in encoder_layers(model)[0].modules() if isinstance(m, torch.nn.Linear))
    assert linear.weight.abs().max() <= 0.0008 + 1e-9  # truncnorm(-2σ, 2σ, scale=σ)

    if family != "albert":  # a shared ALBERT's layers are one: refused (test_reinit)
        model = _classifier(checkpoints[family])
        scheme = apply_scheme(model, expand_schemes(["scramble-n1"], 2)[0], seed=0)
        assert scheme.order == (1, 0)
        after = encoder_layers(model)
        assert same(state(before[1]), state(after[0])) and same(state(before[0]), state(after[1]))


@pytest.fixture(scope="module")
def prepared(checkpoints, tmp_path_factory):
    """A small classification task tokenised by each family's tokenizer."""
    from embryo.data.tasks import prepare_task

    root = tmp_path_factory.mktemp("family-task")
    rows = [(int("dog" in t), t) for t in texts(120, seed=4)]
    for name, part in (("train", rows[:90]), ("dev", rows[90:])):
        lines = ["label\tsentence", *(f"{label}\t{text}" for label, text in part)]
        (root / f"{name}.tsv").write_text("\n".join(lines) + "\n")
    spec = {
        "source": "local",
        "format": "auto",
        "header": True,
        "type": "classification",
        "labels": None,
        "metrics": None,
        "train": "train.tsv",
        "dev": "dev.tsv",
        "text": ["sentence"],
        "label": "label",
    }
    out = {}
    for family, path in checkpoints.items():
        out[family] = root / family
        prepare_task(spec, root, path, out[family], name="dogs", max_length=32)
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_fine_tuning_and_task_probing_run(family, checkpoints, prepared, tmp_path):
    from embryo.transfer.finetune import finetune
    from embryo.transfer.task_probe import TaskProbeSettings, task_probe

    hparams = HPARAMS
    result = finetune(
        checkpoints[family],
        prepared[family],
        tmp_path / "m.json",
        n=64,
        seed=0,
        hparams=hparams,
        reinit="progressive-k1",
    )
    assert result["packed"] == (family in PACKING)
    assert result["reinit_layers"] == [1] and result["n_dev"] == 30
    assert json.loads((tmp_path / "m.json").read_text())["score"] == result["score"]
    records = task_probe(
        checkpoints[family],
        prepared[family],
        tmp_path / "probe",
        settings=TaskProbeSettings("mean", 64, 1.0, 32),
    )
    assert [r["layer"] for r in records] == [0, 1, 2]


@pytest.mark.parametrize("family", FAMILIES)
def test_extractive_question_answering_runs(family, checkpoints, tmp_path):
    """A SQuAD-format task on each family's own (fast) tokenizer: windows, a span head,
    answers read back from the offsets, exact match the mean of the questions'."""
    import pandas as pd

    from embryo.data.qa import prepare_qa
    from embryo.transfer.finetune import finetune

    words = texts(40, seed=6)
    rows = []
    for i, text in enumerate(words):
        answer = text.split()[1]
        start = text.index(" " + answer) + 1
        answers = (
            {"text": [], "answer_start": []}
            if i % 4 == 3
            else {"text": [answer], "answer_start": [start]}
        )
        rows.append(
            {
                "id": f"q{i}",
                "question": "which word comes second ?",
                "context": text,
                "answers": answers,
            }
        )
    for split, part in (("train", rows[:30]), ("dev", rows[30:])):
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    spec = {"source": "local", "type": "extractive_qa", "train": "train.jsonl", "dev": "dev.jsonl"}
    prepare_qa(spec, tmp_path, checkpoints[family], tmp_path / "task", name="qa", max_length=32)
    hparams = HPARAMS._replace(batch_size=8, eval_batch_size=16)
    result = finetune(
        checkpoints[family], tmp_path / "task", tmp_path / "m.json", n=None, seed=0, hparams=hparams
    )
    items = pd.read_parquet(tmp_path / "m.predictions.parquet")
    assert result["n_dev"] == 10 and result["score"] == pytest.approx(items["exact_match"].mean())


def test_a_family_embryo_does_not_know_gets_the_general_path(tmp_path):
    """Megatron-BERT is in no family module: its masked-LM logits are the full logits
    gathered, its layers the one module list of its depth, and reinitialising a layer is
    refused, naming the family and what is missing."""
    import torch
    from transformers import AutoConfig, AutoModelForMaskedLM

    from embryo.models import families
    from embryo.models.loading import masked_logits
    from embryo.models.weights import weight_table
    from embryo.runtime.errors import EmbryoError
    from embryo.transfer.reinit import apply_scheme

    from .tiny_models import tokenizer

    tok = tokenizer("bert")
    config = AutoConfig.for_model(
        "megatron-bert",
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    AutoModelForMaskedLM.from_config(config).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    model, tok = _load(tmp_path)
    assert families.of(model) is None
    assert families.missing("megatron-bert", "transfer").endswith(
        "embryo does not know the 'megatron-bert' family (embryo.models.families)"
    )
    ids = torch.tensor([tok("the cat sees a dog .")["input_ids"]])
    selected = torch.zeros_like(ids, dtype=torch.bool)
    selected[0, 2] = True
    with torch.no_grad():
        logits, _ = masked_logits(model, ids, selected)
        assert torch.allclose(logits, model(input_ids=ids).logits[selected])
    parts = weight_table(tmp_path, tmp_path, run="r", step=0, reference_step=0)["part"].tolist()
    assert parts == ["embeddings", "layer 1", "layer 2", "head", "model"]
    with pytest.raises(
        EmbryoError, match="single-0: a megatron-bert model lacks its list of layers"
    ):
        apply_scheme(_classifier(tmp_path), "single-0", seed=0)
