"""World knowledge (LAMA P@1, MRR) and minimal pairs (BLiMP by pseudo-log-likelihood)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from embryo.data.blimp import load_blimp
from embryo.data.lama import load_lama
from embryo.embryology import blimp, lama
from embryo.runtime.errors import EmbryoError

from .helpers import TINY_DIMS

SMALL = {
    "corpus_train": 20,
    "corpus_valid": 5,
    "treebank_train": 1,
    "treebank_dev": 1,
    "treebank_test": 1,
    "task_train": 2,
    "task_dev": 2,
    "blimp": 3,
    "people": 6,
    "cities": 3,
    "countries": 2,
    "organisations": 2,
    "occupations": 2,
    "languages": 2,
}
TINY = TINY_DIMS


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run much faster on one intra-op thread when the CPUs are busy."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def builtin(tmp_path_factory):
    from embryo.data.builtin import generate

    root = tmp_path_factory.mktemp("builtin") / "data"
    generate(root, seed=0, sizes=SMALL)
    return root


@pytest.fixture(scope="module")
def tokenizer(tiny_tokenizer):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_tokenizer)


@pytest.fixture(scope="module")
def model_dir(tokenizer, tmp_path_factory):
    from embryo.models.families import model_spec, new_model

    d = tmp_path_factory.mktemp("model") / "bert"
    new_model("bert", model_spec("bert", TINY), tokenizer, 64, seed=0, sop=False).save_pretrained(d)
    tokenizer.save_pretrained(d)
    return d


def single(tokenizer, word: str) -> int:
    ids = tokenizer(" " + word, add_special_tokens=False)["input_ids"]
    assert len(ids) == 1, f"{word!r} should be one piece of the tiny tokenizer, got {ids}"
    return ids[0]


def logits_by_position(tokenizer, by_position: dict, otherwise: dict, seen=None):
    """A stand-in for a module's ``_logits``: at a scored position, -1e9 everywhere but the
    tokens of ``by_position[pos]`` (or ``otherwise``), which get their given logits; the
    positions asked for are appended to ``seen``."""
    import torch

    def logits(model, input_ids, selected):
        out = torch.full((int(selected.sum()), len(tokenizer)), -1e9)
        for row, pos in enumerate(selected.nonzero()[:, 1].tolist()):
            if seen is not None:
                seen.append(pos)
            for token, value in by_position.get(pos, otherwise).items():
                out[row, token] = value
        return out

    return logits


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in records))


# --- loading -------------------------------------------------------------------------


def test_load_lama_builtin_has_the_three_types(builtin):
    facts = load_lama(builtin / "lama")
    assert {f["type"] for f in facts} == {"1-1", "N-1", "N-M"}
    assert set(facts[0]) == {"relation", "label", "type", "template", "sub_label", "obj_label"}
    assert all(f["template"].count("[Y]") == 1 for f in facts)
    first = load_lama(builtin / "lama", max_facts_per_relation=1)
    assert len(first) == len({f["relation"] for f in facts}) < len(facts)
    p19 = load_lama(builtin / "lama", relations=["P19"])
    assert p19 and {f["relation"] for f in p19} == {"P19"}
    with pytest.raises(EmbryoError, match="P0"):
        load_lama(builtin / "lama", relations=["P0"])


def test_load_lama_skips_a_relation_without_facts_file(tmp_path):
    write_jsonl(
        tmp_path / "relations.jsonl",
        [
            {"relation": "P1", "template": "[X] likes [Y] .", "label": "likes", "type": "N-M"},
            {"relation": "P2", "template": "[X] sees [Y] .", "label": "sees", "type": "1-1"},
        ],
    )
    write_jsonl(tmp_path / "TREx" / "P2.jsonl", [{"sub_label": "cat", "obj_label": "dog"}])
    facts = load_lama(tmp_path)
    assert [(f["relation"], f["sub_label"], f["obj_label"]) for f in facts] == [
        ("P2", "cat", "dog")
    ]


@pytest.mark.parametrize(
    "name, bad, message",
    [
        ("relations.jsonl", "{not json\n", "relations.jsonl:2: not valid JSON"),
        ("relations.jsonl", '{"relation": "P3", "label": "x", "type": "1-1"}\n', "template"),
        ("TREx/P1.jsonl", '{"sub_label": "cat"}\n', "P1.jsonl:2: .*obj_label"),
        ("TREx/P1.jsonl", "[1, 2]\n", "P1.jsonl:2: expected a JSON object"),
    ],
)
def test_malformed_lama_names_file_and_line(tmp_path, name, bad, message):
    relation = {"relation": "P1", "template": "[X] likes [Y] .", "label": "l", "type": "N-1"}
    fact = {"sub_label": "cat", "obj_label": "dog"}
    write_jsonl(tmp_path / "relations.jsonl", [relation])
    write_jsonl(tmp_path / "TREx" / "P1.jsonl", [fact])
    with (tmp_path / name).open("a") as fh:
        fh.write(bad)
    with pytest.raises(EmbryoError, match=message):
        load_lama(tmp_path)


def test_load_blimp_builtin_and_errors(builtin, tmp_path):
    pairs = load_blimp(builtin / "blimp", paradigms=["transitive", "intransitive"])
    assert {p["UID"] for p in pairs} == {"transitive", "intransitive"}
    assert len(pairs) == 2 * SMALL["blimp"]
    assert {"sentence_good", "sentence_bad", "field", "linguistics_term", "pairID"} <= set(pairs[0])
    assert len(load_blimp(builtin / "blimp", max_pairs=1)) == len(
        list((builtin / "blimp").glob("*.jsonl"))
    )
    with pytest.raises(EmbryoError, match="no_such_paradigm"):
        load_blimp(builtin / "blimp", paradigms=["no_such_paradigm"])

    good = (builtin / "blimp" / "transitive.jsonl").read_text().splitlines()[0]
    write_jsonl(tmp_path / "p.jsonl", [good + "\n", "{oops\n"])
    with pytest.raises(EmbryoError, match=r"p\.jsonl:2: not valid JSON"):
        load_blimp(tmp_path)
    record = json.loads(good)
    del record["sentence_bad"]
    write_jsonl(tmp_path / "p.jsonl", [good + "\n", good + "\n", record])
    with pytest.raises(EmbryoError, match=r"p\.jsonl:3: .*sentence_bad"):
        load_blimp(tmp_path)


# --- LAMA scoring -------------------------------------------------------------------------


def fact(sub, obj, relation="P1", kind="N-1"):
    return {
        "relation": relation,
        "label": relation.lower(),
        "type": kind,
        "template": "[X] likes [Y] .",
        "sub_label": sub,
        "obj_label": obj,
    }


def test_lama_p_at_1_and_mrr_by_hand(tokenizer, model_dir, monkeypatch):
    """Controlled logits at the mask, chosen by the query's subject (its first piece):

    cat -> bird 5 (special [MASK] 9 is ignored): rank 1
    dog -> river 2 below song 3 and city 2.5: rank 3
    farmer -> window 4 tied with garden 4: rank 2 (a tie counts against the target)
    so P@1 = 1/3 and MRR = (1 + 1/3 + 1/2) / 3 = 11/18; the gardener fact is skipped.
    """
    import torch

    ids = {
        w: single(tokenizer, w) for w in "cat dog farmer bird river song city window garden".split()
    }
    assert len(tokenizer(" gardener", add_special_tokens=False)["input_ids"]) > 1
    plan = {
        ids["cat"]: {ids["bird"]: 5.0, tokenizer.mask_token_id: 9.0},
        ids["dog"]: {ids["song"]: 3.0, ids["city"]: 2.5, ids["river"]: 2.0},
        ids["farmer"]: {ids["window"]: 4.0, ids["garden"]: 4.0},
    }
    calls = []

    def controlled(model, input_ids, selected):
        calls.append(input_ids.shape)
        out = torch.zeros(int(selected.sum()), len(tokenizer))
        for row in range(input_ids.shape[0]):
            assert input_ids[row][selected[row]].tolist() == [tokenizer.mask_token_id]
            for token, value in plan[int(input_ids[row, 1])].items():
                out[row, token] = value
        return out

    monkeypatch.setattr(lama, "_logits", controlled)
    facts = [
        fact("cat", "bird"),
        fact("dog", "river"),
        fact("farmer", "window"),
        fact("cat", "gardener"),
        fact("dog", "song", relation="P2", kind="N-M"),
    ]
    df = lama.lama_scores(model_dir, facts, batch_size=2)
    assert list(df.columns) == lama.COLUMNS
    p1 = df.set_index("relation").loc["P1"]
    assert (p1["facts"], p1["skipped_multi_piece"], p1["skipped_too_long"]) == (3, 1, 0)
    assert p1["p_at_1"] == pytest.approx(1 / 3)
    assert p1["mrr"] == pytest.approx(11 / 18)
    p2 = df.set_index("relation").loc["P2"]
    assert (p2["facts"], p2["p_at_1"], p2["mrr"]) == (1, 1.0, 1.0)
    assert calls and all(shape[0] <= 2 for shape in calls)
    # the mask token's logit (9) beats the object's (5): no answer among words, but ranked
    # above it over the whole vocabulary, as the Embryology code ranks
    by = {
        over: lama.lama_items(model_dir, facts[:1], rank_over=over)["rank"].tolist()
        for over in lama.RANK_OVER
    }
    assert by == {"words": [1], "vocabulary": [2]}


def test_lama_scores_a_real_model_like_its_full_logits(builtin, tokenizer, model_dir):
    """Batched sparse ranks equal ranks from the model's own full logits, one query at a time."""
    import torch
    from transformers import AutoModelForMaskedLM

    words = "cat dog bird river song city".split()
    facts = [fact(a, b) for a in ("the cat", "a small old dog", "every teacher") for b in words]
    model = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    special = set(tokenizer.all_special_ids)
    expected = []
    with torch.no_grad():
        for f in facts:
            enc = tokenizer(lama.query(f, tokenizer.mask_token), return_tensors="pt")
            pos = enc["input_ids"][0].tolist().index(tokenizer.mask_token_id)
            logits = model(**enc).logits[0, pos]
            target = logits[single(tokenizer, f["obj_label"])]
            expected.append(
                sum(1 for i, v in enumerate(logits) if i not in special and v >= target)
            )
    df = lama.lama_scores(model_dir, facts, batch_size=4)
    assert df["facts"].tolist() == [len(facts)]
    assert df["mrr"].iloc[0] == pytest.approx(sum(1 / r for r in expected) / len(expected))
    assert df["p_at_1"].iloc[0] == pytest.approx(sum(r == 1 for r in expected) / len(expected))

    built = lama.lama_scores(model_dir, load_lama(builtin / "lama"))
    assert set(built["type"]) == {"1-1", "N-1", "N-M"}
    assert (built["facts"] + built["skipped_multi_piece"] + built["skipped_too_long"]).sum() > 0


