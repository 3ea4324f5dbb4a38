"""Reconstruction and mask prediction accuracy per part of speech."""

from __future__ import annotations

import math

import pytest

from embryo.data.treebank import read_conllu, word_pieces
from embryo.embryology import mlm_pos

from .helpers import TINY_DIMS

# Under the tiny tokenizer "gardenteacher" is four pieces (garden ##t ##e ##acher) and
# "paints" five (p ##a ##in ##t ##s); the other words are one piece each.
CONLLU = """# sent_id = s1
1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_
2\tgardenteacher\tgardenteacher\tNOUN\tNN\t_\t3\tnsubj\t_\t_
3\tpaints\tpaint\tVERB\tVBZ\t_\t0\troot\t_\t_
4\tthe\tthe\tDET\tDT\t_\t5\tdet\t_\t_
5\tcat\tcat\tNOUN\tNN\t_\t3\tobj\t_\tSpaceAfter=No
6\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

"""
DIMS = TINY_DIMS


@pytest.fixture(scope="module")
def tokenizer(tiny_tokenizer):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_tokenizer)


@pytest.fixture(scope="module")
def model_dir(tokenizer, tmp_path_factory):
    from embryo.models.families import model_spec, new_model

    out = tmp_path_factory.mktemp("mlm_pos") / "bert"
    model = new_model("bert", model_spec("bert", DIMS), tokenizer, 64, seed=0, sop=False)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture
def snippet(tmp_path):
    path = tmp_path / "s.conllu"
    path.write_text(CONLLU)
    return read_conllu(path)


def test_masked_copies_mask_exactly_the_word(tokenizer, snippet):
    ids, spans = word_pieces(tokenizer, snippet[0].words, max_length=64)
    assert spans[1] == (2, 6)  # [CLS] the | garden ##t ##e ##acher | ...
    m = tokenizer.mask_token_id
    copies = mlm_pos.masked_copies(ids, spans, m)
    assert [span for _, span in copies] == spans
    masked, _ = copies[1]
    assert masked == ids[:2] + [m, m, m, m] + ids[6:]
    assert masked_positions(copies[0][0], m) == [1]
    # Dropped words (empty spans) get no copy.
    assert mlm_pos.masked_copies([2, 7, 8, 3], [(1, 2), (2, 3), (3, 3)], m) == [
        ([2, m, 8, 3], (1, 2)),
        ([2, 7, m, 3], (2, 3)),
    ]


def masked_positions(ids, mask_id):
    return [i for i, t in enumerate(ids) if t == mask_id]


def oracle(truth, wrong, seen):
    """A stand-in for the MLM logits: predicts ``truth`` except at positions ``wrong``
    (reconstruction) or, when masked, at ``wrong`` too; records what it was asked."""
    import torch

    def logits(model, input_ids, selected):
        vocab = max(truth) + 2
        rows = []
        for row, pos in selected.nonzero().tolist():
            seen.append((input_ids[row].tolist(), pos))
            target = vocab - 1 if pos in wrong else truth[pos]
            rows.append(torch.nn.functional.one_hot(torch.tensor(target), vocab).float())
        return torch.stack(rows)

    return logits


@pytest.mark.parametrize(
    ("wrong", "expect_right"),
    [
        (set(), [True] * 6),
        ({4}, [True, False, True, True, True, True]),  # ##e of gardenteacher
        ({10, 12}, [True, True, False, True, False, True]),  # ##s of paints, cat
    ],
)
def test_word_right_only_if_all_pieces_right(tokenizer, snippet, monkeypatch, wrong, expect_right):
    import torch

    ids, spans = word_pieces(tokenizer, snippet[0].words, max_length=64)
    assert [b - a for a, b in spans] == [1, 4, 5, 1, 1, 1]
    seen = []
    monkeypatch.setattr(mlm_pos, "_logits", oracle(ids, wrong, seen))
    model = torch.nn.Linear(1, 1)  # only its device is read
    records = mlm_pos.score_words(model, tokenizer, snippet, batch_size=2)
    assert [r["reconstruction"] for r in records] == expect_right
    assert [r["mask_prediction"] for r in records] == expect_right
    # Reconstruction asks for every piece of the plain sentence; mask prediction for
    # exactly the masked pieces of each copy.
    recon = sorted(pos for seq, pos in seen if seq == ids)
    assert recon == list(range(1, len(ids) - 1))
    masked = [(seq, pos) for seq, pos in seen if seq != ids]
    assert len(masked) == len(ids) - 2
    for seq, pos in masked:
        assert pos in masked_positions(seq, tokenizer.mask_token_id)

    df = mlm_pos.summarise(records)
    nouns = df[(df["tagset"] == "upos") & (df["tag"] == "NOUN")].set_index("mode")
    assert nouns.loc["mask_prediction", "correct"] == sum(expect_right[i] for i in (1, 4))
    assert (nouns["total"] == 2).all()


