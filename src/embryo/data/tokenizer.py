"""Train a subword tokenizer (ALBERT, BERT or RoBERTa style) and save it for transformers.

The output directory loads with ``transformers.AutoTokenizer.from_pretrained``. Special
token ids: unigram ``<pad>`` 0, ``<unk>`` 1, ``[CLS]`` 2, ``[SEP]`` 3, ``[MASK]`` 4;
wordpiece ``[PAD]`` 0, ``[UNK]`` 1, ``[CLS]`` 2, ``[SEP]`` 3, ``[MASK]`` 4; bpe ``<s>`` 0,
``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, ``<mask>`` 4.

The unigram model is trained with Google's SentencePiece, as ALBERT's was, and then run
by ``tokenizers``; wordpiece and bpe are trained with ``tokenizers``. All three train
deterministically: the same texts give a byte-identical ``tokenizer.json``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from embryo.data.records import open_parquet
from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError, where

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


class TokenizerSettings(NamedTuple):
    """How a tokenizer is trained (``tokenizers.<name>``, its corpus aside)."""

    algorithm: str
    vocab_size: int
    lowercase: bool
    min_frequency: int
    sample_chars: int | None  # a seeded sample of about this many characters; None: all
    sample_seed: int


def _build(algorithm: str, vocab_size: int, lowercase: bool, min_frequency: int):
    """Return an untrained ``tokenizers.Tokenizer``, its trainer and the special tokens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, trainers
    from tokenizers import pre_tokenizers as pre

    specials = list(_SPECIALS[algorithm])
    if algorithm != "wordpiece":  # ALBERT and RoBERTa strip the space before the mask
        specials[4] = AddedToken(specials[4], lstrip=True, special=True)
    common = dict(vocab_size=vocab_size, special_tokens=specials, show_progress=False)
    if algorithm == "unigram":
        tok = Tokenizer(models.Unigram())
        norms = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
        tok.normalizer = normalizers.Sequence(norms)
        tok.pre_tokenizer = pre.Metaspace(replacement="▁", prepend_scheme="always")
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
        trainer = None  # trained with SentencePiece, see _train_unigram
    elif algorithm == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
        tok.pre_tokenizer = pre.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix="##")
        trainer = trainers.BpeTrainer(min_frequency=min_frequency, **common)  # see below
    else:
        tok = Tokenizer(models.BPE())
        if lowercase:
            tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre.ByteLevel.alphabet()
        trainer = trainers.BpeTrainer(
            min_frequency=min_frequency, initial_alphabet=alphabet, **common
        )
    return tok, trainer, specials


# Private-use code points that stand for characters while training WordPiece.
_PRIVATE = [*range(0xF0000, 0xFFFFE), *range(0x100000, 0x10FFFE)]


class _Rename(dict):
    """``str.translate`` table giving each new character the next private-use code point."""

    def __init__(self, names: dict, prefix: str, new: list | None = None):
        super().__init__()
        self.names, self.prefix, self.new = names, prefix, new

    def __missing__(self, key: int) -> str:
        if len(self.names) == len(_PRIVATE):
            raise EmbryoError(f"more than {len(_PRIVATE)} distinct characters: expected text")
        code = self[key] = chr(_PRIVATE[len(self.names)])
        self.names[code] = self.prefix + chr(key)
        if self.new is not None:
            self.new.append(key)
        return code