def test_lama_summary_is_a_macro_average():
    df = pd.DataFrame(
        [
            ("A", "a", "N-1", 1, 0, 0, 0, 1.0, 1.0),
            ("B", "b", "N-1", 99, 0, 0, 0, 0.0, 0.2),
            ("C", "c", "1-1", 10, 0, 0, 0, 0.5, 0.6),
            ("D", "d", "N-M", 0, 7, 0, 0, math.nan, math.nan),
        ],
        columns=lama.COLUMNS,
    )
    summary = lama.lama_summary(df).set_index("type")
    assert list(summary.index) == ["all", "1-1", "N-1"]
    assert summary.loc["all", "relations"] == 3
    assert summary.loc["all", "p_at_1"] == pytest.approx((1.0 + 0.0 + 0.5) / 3)
    assert summary.loc["all", "mrr"] == pytest.approx((1.0 + 0.2 + 0.6) / 3)
    assert summary.loc["N-1", "p_at_1"] == pytest.approx(0.5)  # not the micro 1/100
    assert summary.loc["1-1", "mrr"] == pytest.approx(0.6)


# --- BLiMP scoring ------------------------------------------------------------------------


def test_pll_by_hand_on_a_two_piece_sentence(tokenizer, model_dir, monkeypatch):
    """[CLS] cat dog [SEP]: masking "cat" gives it 3/4 (vs "bird" 1/4), masking "dog" 1/2
    (vs "song" 1/2), every other token probability 0; PLL = log 3/4 + log 1/2."""
    from transformers import AutoModelForMaskedLM

    cat, dog, bird, song = (single(tokenizer, w) for w in ("cat", "dog", "bird", "song"))
    assert tokenizer("cat dog")["input_ids"][1:-1] == [cat, dog]

    controlled = logits_by_position(
        tokenizer, {1: {cat: math.log(3), bird: 0.0}}, {dog: 0.0, song: 0.0}
    )
    monkeypatch.setattr(blimp, "_logits", controlled)
    model = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    pll = blimp.pseudo_log_likelihoods(model, tokenizer, ["cat dog", ""])
    assert pll[0] == pytest.approx(math.log(3 / 4) + math.log(1 / 2))
    assert pll[1] == 0.0


