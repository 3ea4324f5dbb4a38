"""Pack tokenized paragraphs into fixed-length blocks for masked language modelling.

As in Hugging Face's ``run_mlm`` ``group_texts``: within each map batch of texts, the
stream is every text's tokens followed by ``sep``; it is cut into chunks of
``block_size - 2`` tokens, each stored as ``[cls] + chunk + [sep]``, and the incomplete tail
of the batch is dropped. No padding: every block is exactly ``block_size`` long. Texts
with no tokens are skipped. With ``num_proc > 1`` each worker's shard (contiguous rows)
ends a batch too.
Each block also keeps ``doc_starts``, the positions where another document begins in it
(the corpus's ``doc`` column, :func:`embryo.data.corpus.prepare_corpus`), for ALBERT's
sentence order within one document, and ``docs``, the numbers of the documents its tokens
come from, in order (what a training step saw: :mod:`embryo.train.replay`).
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from embryo.data.records import open_parquet
from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError, where

SPLITS = ("train", "validation")
MIN_BLOCK_SIZE = 8


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


FEATURES = {"input_ids": "int32", "doc_starts": "int32", "docs": "int64"}


def _features():
    import datasets

    return datasets.Features(
        {name: datasets.Sequence(datasets.Value(kind)) for name, kind in FEATURES.items()}
    )


def _shards(rows: int, count: int) -> list[tuple[int, int]]:
    """Contiguous row ranges of ``count`` shards, as ``datasets``' ``shard(contiguous=True)``
    cuts them: the first ``rows % count`` shards one row longer."""
    div, mod = divmod(rows, count)
    starts = [div * i + min(i, mod) for i in range(count + 1)]
    return list(pairwise(starts))


def _batches(parquet, columns: list[str], start: int, stop: int, batch_size: int):
    """Rows ``start:stop`` of an open Parquet file as Arrow tables of exactly
    ``batch_size`` rows (the last may be shorter), read one row group at a time: neither
    the file nor its rows are ever held or memory-mapped whole."""
    import pyarrow as pa

    meta, groups, offset, first = parquet.metadata, [], 0, None
    for index in range(meta.num_row_groups):
        rows = meta.row_group(index).num_rows
        if offset < stop and offset + rows > start:
            first = offset if first is None else first
            groups.append(index)
        offset += rows
    if not groups:
        return
    pending, position = None, first
    for batch in parquet.iter_batches(batch_size=batch_size, row_groups=groups, columns=columns):
        lo, hi = max(start - position, 0), min(stop - position, len(batch))
        position += len(batch)
        if hi > lo:
            table = pa.Table.from_batches([batch.slice(lo, hi - lo)])
            pending = table if pending is None else pa.concat_tables([pending, table])
            while len(pending) >= batch_size:
                yield pending.slice(0, batch_size)
                pending = pending.slice(batch_size)
        if position >= stop:
            break
    if pending is not None and len(pending):
        yield pending


def _pack_shard(
    path, start: int, stop: int, tokenizer_dir, block_size: int, batch_size: int, out
) -> dict:
    """Tokenize and pack rows ``start:stop`` of one Parquet corpus into the Arrow stream
    file ``out`` (the format of ``datasets``' ``save_to_disk``), a map batch at a time;
    its ``blocks`` and ``stream_tokens`` (text tokens plus one separator per text)."""
    import pyarrow as pa

    tokenizer = _tokenizer(tokenizer_dir)
    parquet = open_parquet(path, required=("text",))
    columns = ["text", "doc"] if "doc" in parquet.schema_arrow.names else ["text"]
    schema = _features().arrow_schema
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    stats, row = {"blocks": 0, "stream_tokens": 0}, start
    with pa.OSFile(str(out), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for table in _batches(parquet, columns, start, stop, batch_size):
            texts = [text or "" for text in table.column("text").to_pylist()]
            if "doc" in columns:
                docs = table.column("doc").to_pylist()
            else:  # each text its own document
                docs = list(range(row, row + len(texts)))
            row += len(texts)
            ids = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
            stats["stream_tokens"] += sum(map(len, ids)) + sum(1 for x in ids if x)
            packed = _group({"ids": ids, "doc": docs}, cls, sep, block_size)
            if packed["input_ids"]:
                writer.write_table(pa.table(packed, schema=schema))
                stats["blocks"] += len(packed["input_ids"])
    return stats


def _pack_split(
    split: str, path, tokenizer_dir, out, block_size: int, num_proc: int, batch_size: int
) -> dict:
    """Pack one Parquet corpus into the ``datasets`` directory ``out`` (Arrow shards,
    ``state.json``, ``dataset_info.json``: what ``save_to_disk`` writes and
    ``load_from_disk`` reads), in ``num_proc`` contiguous shards packed in parallel; its
    stats."""
    import hashlib
    import json
    import multiprocessing

    import datasets
    from datasets import config

    rows = open_parquet(path, required=("text",)).metadata.num_rows
    shards = _shards(rows, max(1, min(num_proc, rows)))
    names = [f"data-{i:05d}-of-{len(shards):05d}.arrow" for i in range(len(shards))]
    out.mkdir(parents=True)
    jobs = [
        (path, a, b, tokenizer_dir, block_size, batch_size, out / name)
        for (a, b), name in zip(shards, names, strict=True)
    ]
    if len(jobs) == 1:
        parts = [_pack_shard(*jobs[0])]
    else:  # spawned, not forked: the parent's tokenizer threads stay its own
        with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
            parts = pool.starmap(_pack_shard, jobs)
    blocks = sum(part["blocks"] for part in parts)
    stream = sum(part["stream_tokens"] for part in parts)
    if blocks == 0:
        raise EmbryoError(
            f"{where(path)}: {stream} tokens (with separators) make no block of block_size "
            f"{block_size} (each holds {block_size - 2} tokens per map batch of {batch_size} "
            "texts); expected a smaller block_size or more data"
        )
    kept = blocks * (block_size - 2)
    stats = {
        "blocks": blocks,
        "tokens": blocks * block_size,
        "stream_tokens": stream,
        "dropped_tokens": stream - kept,
        "dropped_fraction": (stream - kept) / stream,
    }
    datasets.DatasetInfo(features=_features()).write_to_directory(str(out))
    fingerprint = hashlib.sha256(json.dumps([split, stats, names]).encode()).hexdigest()[:16]
    state = {
        "_data_files": [{"filename": name} for name in names],
        "_fingerprint": fingerprint,
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }
    (out / config.DATASET_STATE_JSON_FILENAME).write_text(json.dumps(state, indent=2))
    return stats


def _tokenizer(tokenizer_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    if tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
        raise EmbryoError(f"{where(tokenizer_dir)}: expected a tokenizer with cls and sep tokens")
    return tokenizer


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

    Streaming: each corpus is read a row group at a time, tokenized and packed a map
    batch at a time and its blocks appended to Arrow files in the layout of
    ``DatasetDict.save_to_disk``, so that memory stays flat however large the corpus
    (``benchmarks/scale.py``); nothing is memory-mapped or cached on the way.

    Returns ``{"block_size", "train": stats, "validation": stats}``, where stats has
    ``blocks``, ``tokens`` (stored, ``blocks * block_size``), ``stream_tokens`` (text tokens
    plus one separator per text), ``dropped_tokens`` and ``dropped_fraction`` (of the stream).
    """
    import json

    from datasets import config

    if block_size < MIN_BLOCK_SIZE:
        raise EmbryoError(f"block_size {block_size}: expected at least {MIN_BLOCK_SIZE}")
    _tokenizer(tokenizer_dir)  # a clear error before any worker starts
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stats: dict = {"block_size": block_size}
    with atomic_path(out_dir, directory=True) as tmp:
        for split, path in zip(SPLITS, (train_parquet, validation_parquet), strict=True):
            stats[split] = _pack_split(
                split,
                path,
                tokenizer_dir,
                Path(tmp) / split,
                block_size,
                num_proc,
                map_batch_size,
            )
        (Path(tmp) / config.DATASETDICT_JSON_FILENAME).write_text(json.dumps({"splits": SPLITS}))
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
