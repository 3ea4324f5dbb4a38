"""Edge probing: jiant's files, spans of a dependency tree, mean-pooled span probes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embryo.data.edges import (
    Record,
    Target,
    constituents,
    predicate_arguments,
    read_edges,
    write_edges,
)
from embryo.data.treebank import read_conllu, word_pieces
from embryo.embryology.edge_probing import edge_probe, edge_units
from embryo.embryology.features import extract_features, load_features
from embryo.embryology.probing import summarise
from embryo.runtime.errors import EmbryoError

from .helpers import FAST, tagged

# "The old dog sleeps in the house ." and "Ann will not see him ."
CONLLU = """# sent_id = a
1\tThe\tthe\tDET\tDT\t_\t3\tdet\t_\t_
2\told\told\tADJ\tJJ\t_\t3\tamod\t_\t_
3\tdog\tdog\tNOUN\tNN\t_\t4\tnsubj\t_\t_
4\tsleeps\tsleep\tVERB\tVBZ\t_\t0\troot\t_\t_
5\tin\tin\tADP\tIN\t_\t7\tcase\t_\t_
6\tthe\tthe\tDET\tDT\t_\t7\tdet\t_\t_
7\thouse\thouse\tNOUN\tNN\t_\t4\tobl\t_\tSpaceAfter=No
8\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = b
1\tAnn\tAnn\tPROPN\tNNP\t_\t4\tnsubj\t_\t_
2\twill\twill\tAUX\tMD\t_\t4\taux\t_\t_
3\tnot\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
4\tsee\tsee\tVERB\tVB\t_\t0\troot\t_\t_
5\thim\the\tPRON\tPRP\t_\t4\tobj\t_\tSpaceAfter=No
6\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

"""


@pytest.fixture
def trees(tmp_path):
    path = tmp_path / "t.conllu"
    path.write_text(CONLLU)
    return read_conllu(path)


def spans_of(sentence, targets):
    return {(" ".join(sentence.words[a:b]), t.label) for t in targets for a, b in [t.span1]}


def test_constituents_of_a_tree_by_hand(trees):
    first, second = trees
    assert spans_of(first, constituents(first)) == {
        ("The old dog", "NP"),
        ("the house", "NP"),
        ("in the house", "PP"),
        ("sleeps in the house", "VP"),
        ("The old dog sleeps in the house", "S"),
    }
    assert spans_of(second, constituents(second)) == {
        ("Ann", "NP"),
        ("him", "NP"),
        ("will not see him", "VP"),
        ("Ann will not see him", "S"),
    }


def test_semantic_roles_of_a_tree_by_hand(trees):
    first, second = trees
    roles = {
        (s.words[t.span1[0]], " ".join(s.words[slice(*t.span2)]), t.label)
        for s in trees
        for t in predicate_arguments(s)
    }
    assert roles == {
        ("sleeps", "The old dog", "ARG0"),
        ("sleeps", "in the house", "ARGM-LOC"),
        ("see", "Ann", "ARG0"),
        ("see", "will", "ARGM-MOD"),
        ("see", "not", "ARGM-NEG"),
        ("see", "him", "ARG1"),
    }


def test_jiant_files_round_trip_and_bad_lines_name_the_line(tmp_path):
    records = [Record(["a", "b", "c"], [Target((0, 2), None, "NP"), Target((2, 3), None, "VP")])]
    path = tmp_path / "e.json"
    assert write_edges(path, records) == 2
    assert read_edges(path) == records
    pair = {"text": "x y", "targets": [{"span1": [0, 1], "span2": [1, 2], "label": ["ARG1"]}]}
    (tmp_path / "p.json").write_text(json.dumps(pair) + "\n")
    assert read_edges(tmp_path / "p.json")[0].targets == [Target((0, 1), (1, 2), "ARG1")]
    good = json.dumps({"text": "a b", "targets": []})
    for line, error in [
        ("{not json", r"bad\.json:2: not JSON"),
        (
            json.dumps({"text": "a b", "targets": [{"span1": [1, 3], "label": "X"}]}),
            r"bad\.json:2: span1 \[1, 3\] is not a span of the text's 2 tokens",
        ),
        (
            json.dumps({"text": "a b", "targets": [{"span1": [0, 1], "label": ["X", "Y"]}]}),
            r"bad\.json:2: label should be one string.*multi-label",
        ),
        (
            json.dumps(
                {
                    "text": "a b",
                    "targets": [
                        {"span1": [0, 1], "label": "X"},
                        {"span1": [0, 1], "span2": [1, 2], "label": "Y"},
                    ],
                }
            ),
            r"bad\.json:2: some targets have span2 and some not",
        ),
        (json.dumps({"targets": []}), r'bad\.json:2: expected an object with a "text" string'),
    ]:
        (tmp_path / "bad.json").write_text(good + "\n" + line + "\n")
        with pytest.raises(EmbryoError, match=error):
            read_edges(tmp_path / "bad.json")


def test_span_features_are_the_mean_of_all_their_pieces(tiny_model, tmp_path):  # noqa: F811
    """As the Embryology code pools a span: every piece of every word, not words' means."""
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForMaskedLM.from_pretrained(tiny_model).eval()
    words = max(tagged(20, seed=3), key=lambda s: len(s.words)).words[:5]
    ids, pieces = word_pieces(tokenizer, words, max_length=128)
    long = next(w for w, (a, b) in enumerate(pieces) if b - a > 1)  # a word of several pieces
    spans = [[(0, 3), (long, long + 1), (3, 5)]]
    extract_features(tiny_model, [words], tmp_path / "s.safetensors", spans=spans)
    feats = load_features(tmp_path / "s.safetensors")
    assert feats["features"].shape[0] == 3 and feats["kept"].all()
    with torch.no_grad():
        states = model.base_model(input_ids=torch.tensor([ids]), output_hidden_states=True)
    for unit, (a, b) in enumerate(spans[0]):
        first, last = pieces[a][0], pieces[b - 1][1]
        for layer, hidden in enumerate(states.hidden_states):
            expected = hidden[0, first:last].mean(0).numpy()
            got = feats["features"][unit, layer].astype(np.float32)
            np.testing.assert_allclose(got, expected, rtol=1e-2, atol=2e-3)
    # a span whose last word is cut off by max_length is not kept
    cut = pieces[2][1] + 1  # room for words 0..2 and [SEP]
    extract_features(tiny_model, [words], tmp_path / "cut.safetensors", spans=spans, max_length=cut)
    kept = load_features(tmp_path / "cut.safetensors")["kept"].tolist()
    assert kept == [True, long <= 2, False]