def test_pll_scores_the_unknown_token_but_not_the_added_ones(tokenizer, model_dir, monkeypatch):
    """[CLS] cat [UNK] [SEP]: "cat" gets 3/4 (vs "bird" 1/4), the unknown token 1/2 (vs
    "dog" 1/2); PLL = log 3/4 + log 1/2. Salazar et al. score every piece of the input;
    leaving [UNK] out (as a set of all special ids would) gives log 3/4 and favours the
    sentence with the unknown word."""
    from transformers import AutoModelForMaskedLM

    cat, bird, dog = (single(tokenizer, w) for w in ("cat", "bird", "dog"))
    unk = tokenizer.unk_token_id
    assert tokenizer("cat €")["input_ids"][1:-1] == [cat, unk]
    seen = []

    controlled = logits_by_position(
        tokenizer, {1: {cat: math.log(3), bird: 0.0}}, {unk: 0.0, dog: 0.0}, seen
    )
    monkeypatch.setattr(blimp, "_logits", controlled)
    model = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    pll = blimp.pseudo_log_likelihoods(model, tokenizer, ["cat €"])
    assert pll[0] == pytest.approx(math.log(3 / 4) + math.log(1 / 2))
    assert sorted(seen) == [1, 2]  # [CLS] and [SEP] are not scored