def _train_wordpiece(tok, trainer, texts: Iterable[str], specials) -> None:
    """Train ``tok``'s WordPiece vocabulary as the WordPieceTrainer does, but deterministically.

    The WordPieceTrainer numbers the ``##x`` pieces in hash order, so ids and tied merges
    change from run to run. Here plain BPE is trained on words whose first and continuing
    characters are renamed to private-use code points in order of appearance (the trainer
    sorts its alphabet, and breaks ties by id), then the vocabulary is renamed back.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers

    names: dict[str, str] = {}  # private-use character -> "x" or "##x"
    new_continuing: list[int] = []
    first, continuing = _Rename(names, ""), _Rename(names, "##", new_continuing)

    def lines() -> Iterator[str]:
        for text in texts:
            pieces = tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(text))
            line = " ".join(w[:1].translate(first) + w[1:].translate(continuing) for w, _ in pieces)
            # Every character is also a word start, as in the WordPieceTrainer's alphabet.
            extra = [first[key] for key in new_continuing]
            new_continuing.clear()
            yield " ".join([line, *extra]) if extra else line

    renamed = Tokenizer(models.BPE())
    renamed.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    renamed.train_from_iterator(lines(), trainer)
    vocab = {
        names[p[0]] + "".join(names[c][2:] for c in p[1:]) if p[0] in names else p: i
        for p, i in renamed.get_vocab(with_added_tokens=False).items()
    }
    tok.model = models.WordPiece(vocab, unk_token="[UNK]", continuing_subword_prefix="##")
    tok.add_special_tokens(specials)


# SentencePiece's E-step splits the sentences among this many threads and sums their
# expected counts in thread order: a fixed count (not the number of cores) keeps the
# floating-point sums, and so the scores, the same on every machine.
_SPM_THREADS = 4


def _train_unigram(tok, texts: Iterable[str], vocab_size: int, specials) -> None:
    """Train ``tok``'s Unigram model with SentencePiece, as ALBERT was, deterministically.

    The ``tokenizers`` UnigramTrainer is not repeatable (it sums in hash order) and slow.
    SentencePiece sees what the model will see at encode time: texts split around the
    special tokens and normalized by ``tok.normalizer``, spaces kept as they are (its
    ``identity`` rule), a ``▁`` prepended unless the text starts with a space (as the
    Metaspace pre-tokenizer does). Nothing is sampled (``input_sentence_size=0``) and the
    thread count is fixed, so the pieces and their scores repeat bit for bit.
    """
    import io

    import sentencepiece as spm
    from tokenizers import models

    names = [str(s) for s in specials]
    # Special tokens are cut out before normalizing; [MASK] takes the spaces on its left.
    cut = re.compile(
        "|".join(rf"\s*{re.escape(n)}" if n == "[MASK]" else re.escape(n) for n in names)
    )
    normalize = tok.normalizer.normalize_str

    def sentences() -> Iterator[str]:
        for text in texts:
            for segment in cut.split(text):
                segment = normalize(segment)
                if segment.startswith(" "):  # Metaspace adds no ▁ here, SentencePiece would
                    segment = segment[1:]
                if segment:
                    yield segment

    model = io.BytesIO()
    spm.set_random_generator_seed(0)  # unused as nothing is sampled, but fixed regardless
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=sentences(),
            model_writer=model,
            model_type="unigram",
            vocab_size=vocab_size,  # special tokens included
            pad_id=0,
            unk_id=1,
            bos_id=-1,
            eos_id=-1,
            control_symbols=names[2:],  # [CLS] 2, [SEP] 3, [MASK] 4
            unk_piece=names[1],
            pad_piece=names[0],
            character_coverage=1.0,
            normalization_rule_name="identity",  # texts come normalized by tok.normalizer
            add_dummy_prefix=True,
            remove_extra_whitespaces=False,
            split_by_whitespace=True,
            byte_fallback=False,
            hard_vocab_limit=False,  # a small corpus gives fewer pieces, as with tokenizers
            input_sentence_size=0,  # use every sentence: no sampling
            shuffle_input_sentence=False,
            max_sentence_length=2**30,  # its maximum (bytes): whole documents are kept
            num_threads=_SPM_THREADS,
            minloglevel=2,
        )
    except RuntimeError as exc:
        found = re.search(r"smaller than required_chars\. \d+ vs (\d+)", str(exc))
        if found:  # required characters plus the special tokens
            raise EmbryoError(
                f"vocab_size {vocab_size} is too small for unigram: the special tokens and "
                f"the corpus alphabet alone need {found.group(1)}"
            ) from exc
        raise EmbryoError(f"SentencePiece could not train the unigram model: {exc}") from exc
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    assert [piece for piece, _ in vocab[: len(names)]] == names, vocab[: len(names)]
    tok.model = models.Unigram(vocab, unk_id=1, byte_fallback=False)
    tok.add_special_tokens(specials)


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


def train_tokenizer(
    texts: Iterable[str],
    out_dir,
    *,
    algorithm: str,
    vocab_size: int,
    lowercase: bool,
    min_frequency: int = 2,
    model_max_length: int | None = None,
    source: str = "the input",
) -> dict:
    """Train an ``algorithm`` tokenizer on ``texts`` and save it atomically in ``out_dir``.

    Empty texts are skipped; ``min_frequency`` applies to wordpiece and bpe merges;
    ``source`` names the input in error messages. Returns ``{"vocab_size", "texts"}``.
    """
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

    texts = filter(None, texts)  # skips empty (and null) texts
    first = next(texts, None)
    if first is None:
        raise EmbryoError(f"{source}: no text to train the tokenizer on, expected non-empty texts")
    count = [0]

    def counted() -> Iterator[str]:
        for text in itertools.chain([first], texts):
            count[0] += 1
            yield text

    tok, trainer, specials = _build(algorithm, vocab_size, lowercase, min_frequency)
    if algorithm == "unigram":
        _train_unigram(tok, counted(), vocab_size, specials)
    elif algorithm == "wordpiece":
        _train_wordpiece(tok, trainer, counted(), specials)
    else:
        tok.train_from_iterator(counted(), trainer)
    actual = tok.get_vocab_size(with_added_tokens=True)
    if actual > vocab_size:
        raise EmbryoError(
            f"vocab_size {vocab_size} is too small for {algorithm}: the special tokens and the "
            f"corpus alphabet alone need {actual}"
        )
    tok.post_processor = _post_processor(algorithm, tok)
    roles = {f"{role}_token": name for role, name in _ROLES[algorithm].items()}
    roles["mask_token"] = specials[4]  # keeps lstrip
    kwargs = {} if model_max_length is None else {"model_max_length": model_max_length}
    if algorithm != "bpe":  # BERT and ALBERT use segment ids, RoBERTa does not
        kwargs["model_input_names"] = ["input_ids", "token_type_ids", "attention_mask"]
    else:
        kwargs["model_input_names"] = ["input_ids", "attention_mask"]
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


def _iter_texts(parquet, batch_size: int = 10_000, keep=None) -> Iterator[str]:
    """The texts of a Parquet file, a record batch at a time; ``keep(batch)``, if given,
    is the boolean mask of the batch's texts to yield."""
    for batch in parquet.iter_batches(batch_size=batch_size, columns=["text"]):
        texts = batch.column(0).to_pylist()
        if keep is None:
            yield from texts
        else:
            yield from (t for t, k in zip(texts, keep(batch.column(0)), strict=True) if k)


