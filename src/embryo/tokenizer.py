"""Train a subword tokenizer (ALBERT, BERT or RoBERTa style) and save it for transformers.

The output directory loads with ``transformers.AutoTokenizer.from_pretrained``. Special
token ids: unigram ``<pad>`` 0, ``<unk>`` 1, ``[CLS]`` 2, ``[SEP]`` 3, ``[MASK]`` 4;
wordpiece ``[PAD]`` 0, ``[UNK]`` 1, ``[CLS]`` 2, ``[SEP]`` 3, ``[MASK]`` 4; bpe ``<s>`` 0,
``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, ``<mask>`` 4.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from embryo.atomic import atomic_path
from embryo.errors import EmbryoError, where

ALGORITHMS = ("unigram", "wordpiece", "bpe")

# Special tokens in id order, then the roles transformers should know them by.
_SPECIALS = {
    "unigram": ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"],
    "wordpiece": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    "bpe": ["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
}
_ROLES = {
    "unigram": dict(pad="<pad>", unk="<unk>", cls="[CLS]", sep="[SEP]", mask="[MASK]"),
    "wordpiece": dict(pad="[PAD]", unk="[UNK]", cls="[CLS]", sep="[SEP]", mask="[MASK]"),
    "bpe": dict(
        pad="<pad>", unk="<unk>", cls="<s>", sep="</s>", mask="<mask>", bos="<s>", eos="</s>"
    ),
}
# What tokenizer_config.json names as the class: transformers 5 resolves it to its
# TokenizersBackend (the same class), transformers 4 readers know only this name.
_TOKENIZER_CLASS = "PreTrainedTokenizerFast"


def _build(algorithm: str, vocab_size: int, lowercase: bool, min_frequency: int):
    """Return an untrained ``tokenizers.Tokenizer`` and its trainer."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, trainers
    from tokenizers import pre_tokenizers as pre

    specials = list(_SPECIALS[algorithm])
    common = dict(vocab_size=vocab_size, special_tokens=specials, show_progress=False)
    if algorithm == "unigram":
        specials[4] = AddedToken("[MASK]", lstrip=True, special=True)  # as ALBERT
        tok = Tokenizer(models.Unigram())
        norms = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
        tok.normalizer = normalizers.Sequence(norms)
        tok.pre_tokenizer = pre.Metaspace(replacement="▁", prepend_scheme="always")
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
        trainer = trainers.UnigramTrainer(unk_token="<unk>", **common)
    elif algorithm == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
        tok.pre_tokenizer = pre.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix="##")
        trainer = trainers.WordPieceTrainer(
            min_frequency=min_frequency, continuing_subword_prefix="##", **common
        )
    else:
        specials[4] = AddedToken("<mask>", lstrip=True, special=True)  # as RoBERTa
        tok = Tokenizer(models.BPE())
        if lowercase:
            tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            min_frequency=min_frequency, initial_alphabet=pre.ByteLevel.alphabet(), **common
        )
    return tok, trainer, specials


def _post_processor(algorithm: str, tok):
    """Add ``[CLS] A [SEP] (B [SEP])`` or RoBERTa's ``<s> A </s> (</s> B </s>)``."""
    from tokenizers import processors

    roles = _ROLES[algorithm]
    cls, sep = roles["cls"], roles["sep"]
    cls_id, sep_id = tok.token_to_id(cls), tok.token_to_id(sep)
    if algorithm == "bpe":
        return processors.RobertaProcessing((sep, sep_id), (cls, cls_id), add_prefix_space=False)
    return processors.TemplateProcessing(
        single=f"{cls} $A {sep}",
        pair=f"{cls} $A {sep} $B:1 {sep}:1",
        special_tokens=[(cls, cls_id), (sep, sep_id)],
    )