def test_masked_copies_by_hand(tokenizer):
    """[CLS] cat ##d ##o ##g river [SEP]: original masks each piece alone; word_l2r masks a
    piece with the later pieces of its word (Kauf & Ivanova 2023, PLL-word-l2r)."""
    encoding = tokenizer("catdog river", return_special_tokens_mask=True)
    assert tokenizer.convert_ids_to_tokens(encoding["input_ids"]) == [
        "[CLS]",
        "cat",
        "##d",
        "##o",
        "##g",
        "river",
        "[SEP]",
    ]
    assert blimp.masked_copies(encoding, "original") == [(t, [t]) for t in range(1, 6)]
    assert blimp.masked_copies(encoding, "word_l2r") == [
        (1, [1, 2, 3, 4]),
        (2, [2, 3, 4]),
        (3, [3, 4]),
        (4, [4]),
        (5, [5]),
    ]
    with pytest.raises(EmbryoError, match="unknown PLL method"):
        blimp.masked_copies(encoding, "word")


@pytest.mark.parametrize("method", ["original", "word_l2r"])
def test_pll_batched_equals_one_at_a_time(tokenizer, model_dir, method):
    import torch
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    sentences = [
        "The cat sees a dog .",
        "A bird .",
        "Every old farmer helps the child near a river .",
    ]
    sentences.append("The gardener sees catdog .")  # words of several pieces
    expected = []
    with torch.no_grad():
        for s in sentences:
            encoding = tokenizer(s, return_tensors="pt")
            ids, words = encoding["input_ids"], encoding.word_ids()
            total = 0.0
            for t in range(1, ids.shape[1] - 1):
                masked = ids.clone()
                masked[0, t] = tokenizer.mask_token_id
                if method == "word_l2r":  # the later pieces of the same word too
                    for u in range(t + 1, ids.shape[1] - 1):
                        if words[u] == words[t]:
                            masked[0, u] = tokenizer.mask_token_id
                logp = torch.log_softmax(model(input_ids=masked).logits[0, t], -1)
                total += logp[ids[0, t]].item()
            expected.append(total)
        got = blimp.pseudo_log_likelihoods(model, tokenizer, sentences, batch_size=3, method=method)
    assert got == pytest.approx(expected, rel=1e-5)
    if method == "word_l2r":
        original = blimp.pseudo_log_likelihoods(model, tokenizer, sentences[-1:])
        assert got[-1] != pytest.approx(original[0])


