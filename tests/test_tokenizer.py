"""Tokenizer training: three styles that load with AutoTokenizer, round-trip, reproduce."""

from __future__ import annotations

import json
import random
import re

import pytest

from embryo.data.tokenizer import ALGORITHMS, train_tokenizer, train_tokenizer_from_parquet
from embryo.runtime.errors import EmbryoError

WORDS = (
    "the a teacher river garden window doctor child farmer city sings paints follows "
    "builds quietly under behind with green old strange bright café naïve"
).split()
VOCAB = {"unigram": 120, "wordpiece": 120, "bpe": 300}
SPECIALS = {  # role -> (token, id)
    "unigram": dict(
        pad=("<pad>", 0), unk=("<unk>", 1), cls=("[CLS]", 2), sep=("[SEP]", 3), mask=("[MASK]", 4)
    ),
    "wordpiece": dict(
        pad=("[PAD]", 0), unk=("[UNK]", 1), cls=("[CLS]", 2), sep=("[SEP]", 3), mask=("[MASK]", 4)
    ),
    "bpe": dict(
        cls=("<s>", 0),
        bos=("<s>", 0),
        pad=("<pad>", 1),
        sep=("</s>", 2),
        eos=("</s>", 2),
        unk=("<unk>", 3),
        mask=("<mask>", 4),
    ),
}
SPECIALS_IN_ORDER = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
SENTENCE = "The old farmer paints a green window, quietly."


def sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 10))]
        if rng.random() < 0.3:
            words[rng.randrange(len(words) - 1)] += ","
        out.append(" ".join(words).capitalize() + rng.choice([".", "!", "?"]))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    import pandas as pd

    path = tmp_path_factory.mktemp("corpus") / "train.parquet"
    pd.DataFrame({"text": [*sentences(400), "", None]}).to_parquet(path)
    return path


@pytest.fixture(
    scope="module",
    params=[(a, lc) for a in ALGORITHMS for lc in (True, False)],
    ids=lambda p: f"{p[0]}-{'lower' if p[1] else 'cased'}",
)
def trained(request, corpus, tmp_path_factory):
    algorithm, lowercase = request.param
    out = tmp_path_factory.mktemp("tok") / algorithm
    stats = train_tokenizer_from_parquet(
        corpus, out, algorithm=algorithm, vocab_size=VOCAB[algorithm], lowercase=lowercase
    )
    return algorithm, lowercase, out, stats