def test_rows_per_tag_and_frequencies(model_dir, snippet):
    df = mlm_pos.mlm_by_pos(model_dir, snippet, batch_size=4, device="cpu")
    assert list(df.columns) == mlm_pos.COLUMNS
    for (mode, tagset), group in df.groupby(["mode", "tagset"]):
        assert mode in mlm_pos.MODES and tagset in mlm_pos.TAGSETS
        assert math.isclose(group["frequency"].sum(), 1.0)
        assert group["total"].sum() == 6 and (group["skipped"] == 0).all()
    upos = df[(df["tagset"] == "upos") & (df["mode"] == "reconstruction")].set_index("tag")
    assert sorted(upos.index) == ["DET", "NOUN", "PUNCT", "VERB"]
    assert upos.loc["NOUN", "frequency"] == pytest.approx(2 / 6)
    assert df["accuracy"].between(0, 1).all()


def test_skipped_words_are_counted(model_dir, snippet):
    # [CLS] the garden ##t ##e ##acher [SEP] fits 7; every later word is dropped.
    df = mlm_pos.mlm_by_pos(model_dir, snippet, max_length=7, device="cpu")
    upos = df[(df["tagset"] == "upos") & (df["mode"] == "mask_prediction")].set_index("tag")
    assert upos["total"].to_dict() == {"DET": 1, "NOUN": 1, "PUNCT": 0, "VERB": 0}
    assert upos["skipped"].to_dict() == {"DET": 1, "NOUN": 1, "PUNCT": 1, "VERB": 1}
    assert math.isnan(upos.loc["VERB", "accuracy"])
    assert upos.loc["DET", "frequency"] == 0.5


def test_builtin_treebank_runs_and_is_deterministic(model_dir, tmp_path):
    from embryo.data.builtin import generate

    tiny = {"corpus_train": 5, "corpus_valid": 2, "treebank_train": 1, "treebank_test": 1}
    tiny |= {"task_train": 2, "task_dev": 2, "blimp": 1, "people": 3, "cities": 2}
    tiny |= {"countries": 2, "organisations": 1, "occupations": 1, "languages": 1}
    generate(tmp_path / "data", seed=0, sizes=tiny | {"treebank_dev": 12})
    sentences = read_conllu(tmp_path / "data" / "ud" / "en_ewt-ud-dev.conllu")
    df = mlm_pos.mlm_by_pos(model_dir, sentences, batch_size=16, device="cpu")
    assert set(df["mode"]) == set(mlm_pos.MODES) and set(df["tagset"]) == set(mlm_pos.TAGSETS)
    scored = df[df["total"] > 0]
    assert scored["accuracy"].between(0, 1).all()
    assert (df["correct"] <= df["total"]).all()
    words = sum(len(s.words) for s in sentences)
    for _, group in df.groupby(["mode", "tagset"]):
        assert group["total"].sum() + group["skipped"].sum() == words
    again = mlm_pos.mlm_by_pos(model_dir, sentences, batch_size=5, device="cpu")
    assert again.equals(df)


@pytest.mark.parametrize(("arch", "sop"), [("albert", True), ("roberta", False)])
def test_predictions_match_full_logits_of_each_sequence_alone(
    tokenizer, snippet, tmp_path, monkeypatch, arch, sop
):
    """Every piece prediction equals the argmax of the plain model's logits on that
    sequence alone, for a saved ALBERT with its sentence-order head and for RoBERTa
    (positions offset by the pad id)."""
    import torch
    from transformers import AutoModelForMaskedLM

    from embryo.models.families import model_spec, new_model

    new_model(arch, model_spec(arch, DIMS), tokenizer, 16, seed=1, sop=sop).save_pretrained(
        tmp_path
    )
    tokenizer.save_pretrained(tmp_path)
    seen = []
    real = mlm_pos._logits

    def spy(model, input_ids, selected):
        logits = real(model, input_ids, selected)
        pairs = selected.nonzero().tolist()
        for (row, pos), pred in zip(pairs, logits.argmax(-1).tolist(), strict=True):
            seen.append((tuple(input_ids[row].tolist()), pos, pred))
        return logits

    monkeypatch.setattr(mlm_pos, "_logits", spy)
    df = mlm_pos.mlm_by_pos(tmp_path, snippet * 3, batch_size=4, device="cpu")
    ids, _ = word_pieces(tokenizer, snippet[0].words, max_length=16)
    assert len(seen) == 3 * 2 * (len(ids) - 2)  # 3 sentences, each piece twice
    assert df["total"].sum() == 3 * 2 * 2 * 6  # sentences, modes, tagsets, words

    model = AutoModelForMaskedLM.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        full = {seq: model(torch.tensor([seq])).logits[0].argmax(-1).tolist() for seq, _, _ in seen}
    assert all(full[seq][pos] == pred for seq, pos, pred in seen)