def pair(good, bad, uid="p1", field="syntax"):
    return {
        "sentence_good": good,
        "sentence_bad": bad,
        "field": field,
        "linguistics_term": "term",
        "UID": uid,
        "pairID": "0",
    }


@pytest.mark.parametrize("favour, accuracy", [("good", 1.0), ("bad", 0.0)])
def test_blimp_pair_goes_to_the_sentence_the_model_prefers(
    tokenizer, model_dir, monkeypatch, favour, accuracy
):
    """A controlled model that knows the favoured sentences: when a masked copy matches one
    of them everywhere but at the mask, it gives that sentence's piece there logit 8."""
    import torch

    pairs = [
        pair("The cat sees a dog .", "The cat sees dog a ."),
        pair(
            "A bird likes the song .", "A bird likes the the song .", uid="p2", field="morphology"
        ),
        pair("The child helps .", "The child help .", uid="p2", field="morphology"),
    ]
    favoured = [tokenizer(p[f"sentence_{favour}"])["input_ids"] for p in pairs]

    def controlled(model, input_ids, selected):
        out = torch.zeros(int(selected.sum()), len(tokenizer))
        for row, pos in enumerate(selected.nonzero()[:, 1].tolist()):
            context = input_ids[row].tolist()
            for ids in favoured:
                if len(ids) == len(context) and all(
                    a == b for i, (a, b) in enumerate(zip(ids, context, strict=True)) if i != pos
                ):
                    out[row, ids[pos]] = 8.0
        return out

    monkeypatch.setattr(blimp, "_logits", controlled)
    df = blimp.blimp_scores(model_dir, pairs, batch_size=5)
    assert list(df.columns) == blimp.COLUMNS
    assert df[["paradigm", "field", "pairs", "skipped_too_long"]].values.tolist() == [
        ["p1", "syntax", 1, 0],
        ["p2", "morphology", 2, 0],
    ]
    assert df["accuracy"].tolist() == [accuracy, accuracy]


def test_blimp_summary_is_a_macro_average():
    df = pd.DataFrame(
        [
            ("a", "syntax", "t", 1, 0, 1.0),
            ("b", "syntax", "t", 99, 0, 0.5),
            ("c", "semantics", "t", 10, 0, 0.2),
            ("d", "semantics", "t", 0, 4, math.nan),
        ],
        columns=blimp.COLUMNS,
    )
    summary = blimp.blimp_summary(df).set_index("field")
    assert list(summary.index) == ["all", "syntax", "semantics"]
    assert summary.loc["all", "paradigms"] == 3
    assert summary.loc["all", "accuracy"] == pytest.approx((1.0 + 0.5 + 0.2) / 3)
    assert summary.loc["syntax", "accuracy"] == pytest.approx(0.75)
    assert summary.loc["semantics", "accuracy"] == pytest.approx(0.2)


def test_blimp_tie_counts_as_wrong(model_dir):
    """The lower-casing tokenizer encodes both sentences alike: equal PLLs, not a success."""
    df = blimp.blimp_scores(model_dir, [pair("The cat sees a dog .", "the cat sees a dog .")])
    assert df["accuracy"].tolist() == [0.0]