def load(path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def test_special_tokens_and_ids(trained):
    algorithm, _, out, stats = trained
    tok = load(out)
    for role, (token, index) in SPECIALS[algorithm].items():
        assert getattr(tok, f"{role}_token") == token, role
        assert getattr(tok, f"{role}_token_id") == index, role
    assert len(tok) == stats["vocab_size"] <= VOCAB[algorithm]
    assert stats["texts"] == 400  # the empty and null texts are skipped
    ids = tok("a b")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert tok.unk_token_id not in ids


def test_config_names_the_class_transformers_4_knows(trained):
    config = json.loads((trained[2] / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert "model_max_length" not in config


def test_pairs_get_the_model_templates(trained):
    algorithm, _, out, _ = trained
    tok = load(out)
    a, b = (
        tok("a", add_special_tokens=False)["input_ids"],
        tok("b", add_special_tokens=False)["input_ids"],
    )
    pair = tok("a", "b")
    cls, sep = tok.cls_token_id, tok.sep_token_id
    if algorithm == "bpe":  # RoBERTa: <s> A </s></s> B </s>, no segment ids
        assert pair["input_ids"] == [cls, *a, sep, sep, *b, sep]
        assert "token_type_ids" not in pair
    else:  # BERT and ALBERT: [CLS] A [SEP] B [SEP] with segment ids
        assert pair["input_ids"] == [cls, *a, sep, *b, sep]
        assert pair["token_type_ids"] == [0] * (len(a) + 2) + [1] * (len(b) + 1)


def test_round_trip(trained):
    algorithm, lowercase, out, _ = trained
    tok = load(out)
    ids = tok(SENTENCE)["input_ids"]
    assert tok.unk_token_id not in ids
    decoded = tok.decode(ids, skip_special_tokens=True)
    expected = SENTENCE.lower() if lowercase else SENTENCE
    if algorithm == "wordpiece":  # BERT splits punctuation off words
        decoded = re.sub(r"\s+([,.!?])", r"\1", decoded)
    assert decoded == expected


def test_mask_token_is_one_token(trained):
    algorithm, _, out, _ = trained
    tok = load(out)
    tokens = tok.convert_ids_to_tokens(tok(f"the {tok.mask_token} river")["input_ids"])
    assert tokens.count(tok.mask_token) == 1
    if algorithm != "wordpiece":  # lstrip: the space before the mask joins the mask
        assert tokens[tokens.index(tok.mask_token) - 1] not in ("▁", "Ġ")


@pytest.mark.parametrize("trained", [("bpe", True), ("bpe", False)], indirect=True)
def test_byte_level_bpe_never_needs_unk(trained):
    _, lowercase, out, _ = trained
    tok = load(out)
    text = "é€ 漢字 🙂 Ωmega"
    ids = tok(text)["input_ids"]
    assert tok.unk_token_id not in ids
    assert tok.decode(ids, skip_special_tokens=True) == (text.lower() if lowercase else text)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_training_is_deterministic(algorithm, tmp_path):
    texts = sentences(300, seed=7)
    names = ("one", "two", "three")
    for name in names:
        train_tokenizer(
            texts, tmp_path / name, algorithm=algorithm, vocab_size=VOCAB[algorithm], lowercase=True
        )
    for file in ("tokenizer.json", "tokenizer_config.json"):
        assert len({(tmp_path / name / file).read_bytes() for name in names}) == 1, file


def test_unigram_vocab_size_counts_the_special_tokens(tmp_path):
    """Given enough distinct words, SentencePiece fills the requested size exactly."""
    rng = random.Random(0)
    words = ["".join(rng.choices("abcdefghij", k=rng.randint(2, 7))) for _ in range(300)]
    texts = [" ".join(rng.choices(words, k=12)) for _ in range(300)]
    train_tokenizer(texts, tmp_path / "t", algorithm="unigram", vocab_size=150, lowercase=True)
    tok = load(tmp_path / "t")
    assert len(tok) == 150
    assert tok.convert_ids_to_tokens(list(range(5))) == SPECIALS_IN_ORDER
    ids = tok(texts[0])["input_ids"]
    assert tok.unk_token_id not in ids
    assert tok.decode(ids, skip_special_tokens=True) == texts[0]


def test_model_max_length_is_written_when_given(tmp_path):
    train_tokenizer(
        sentences(50),
        tmp_path / "t",
        algorithm="bpe",
        vocab_size=300,
        lowercase=False,
        model_max_length=128,
    )
    config = json.loads((tmp_path / "t" / "tokenizer_config.json").read_text())
    assert config["model_max_length"] == 128
    assert load(tmp_path / "t").model_max_length == 128


@pytest.mark.parametrize(
    ("texts", "kwargs", "message"),
    [
        (["a b"], dict(algorithm="sentencepiece", vocab_size=100), "unknown tokenizer algorithm"),
        (["a b"], dict(algorithm="bpe", vocab_size=261), "256 bytes"),
        (["a b"], dict(algorithm="unigram", vocab_size=5), "expected more than 5"),
        (sentences(50), dict(algorithm="wordpiece", vocab_size=20), "alphabet"),
        (sentences(50), dict(algorithm="unigram", vocab_size=20), "alphabet alone need"),
        (["", None], dict(algorithm="wordpiece", vocab_size=100), "no text"),
    ],
)
def test_errors(texts, kwargs, message, tmp_path):
    with pytest.raises(EmbryoError, match=message):
        train_tokenizer(texts, tmp_path / "out", lowercase=True, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_parquet_errors_name_the_file(tmp_path):
    import pandas as pd

    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"sentence": ["a b"]}).to_parquet(bad)
    with pytest.raises(EmbryoError, match=r"bad\.parquet: expected a 'text' column"):
        train_tokenizer_from_parquet(
            bad, tmp_path / "o", algorithm="bpe", vocab_size=300, lowercase=True
        )
    empty = tmp_path / "empty.parquet"
    pd.DataFrame({"text": pd.Series([], dtype=str)}).to_parquet(empty)
    with pytest.raises(EmbryoError, match=r"empty\.parquet: no text"):
        train_tokenizer_from_parquet(
            empty, tmp_path / "o", algorithm="bpe", vocab_size=300, lowercase=True
        )
    with pytest.raises(EmbryoError, match="missing.parquet"):
        train_tokenizer_from_parquet(
            tmp_path / "missing.parquet",
            tmp_path / "o",
            algorithm="bpe",
            vocab_size=300,
            lowercase=True,
        )
    assert not (tmp_path / "o").exists()


def test_a_seeded_sample_of_the_corpus_trains_the_tokenizer(tmp_path):
    """sample_chars: each text kept with probability sample_chars / total characters,
    from one seeded stream (the same sample whatever the batch size; another seed, another
    sample); the tokenizer sees only the sample."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from embryo.data.records import open_parquet
    from embryo.data.tokenizer import _iter_texts, sampler, train_tokenizer_from_parquet

    texts = [f"the {i} cat sat on mat number {i % 7}" for i in range(2000)]
    path = tmp_path / "train.parquet"
    pq.write_table(pa.table({"text": texts}), path, row_group_size=300)
    total = sum(map(len, texts))
    parquet = open_parquet(path)

    def sample(batch_size, seed=0):
        return list(_iter_texts(parquet, batch_size, keep=sampler(parquet, total // 4, seed)))

    quarter = sample(10_000)
    assert quarter == sample(37) and quarter != sample(10_000, seed=1)
    assert 400 < len(quarter) < 600 and set(quarter) <= set(texts)
    assert sample(10_000) == [t for t in texts if t in set(quarter)]  # in corpus order
    stats = train_tokenizer_from_parquet(
        path,
        tmp_path / "tok",
        algorithm="wordpiece",
        vocab_size=120,
        lowercase=True,
        sample_chars=total // 4,
    )
    assert stats["texts"] == len(quarter)
