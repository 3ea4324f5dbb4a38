"""Cached word features and layer-wise linear probes with control tasks."""

from __future__ import annotations

import numpy as np
import pytest

from embryo.data.treebank import Sentence, read_conllu, word_pieces
from embryo.embryology.features import extract_features, load_features
from embryo.embryology.probing import (
    TASKS,
    control_labels,
    probe_all_layers,
    probe_labels,
)
from embryo.runtime.errors import EmbryoError

from .helpers import CONLLU, FAST, tagged


def synthetic(labels_per_sentence, *, hidden=16, seed=0, informative=(1, 2), words=None):
    """Sentences tagged ``labels`` and features [n_words, 3, hidden] with class-dependent means.

    Layers in ``informative`` hold ``mean[label] + noise``; the others pure noise. Words
    are unique unless ``words`` (one list per sentence) is given.
    """
    rng = np.random.default_rng(seed)
    means = {c: rng.normal(0, 2, hidden) for c in "ABCDZ"}
    sents, rows, count = [], [], 0
    for k, labels in enumerate(labels_per_sentence):
        ws = words[k] if words else [f"w{count + i}" for i in range(len(labels))]
        heads = [-1] + [0] * (len(labels) - 1)
        sents.append(Sentence(str(k), ws, list(labels), list(labels), heads, list(labels)))
        for label in labels:
            row = rng.normal(0, 1, (3, hidden))
            for layer in informative:
                row[layer] += means["A" if label == "Z" else label]
            rows.append(row)
        count += len(labels)
    lengths = [len(s.words) for s in sents]
    feats = {
        "features": np.array(rows, dtype=np.float16),
        "sentence_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "kept": np.ones(count, dtype=bool),
    }
    return sents, feats


def random_labels(n_sentences, rng, classes="ABCD", length=10):
    return [[str(c) for c in rng.choice(list(classes), length)] for _ in range(n_sentences)]


def test_probe_separates_class_means_but_not_shuffled_labels():
    rng = np.random.default_rng(1)
    train, train_f = synthetic(random_labels(100, rng), seed=1, informative=(1, 2))
    test, test_f = synthetic(random_labels(50, rng), seed=1, informative=(1, 2))
    results = probe_all_layers(train_f, train, test_f, test, "upos", settings=FAST)
    assert [r["layer"] for r in results] == [0, 1, 2]
    assert results[0]["accuracy"] < 0.4  # layer 0 is noise: chance is 0.25
    assert min(r["accuracy"] for r in results[1:]) > 0.95
    for r in results:
        assert r["n_train"] == 1000 and r["n_test"] == 500 and r["n_classes"] == 4
        assert r["selectivity"] == pytest.approx(r["accuracy"] - r["control_accuracy"])
        # every word is a new type, so the control task cannot be learnt
        assert r["control_accuracy"] < 0.5
    assert probe_all_layers(train_f, train, test_f, test, "upos", settings=FAST) == results

    # The same features with the training labels shuffled: nothing to learn.
    flat = [label for s in train for label in s.upos]
    shuffled = iter(np.random.default_rng(2).permutation(flat).tolist())
    train_shuffled = [
        Sentence(s.sent_id, s.words, [next(shuffled) for _ in s.words], s.xpos, s.heads, s.deprels)
        for s in train
    ]
    chance = probe_all_layers(train_f, train_shuffled, test_f, test, "upos", settings=FAST)
    assert max(r["accuracy"] for r in chance) < 0.4


def test_unseen_test_labels_count_as_wrong_and_majority_baseline_by_hand():
    train, train_f = synthetic([["A"] * 6 + ["B"] * 4] * 10, seed=3)
    test, test_f = synthetic([["A"] * 5 + ["B"] * 5 + ["Z"] * 2] * 10, seed=3)
    *_, result = probe_all_layers(
        train_f, train, test_f, test, "upos", settings=FAST._replace(min_steps=60)
    )
    assert result["n_test"] == 120 and result["test_unseen_labels"] == 20
    # Z items look like A items: the probe says A, which is wrong; A and B are separable.
    assert result["accuracy"] == pytest.approx(100 / 120)
    assert result["majority_baseline"] == pytest.approx(50 / 120)  # A is the training majority


def test_edge_probing_pairs_follow_the_treebank_heads(tmp_path):
    path = tmp_path / "t.conllu"
    path.write_text(CONLLU)
    sents = read_conllu(path)
    pairs, labels = probe_labels(sents, "deprel")
    # words: The cats sleep . | do n't go  (global indices 0-3 | 4-6); roots are no items
    assert pairs.tolist() == [[0, 1], [1, 2], [3, 2], [4, 6], [5, 6]]
    assert labels == ["det", "nsubj", "punct", "aux", "advmod"]
    pairs, labels = probe_labels(sents, "upos")
    assert pairs.tolist() == [[i] for i in range(7)]
    assert labels == ["DET", "NOUN", "VERB", "PUNCT", "AUX", "PART", "VERB"]
    assert probe_labels(sents, "xpos")[1][:2] == ["DT", "NNS"]
    with pytest.raises(EmbryoError, match="unknown probing task"):
        probe_labels(sents, "ner")