def test_edge_units_share_spans_and_pair_them():
    records = [
        Record(["a", "b", "c"], [Target((0, 1), (1, 3), "ARG0"), Target((0, 1), (2, 3), "ARG1")]),
        Record(["d", "e"], [Target((1, 2), (0, 1), "ARG0")]),
    ]
    spans, pairs, labels, types = edge_units(records)
    assert spans == [[(0, 1), (1, 3), (2, 3)], [(0, 1), (1, 2)]]
    assert pairs.tolist() == [[0, 1], [0, 2], [4, 3]] and labels == ["ARG0", "ARG1", "ARG0"]
    assert types == ["a|b c", "a|c", "e|d"]


def test_span_probes_read_labels_the_spans_carry(tiny_model, tmp_path):  # noqa: F811
    """A label that the span's words decide is read off every layer's pooled vector."""
    rng = np.random.default_rng(0)
    vocab = "cat dog owl fox bee ant".split()

    def records(n):
        """Three spans of two words of one class each: A (cat dog owl) or B (the rest)."""
        out = []
        for _ in range(n):
            classes = rng.integers(0, 2, size=3)
            words = [str(rng.choice(vocab[3 * c : 3 * c + 3])) for c in classes for _ in (0, 1)]
            targets = [Target((2 * i, 2 * i + 2), None, "AB"[c]) for i, c in enumerate(classes)]
            out.append(Record(words, targets))
        return out

    items, meta = edge_probe(
        tiny_model,
        records(150),
        records(50),
        "toy",
        settings=FAST._replace(min_steps=50),
        max_length=32,
        batch_size=16,
    )
    rows = summarise(items, meta)
    assert [r["layer"] for r in rows] == [0, 1, 2] and rows[0]["n_test"] == 150
    assert rows[0]["accuracy"] > 0.9  # the embeddings tell the first word apart