def sampler(parquet, sample_chars: int, seed: int):
    """A ``keep`` for :func:`_iter_texts`: each text with probability sample_chars / the
    file's characters (a first pass counts them), from one seeded stream of uniforms in
    text order, so the sample does not depend on the batch size."""
    import numpy as np
    import pyarrow.compute as pc

    total = sum(
        pc.sum(pc.utf8_length(b.column(0))).as_py() or 0
        for b in parquet.iter_batches(columns=["text"])
    )
    p = min(1.0, sample_chars / max(total, 1))
    rng = np.random.default_rng(seed)
    return lambda texts: rng.random(len(texts)) < p


def train_tokenizer_from_parquet(
    train_parquet, out_dir, *, sample_chars: int | None = None, sample_seed: int = 0, **kwargs
) -> dict:
    """Train on the ``text`` column of ``train_parquet`` (all of it, or a seeded sample of
    about ``sample_chars`` characters, :func:`sampler`); return ``{"vocab_size", "texts"}``.

    Other keyword arguments are those of :func:`train_tokenizer`.
    """
    parquet = open_parquet(train_parquet, required=("text",))
    keep = sampler(parquet, sample_chars, sample_seed) if sample_chars else None
    return train_tokenizer(
        _iter_texts(parquet, keep=keep), out_dir, source=where(train_parquet), **kwargs
    )
