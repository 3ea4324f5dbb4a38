"""Tiny checkpoints of every model family embryo knows, saved by ``transformers`` itself.

Not a test module: the family tests and the offline Hub stand-in build their checkpoints
here. Each family gets its own tokenizer class as the Hub's checkpoints have it (BERT's
WordPiece, RoBERTa's byte-level BPE, XLM-R's, ALBERT's and DeBERTa's SentencePiece
unigram, ModernBERT's byte-level BPE with [CLS]/[SEP]/[MASK]), built from a small
vocabulary of the test sentences' words, and a randomly initialised 2-layer masked LM
(``AutoModelForMaskedLM.from_config``), both written with ``save_pretrained``.
"""

from __future__ import annotations

import json
import random

FAMILIES = (
    "bert",
    "roberta",
    "xlm-roberta",
    "albert",
    "distilbert",
    "electra",
    "deberta-v2",
    "modernbert",
)

WORDS = (
    "the a every this cat dog bird teacher river city farmer song window garden doctor child "
    "sees likes finds follows paints hears helps builds small old green quiet bright strange "
    "near under behind with paris france london england rome italy was born in is capital of "
    "and he she it they . , ! ?"
).split()
CHARS = sorted({c for w in WORDS for c in w} | set("abcdefghijklmnopqrstuvwxyz"))


def texts(n: int = 300, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS[:40]) for _ in range(rng.randint(4, 12))) for _ in range(n)]


def _wordpiece(specials):
    pieces = [*specials, *WORDS, *CHARS, *(f"##{c}" for c in CHARS)]
    return {t: i for i, t in enumerate(dict.fromkeys(pieces))}


def _unigram(specials):
    return (
        [(s, 0.0) for s in specials]
        + [("▁" + w, -3.0) for w in WORDS]
        + [("▁", -4.0), *((c, -6.0) for c in CHARS)]
    )


def _bpe(specials):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=700,
        special_tokens=specials,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([" ".join(WORDS)] * 50 + texts(), trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return model["vocab"], merges


def tokenizer(family: str):
    """A tokenizer of ``family``'s class with a vocabulary of :data:`WORDS`."""
    import transformers as T

    if family in ("bert", "distilbert", "electra"):
        cls = {
            "bert": T.BertTokenizer,
            "distilbert": T.DistilBertTokenizer,
            "electra": T.ElectraTokenizer,
        }[family]
        return cls(vocab=_wordpiece(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    if family == "roberta":
        vocab, merges = _bpe(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
        return T.RobertaTokenizer(vocab=vocab, merges=merges)
    if family == "xlm-roberta":
        return T.XLMRobertaTokenizer(vocab=_unigram(["<s>", "<pad>", "</s>", "<unk>", "<mask>"]))
    if family == "albert":
        return T.AlbertTokenizer(vocab=_unigram(["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]))
    if family == "deberta-v2":
        return T.DebertaV2Tokenizer(vocab=_unigram(["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]))
    if family == "modernbert":
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

        vocab, merges = _bpe(["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"])
        tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B [SEP]",
            special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
        )
        return T.PreTrainedTokenizerFast(
            tokenizer_object=tok,
            unk_token="[UNK]",
            cls_token="[CLS]",
            sep_token="[SEP]",
            pad_token="[PAD]",
            mask_token="[MASK]",
        )
    raise ValueError(f"no tiny tokenizer for {family!r}")


def config(family: str, vocab_size: int, tok, *, layers: int = 2, positions: int = 64, **extra):
    """A small config of ``family`` matching ``tok``'s vocabulary and special tokens."""
    from transformers import AutoConfig, DistilBertConfig

    if family == "distilbert":
        return DistilBertConfig(
            vocab_size=vocab_size,
            dim=32,
            n_layers=layers,
            n_heads=2,
            hidden_dim=64,
            max_position_embeddings=positions,
            pad_token_id=tok.pad_token_id,
            **extra,
        )
    dims = dict(
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=positions,
        pad_token_id=tok.pad_token_id,
    )
    if family in ("albert", "electra"):
        dims["embedding_size"] = 16
    if family in ("roberta", "xlm-roberta"):
        dims |= {"max_position_embeddings": positions + tok.pad_token_id + 1, "type_vocab_size": 1}
    if family == "modernbert":
        dims |= {
            "bos_token_id": tok.cls_token_id,
            "eos_token_id": tok.sep_token_id,
            "cls_token_id": tok.cls_token_id,
            "sep_token_id": tok.sep_token_id,
            "global_attn_every_n_layers": 2,
            "local_attention": 8,
        }
    if family == "deberta-v2":
        dims |= {
            "relative_attention": True,
            "position_biased_input": False,
            "pos_att_type": ["p2c", "c2p"],
            "position_buckets": 16,
            "norm_rel_ebd": "layer_norm",
            "share_att_key": True,
        }
    return AutoConfig.for_model(family, vocab_size=vocab_size, **{**dims, **extra})


def save_tiny(family: str, directory, *, seed: int = 0, layers: int = 2, **extra):
    """Write a randomly initialised tiny masked LM of ``family`` (drawn from ``seed``) and its
    tokenizer to ``directory`` with ``save_pretrained``; return the directory."""
    import torch
    from transformers import AutoModelForMaskedLM

    tok = tokenizer(family)
    torch.manual_seed(seed)
    model = AutoModelForMaskedLM.from_config(config(family, len(tok), tok, layers=layers, **extra))
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory
