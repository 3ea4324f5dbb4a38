"""Treebank reading and word-to-piece alignment."""

from __future__ import annotations

import pytest

from embryo.data.treebank import read_conllu, word_pieces
from embryo.runtime.errors import EmbryoError

from .helpers import CONLLU


def test_read_conllu_by_hand(tmp_path):
    path = tmp_path / "t.conllu"
    path.write_text(CONLLU)
    first, second = read_conllu(path)
    assert first.words == ["The", "cats", "sleep", "."]
    assert first.heads == [1, 2, -1, 2] and first.deprels == ["det", "nsubj", "root", "punct"]
    assert first.upos[1] == "NOUN" and first.xpos[1] == "NNS"
    assert second.words == ["do", "n't", "go"] and second.heads == [2, 2, -1]
    assert read_conllu(path, max_sentences=1) == [first]


def test_read_conllu_errors(tmp_path):
    with pytest.raises(EmbryoError, match="treebank file not found"):
        read_conllu(tmp_path / "missing.conllu")
    (tmp_path / "empty.conllu").write_text("\n")
    with pytest.raises(EmbryoError, match="no sentence found"):
        read_conllu(tmp_path / "empty.conllu")


def test_word_pieces_spell_each_word(tiny_tokenizer):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer)
    words = ["The", "strange", "teacher", "paints", "."]
    ids, spans = word_pieces(tokenizer, words, max_length=64)
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert ids[1:-1] == tokenizer(" ".join(words), add_special_tokens=False)["input_ids"]
    for word, (a, b) in zip(words, spans, strict=True):
        assert b > a
        assert tokenizer.decode(ids[a:b]).replace(" ", "") == word.lower()
    short_ids, short = word_pieces(tokenizer, words, max_length=5)
    assert len(short_ids) <= 5 and short[-1][0] == short[-1][1]
    kept = [s for s in short if s[1] > s[0]]
    assert kept == spans[: len(kept)]