def _train(
    texts,
    out_dir,
    *,
    algorithm: str,
    vocab_size: int,
    lowercase: bool,
    min_frequency: int = 2,
    model_max_length: int | None = None,
    source: str = "the input",
) -> dict:
    """Train, check and save; return ``{"vocab_size": actual, "texts": n}``."""
    if algorithm not in ALGORITHMS:
        raise EmbryoError(
            f"unknown tokenizer algorithm {algorithm!r}; expected one of {ALGORITHMS}"
        )
    n_special = len(_SPECIALS[algorithm])
    floor = 256 + n_special if algorithm == "bpe" else n_special
    if vocab_size <= floor:
        need = "256 bytes + " if algorithm == "bpe" else ""
        raise EmbryoError(
            f"vocab_size {vocab_size} is too small for {algorithm}: expected more than "
            f"{floor} ({need}{n_special} special tokens)"
        )
    from transformers import PreTrainedTokenizerFast

    tok, trainer, specials = _build(algorithm, vocab_size, lowercase, min_frequency)
    count = [0]

    def counted(items: Iterable[str]) -> Iterator[str]:
        for text in items:
            if text:
                count[0] += 1
                yield text

    tok.train_from_iterator(counted(texts), trainer)
    if count[0] == 0:
        raise EmbryoError(f"{source}: no text to train the tokenizer on, expected non-empty texts")
    actual = tok.get_vocab_size(with_added_tokens=True)
    if actual > vocab_size:
        raise EmbryoError(
            f"vocab_size {vocab_size} is too small for {algorithm}: the special tokens and the "
            f"corpus alphabet alone need {actual}"
        )
    tok.post_processor = _post_processor(algorithm, tok)
    roles = {f"{role}_token": name for role, name in _ROLES[algorithm].items()}
    roles["mask_token"] = specials[4]
    kwargs = {} if model_max_length is None else {"model_max_length": model_max_length}
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **roles, **kwargs)
    with atomic_path(out_dir, directory=True) as tmp:
        fast.save_pretrained(str(tmp))
        config_path = tmp / "tokenizer_config.json"
        config = json.loads(config_path.read_text())
        config["tokenizer_class"] = _TOKENIZER_CLASS
        if model_max_length is None:
            config.pop("model_max_length", None)
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return {"vocab_size": actual, "texts": count[0]}


def train_tokenizer(
    texts: Iterable[str],
    out_dir,
    *,
    algorithm: str,
    vocab_size: int,
    lowercase: bool,
    min_frequency: int = 2,
    model_max_length: int | None = None,
) -> None:
    """Train an ``algorithm`` tokenizer on ``texts`` and save it atomically in ``out_dir``.

    Empty texts are skipped. ``min_frequency`` applies to wordpiece and bpe merges.
    """
    _train(
        texts,
        out_dir,
        algorithm=algorithm,
        vocab_size=vocab_size,
        lowercase=lowercase,
        min_frequency=min_frequency,
        model_max_length=model_max_length,
    )


def open_text_parquet(path):
    """Open a Parquet file that must have a ``text`` column; EmbryoError if it cannot."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise EmbryoError(f"{where(path)}: cannot read as Parquet ({exc})") from exc
    names = parquet.schema_arrow.names
    if "text" not in names:
        raise EmbryoError(f"{where(path)}: expected a 'text' column, found {names}")
    return parquet


def _iter_texts(parquet, batch_size: int = 10_000) -> Iterator[str]:
    for batch in parquet.iter_batches(batch_size=batch_size, columns=["text"]):
        yield from batch.column(0).to_pylist()


def train_tokenizer_from_parquet(train_parquet, out_dir, **kwargs) -> dict:
    """Train on the ``text`` column of ``train_parquet``; return ``{"vocab_size", "texts"}``.

    Keyword arguments are those of :func:`train_tokenizer`.
    """
    parquet = open_text_parquet(train_parquet)
    return _train(_iter_texts(parquet), out_dir, source=where(train_parquet), **kwargs)