def test_control_labels_are_a_seeded_function_of_the_word_type():
    words = [[f"t{i % 300}" for i in range(k, k + 20)] for k in range(0, 2000, 20)]
    labels = [["A"] * 15 + ["B"] * 5] * 100  # empirical distribution: A 0.75, B 0.25
    sents, _ = synthetic(labels, words=words)
    control = control_labels(sents, "upos", seed=0)
    by_type = {}
    for word, label in zip([w for s in sents for w in s.words], control, strict=True):
        assert by_type.setdefault(word, label) == label
    assert set(by_type.values()) == {"A", "B"}
    assert 0.65 < list(by_type.values()).count("A") / len(by_type) < 0.85
    assert control_labels(sents, "upos", seed=0) == control
    assert control_labels(sents, "upos", seed=1) != control
    # Another split keeps each type's label when it uses the training distribution.
    other = [Sentence("x", ["t7", "new", "t42"], ["B", "B", "B"], ["B"] * 3, [-1, 0, 0], ["B"] * 3)]
    assert control_labels(other, "upos", 0, reference=sents)[::2] == [by_type["t7"], by_type["t42"]]
    assert set(control_labels(other, "upos", 0)) == {"B"}  # its own distribution: B only
    # deprel: keyed by the dependent's type, one label per non-root word
    deprel = control_labels(sents, "deprel", seed=0)
    assert len(deprel) == len(probe_labels(sents, "deprel")[1]) == 1900


def count_base_model_calls():
    """A global forward hook counting calls of a base encoder (e.g. ``AlbertModel``)."""
    import torch
    from transformers import PreTrainedModel

    calls = []

    def hook(module, args, output):
        if isinstance(module, PreTrainedModel) and module.base_model is module:
            calls.append(type(module).__name__)

    return calls, torch.nn.modules.module.register_module_forward_hook(hook)


def test_features_are_mean_pieces_of_every_layer(tiny_model, tmp_path):
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    sents = tagged(5, seed=3)
    calls, handle = count_base_model_calls()
    try:
        stats = extract_features(tiny_model, sents, tmp_path / "f.safetensors", batch_size=2)
    finally:
        handle.remove()
    assert len(calls) == stats["forward_calls"] == 3  # one pass per batch of 2 sentences
    feats = load_features(tmp_path / "f.safetensors")
    n_words = sum(len(s.words) for s in sents)
    assert feats["features"].shape == (n_words, 3, 32) and feats["features"].dtype == np.float16
    assert (
        feats["sentence_offsets"].tolist()
        == np.cumsum([0] + [len(s.words) for s in sents]).tolist()
    )
    assert feats["kept"].all() and stats["words"] == n_words and stats["layers"] == 3

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForMaskedLM.from_pretrained(tiny_model).eval()
    longest = max(range(len(sents)), key=lambda i: len(sents[i].words))
    ids, spans = word_pieces(tokenizer, sents[longest].words, max_length=128)
    assert any(b - a > 1 for a, b in spans)  # some words have several pieces
    with torch.no_grad():
        states = model.base_model(input_ids=torch.tensor([ids]), output_hidden_states=True)
    first = feats["sentence_offsets"][longest]
    for w, (a, b) in enumerate(spans):
        for layer, hidden in enumerate(states.hidden_states):
            expected = hidden[0, a:b].mean(0).numpy()
            got = feats["features"][first + w, layer].astype(np.float32)
            np.testing.assert_allclose(got, expected, rtol=1e-2, atol=2e-3)


def test_truncated_words_are_zero_and_not_kept_and_probes_cover_all_layers(tiny_model, tmp_path):
    train, test = tagged(40, seed=4), tagged(20, seed=5)
    extract_features(tiny_model, train, tmp_path / "train.safetensors")
    stats = extract_features(tiny_model, test, tmp_path / "test.safetensors", max_length=8)
    feats = load_features(tmp_path / "test.safetensors")
    assert 0 < stats["kept"] < stats["words"]
    assert not feats["features"][~feats["kept"]].any()
    first = feats["sentence_offsets"][0]
    assert feats["kept"][first] and not feats["kept"][first + 6]  # 6 pieces at most

    for task in TASKS:
        results = probe_all_layers(
            tmp_path / "train.safetensors",
            train,
            tmp_path / "test.safetensors",
            test,
            task,
            settings=FAST._replace(min_steps=10),
        )
        assert [r["layer"] for r in results] == [0, 1, 2]  # embeddings + 2 layers
        pairs, _ = probe_labels(test, task)
        kept = feats["kept"][pairs].all(axis=1)
        assert all(
            r["n_test"] == kept.sum() and r["test_truncated"] == (~kept).sum() for r in results
        )
        assert all(0 <= r["accuracy"] <= 1 and r["task"] == task for r in results)

    with pytest.raises(EmbryoError, match="expected the 19 sentences"):
        probe_all_layers(
            tmp_path / "train.safetensors", train, feats, test[:-1], "upos", settings=FAST
        )