# --- LAMA as the Embryology code scores it, and comparable across runs -----------------


def test_load_lama_keeps_the_types_asked_for(builtin):
    facts = load_lama(builtin / "lama", types=("1-1", "N-1"))
    assert facts and {f["type"] for f in facts} == {"1-1", "N-1"}
    assert len(facts) < len(load_lama(builtin / "lama"))
    with pytest.raises(EmbryoError, match=r"relation types \['1-N'\]"):
        load_lama(builtin / "lama", types=("1-N",))


def test_query_spacing_template_and_embryology(tmp_path):
    """With byte-level BPE the two spacings differ: LAMA's "[MASK] ." has the period as a
    word of its own (Ġ.), the Embryology code's is the bare period piece right after the
    mask; WordPiece splits punctuation off either way, so both give the same ids."""
    from transformers import AutoTokenizer

    from embryo.data.tokenizer import train_tokenizer

    texts = ["paris is a city .", "dante was born in florence .", "rome ."] * 40
    f = {"template": "[X] was born in [Y] .", "sub_label": "dante", "obj_label": "florence"}
    pieces = {}
    for algorithm, size in (("bpe", 300), ("wordpiece", 60)):
        train_tokenizer(
            texts, tmp_path / algorithm, algorithm=algorithm, vocab_size=size, lowercase=True
        )
        tok = AutoTokenizer.from_pretrained(tmp_path / algorithm)
        pieces[algorithm] = [
            tok.convert_ids_to_tokens(lama.query_ids(tok, f, spacing))
            for spacing in ("template", "embryology")
        ]
        for query in pieces[algorithm]:
            assert (query[0], query[-1]) == (tok.cls_token, tok.sep_token)
            assert query[-3] == tok.mask_token
    template, embryology = pieces["bpe"]
    assert template[:-2] == embryology[:-2] and (template[-2], embryology[-2]) == ("Ġ.", ".")
    assert pieces["wordpiece"][0] == pieces["wordpiece"][1]
    with pytest.raises(EmbryoError, match="spacing 'joined'"):
        lama.query_ids(tok, f, "joined")


def test_common_vocabulary_scores_the_same_facts_for_every_run(tokenizer, tmp_path):
    """Two tokenizers: a fact counts only if its object is one piece of both."""
    from transformers import AutoTokenizer

    from embryo.data.tokenizer import train_tokenizer

    train_tokenizer(
        ["the cat and the bird"] * 30,
        tmp_path,
        algorithm="wordpiece",
        vocab_size=40,
        lowercase=True,
    )
    other = AutoTokenizer.from_pretrained(tmp_path)
    facts = [fact("dog", "cat"), fact("dog", "bird"), fact("dog", "window")]
    both = lama.common_facts([tokenizer, other], facts)
    alone = [lama.object_id(other, f["obj_label"]) is not None for f in facts]
    mine = [lama.object_id(tokenizer, f["obj_label"]) is not None for f in facts]
    assert both == [a and b for a, b in zip(alone, mine, strict=True)]
    assert both[:2] == [True, True] and mine[2] and not both[2]  # window: not in the other


def test_not_common_facts_are_skipped_and_counted(tokenizer, model_dir, monkeypatch):
    from embryo.models.loading import load_masked_lm

    model, tok = load_masked_lm(model_dir, None)
    facts = [fact("cat", "bird"), fact("dog", "river")]
    monkeypatch.setattr(lama, "_logits", logits_by_position(tok, {}, {single(tok, "bird"): 5.0}))
    items = lama.fact_items(model, tok, facts, common=[True, False])
    assert list(items["skipped"]) == ["", "not_common"] and items["rank"].isna().tolist() == [
        False,
        True,
    ]
    row = lama.summarise(items).iloc[0]
    assert (row["facts"], row["skipped_not_common"], row["p_at_1"]) == (1, 1, 1.0)
