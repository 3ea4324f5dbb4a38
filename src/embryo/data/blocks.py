"""Pack tokenized paragraphs into fixed-length blocks for masked language modelling.

As in Hugging Face's ``run_mlm`` ``group_texts``: within each map batch of texts, the
stream is every text's tokens followed by ``sep``; it is cut into chunks of
``block_size - 2`` tokens, each stored as ``[cls] + chunk + [sep]``, and the incomplete tail
of the batch is dropped. No padding: every block is exactly ``block_size`` long. Texts
with no tokens are skipped. With ``num_proc > 1`` each worker's shard ends a batch too.
Each block also keeps ``doc_starts``, the positions where another document begins in it
(the corpus's ``doc`` column, :func:`embryo.data.corpus.prepare_corpus`), for ALBERT's
sentence order within one document, and ``docs``, the numbers of the documents its tokens
come from, in order (what a training step saw: :mod:`embryo.train.replay`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from embryo.data.records import open_parquet, parquet_scan_options
from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError, where

SPLITS = ("train", "validation")
MIN_BLOCK_SIZE = 8


def _tokenize(batch, tokenizer):
    texts = [text or "" for text in batch["text"]]
    return {"ids": tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]}


def _group(batch, cls: int, sep: int, block_size: int):
    """Pack a batch's texts; each block also lists where a new document starts inside it
    (``doc_starts``: positions in the block, after [CLS], of the first token of a text
    whose document differs from the text before), so that ALBERT's sentence-order pairs
    can be cut within one document (:func:`embryo.train.objective.sentence_order`)."""
    stream, starts, docs, previous = [], [], [], None
    for ids, doc in zip(batch["ids"], batch["doc"], strict=True):
        if not ids:
            continue
        if previous is not None and doc != previous:
            starts.append(len(stream))
        if doc != previous:
            docs.append(doc)  # docs[k + 1] begins at starts[k]
        stream += (*ids, sep)
        previous = doc
    n = block_size - 2
    out = {"input_ids": [], "doc_starts": [], "docs": []}
    first = 0
    for i in range(0, len(stream) - n + 1, n):
        out["input_ids"].append([cls, *stream[i : i + n], sep])
        while first < len(starts) and starts[first] <= i:
            first += 1  # a document starting at the block's first token is no boundary in it
        inside = []
        for k in range(first, len(starts)):
            if starts[k] >= i + n:
                break
            inside.append(starts[k] - i + 1)
        out["doc_starts"].append(inside)
        out["docs"].append(docs[first : first + len(inside) + 1])
    return out


def _pack_split(
    split: str, path, tokenizer, cache: str, block_size: int, num_proc: int, batch_size: int
):
    """Return the packed dataset of one Parquet file and its stats."""
    import datasets
    import pyarrow.compute as pc

    has_docs = "doc" in open_parquet(path, required=("text",)).schema_arrow.names
    columns = ["text", "doc"] if has_docs else ["text"]
    raw = datasets.Dataset.from_parquet(str(path), columns=columns, cache_dir=cache,
                                        fragment_scan_options=parquet_scan_options())  # fmt: skip
    common = dict(
        batched=True, batch_size=batch_size, num_proc=num_proc, load_from_cache_file=False
    )
    if not has_docs:  # each text its own document
        raw = raw.map(lambda b, idx: {"doc": idx}, with_indices=True, batched=True,
                      batch_size=batch_size, load_from_cache_file=False,
                      new_fingerprint=f"docs-{split}")  # fmt: skip
    ids = datasets.Features(
        {"ids": datasets.Sequence(datasets.Value("int32")), "doc": datasets.Value("int64")}
    )
    tokenized = raw.map(
        _tokenize,
        fn_kwargs={"tokenizer": tokenizer},
        remove_columns=["text"],
        features=ids,
        new_fingerprint=f"tokenize-{split}",
        desc=f"Tokenizing {Path(path).name}",
        **common,
    )
    lengths = pc.list_value_length(tokenized.data.column("ids"))
    stream = pc.sum(lengths).as_py() or 0
    stream += pc.sum(pc.greater(lengths, 0)).as_py() or 0  # one sep after each text
    input_ids = datasets.Features({"input_ids": datasets.Sequence(datasets.Value("int32")),
                                   "doc_starts": datasets.Sequence(datasets.Value("int32")),
                                   "docs": datasets.Sequence(datasets.Value("int64"))})  # fmt: skip
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    blocks = tokenized.map(
        _group,
        fn_kwargs={"cls": cls, "sep": sep, "block_size": block_size},
        remove_columns=["ids", "doc"],
        features=input_ids,
        new_fingerprint=f"pack-{split}",
        desc=f"Packing {Path(path).name}",
        **common,
    )
    if len(blocks) == 0:
        raise EmbryoError(
            f"{where(path)}: {stream} tokens (with separators) make no block of block_size "
            f"{block_size} (each holds {block_size - 2} tokens per map batch of {batch_size} "
            "texts); expected a smaller block_size or more data"
        )
    kept = len(blocks) * (block_size - 2)
    stats = {
        "blocks": len(blocks),
        "tokens": len(blocks) * block_size,
        "stream_tokens": stream,
        "dropped_tokens": stream - kept,
        "dropped_fraction": (stream - kept) / stream,
    }
    return blocks, stats


def pack_corpus(
    tokenizer_dir,
    train_parquet,
    validation_parquet,
    out_dir,
    *,
    block_size: int,
    num_proc: int = 1,
    map_batch_size: int = 1000,
) -> dict:
    """Tokenize and pack two Parquet corpora into a ``DatasetDict`` saved atomically at ``out_dir``.

    Returns ``{"block_size", "train": stats, "validation": stats}``, where stats has
    ``blocks``, ``tokens`` (stored, ``blocks * block_size``), ``stream_tokens`` (text tokens
    plus one separator per text), ``dropped_tokens`` and ``dropped_fraction`` (of the stream).
    """
    if block_size < MIN_BLOCK_SIZE:
        raise EmbryoError(f"block_size {block_size}: expected at least {MIN_BLOCK_SIZE}")
    import datasets
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    if tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
        raise EmbryoError(f"{where(tokenizer_dir)}: expected a tokenizer with cls and sep tokens")
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stats: dict = {"block_size": block_size}
    splits = {}
    # Intermediate Arrow files live beside the output, never in the user's datasets cache.
    with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}.cache-", dir=out_dir.parent) as cache:
        for split, path in zip(SPLITS, (train_parquet, validation_parquet), strict=True):
            splits[split], stats[split] = _pack_split(
                split, path, tokenizer, cache, block_size, num_proc, map_batch_size
            )
        with atomic_path(out_dir, directory=True) as tmp:
            datasets.DatasetDict(splits).save_to_disk(str(tmp))
    return stats


def load_blocks(out_dir):
    """Load what :func:`pack_corpus` saved: a ``DatasetDict`` with ``train`` and ``validation``."""
    import datasets

    if not Path(out_dir).is_dir():
        raise EmbryoError(f"{where(out_dir)}: expected a directory written by pack_corpus")
    loaded = datasets.load_from_disk(str(out_dir))
    if not isinstance(loaded, datasets.DatasetDict) or set(loaded) != set(SPLITS):
        raise EmbryoError(f"{where(out_dir)}: expected a DatasetDict with splits {SPLITS}")
    return loaded
