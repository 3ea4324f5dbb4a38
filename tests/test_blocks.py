"""Packing: fixed-length [cls] chunk [sep] blocks, tails dropped per map batch, int32 on disk."""

from __future__ import annotations

import random

import pytest

from embryo.data.blocks import load_blocks, pack_corpus
from embryo.data.tokenizer import train_tokenizer
from embryo.runtime.errors import EmbryoError

WORDS = "the a river garden city child doctor sings paints follows green old".split()


def sentences(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) for _ in range(n)]


def write(path, texts):
    import pandas as pd

    pd.DataFrame({"text": texts}).to_parquet(path)
    return path


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tok") / "wordpiece"
    train_tokenizer(sentences(400, 0), out, algorithm="wordpiece", vocab_size=200, lowercase=True)
    return out


@pytest.fixture(scope="module")
def tok(tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    assert all(tok.convert_tokens_to_ids(w) != tok.unk_token_id for w in WORDS)
    return tok


def reference(tok, texts, block_size, batch_size):
    """What packing should give: per batch, tokens + sep per text, full chunks only."""
    n, blocks = block_size - 2, []
    for start in range(0, len(texts), batch_size):
        stream = []
        for text in texts[start : start + batch_size]:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            stream += [*ids, tok.sep_token_id] if ids else []
        for i in range(0, len(stream) // n * n, n):
            blocks.append([tok.cls_token_id, *stream[i : i + n], tok.sep_token_id])
    return blocks


def test_tiny_case_by_hand(tokenizer_dir, tok, tmp_path):
    texts = ["the river the river", "a garden", "the city", "", "a child the doctor sings"]
    train = write(tmp_path / "train.parquet", texts)
    valid = write(tmp_path / "validation.parquet", ["green green green green green green"])
    out = tmp_path / "blocks"
    stats = pack_corpus(tokenizer_dir, train, valid, out, block_size=8, map_batch_size=2)
    data = load_blocks(out)
    got = [tok.convert_ids_to_tokens(ids) for ids in data["train"]["input_ids"]]
    # Batch 1 streams "the river the river [SEP] a garden [SEP]": one block, 2 dropped.
    # Batch 2 streams "the city [SEP]" (the empty text adds nothing): no block, 3 dropped.
    # Batch 3 streams "a child the doctor sings [SEP]": exactly one block.
    assert got == [
        ["[CLS]", "the", "river", "the", "river", "[SEP]", "a", "[SEP]"],
        ["[CLS]", "a", "child", "the", "doctor", "sings", "[SEP]", "[SEP]"],
    ]
    assert [tok.convert_ids_to_tokens(ids) for ids in data["validation"]["input_ids"]] == [
        ["[CLS]", *["green"] * 6, "[SEP]"]
    ]
    assert stats["train"] == {
        "blocks": 2,
        "tokens": 16,
        "stream_tokens": 17,
        "dropped_tokens": 5,
        "dropped_fraction": 5 / 17,
    }
    assert stats["validation"]["dropped_tokens"] == 1  # the final [SEP]


def test_blocks_record_where_documents_start(tokenizer_dir, tok, tmp_path):
    """doc_starts: the positions in a block where another document's first token lies."""
    import pandas as pd

    texts = ["the river", "a garden", "the city", "a child the doctor sings"]
    train = tmp_path / "train.parquet"
    pd.DataFrame({"text": texts, "doc": [0, 0, 1, 2]}).to_parquet(train)
    valid = write(tmp_path / "validation.parquet", ["green green green green green green"])
    pack_corpus(tokenizer_dir, train, valid, tmp_path / "b", block_size=8, map_batch_size=10)
    data = load_blocks(tmp_path / "b")["train"]
    got = [tok.convert_ids_to_tokens(ids) for ids in data["input_ids"]]
    # the stream: the river [SEP] a garden [SEP] | the city [SEP] | a child the doctor sings [SEP]
    assert got == [
        ["[CLS]", "the", "river", "[SEP]", "a", "garden", "[SEP]", "[SEP]"],
        ["[CLS]", "the", "city", "[SEP]", "a", "child", "the", "[SEP]"],
    ]
    # "a garden" continues document 0; "the city" starts block 2 (no boundary inside it);
    # "a child" (document 2) starts at position 4 of block 2
    assert data["doc_starts"] == [[], [4]]
    # and the documents each block's tokens come from, in order
    assert data["docs"] == [[0], [1, 2]]


def test_blocks_match_the_reference_packing(tokenizer_dir, tok, tmp_path):
    texts = {"train": sentences(300, 1), "validation": sentences(60, 2)}
    paths = [write(tmp_path / f"{split}.parquet", texts[split]) for split in texts]
    out = tmp_path / "out" / "blocks"
    stats = pack_corpus(tokenizer_dir, *paths, out, block_size=16, map_batch_size=50)
    data = load_blocks(out)
    assert set(data) == {"train", "validation"}
    for split, dataset in data.items():
        assert dataset.column_names == ["input_ids", "doc_starts", "docs"]
        assert dataset.features["input_ids"].feature.dtype == "int32"
        assert str(dataset.data.schema.field("input_ids").type) == "list<item: int32>"
        blocks = dataset["input_ids"]
        assert blocks == reference(tok, texts[split], 16, 50)
        assert all(
            len(b) == 16 and b[0] == tok.cls_token_id and b[-1] == tok.sep_token_id for b in blocks
        )
        assert tok.pad_token_id not in {t for b in blocks for t in b}
        s = stats[split]
        assert s["blocks"] == len(blocks) and s["tokens"] == 16 * len(blocks)
        assert s["stream_tokens"] == s["dropped_tokens"] + 14 * len(blocks)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["blocks"]  # no temporary leftovers


def test_workers_pack_their_shards_alike(tokenizer_dir, tmp_path):
    """With shards of whole map batches, num_proc=2 gives the same blocks as one process."""
    train = write(tmp_path / "train.parquet", sentences(200, 3))
    valid = write(tmp_path / "validation.parquet", sentences(40, 4))
    one, two = tmp_path / "one", tmp_path / "two"
    pack_corpus(tokenizer_dir, train, valid, one, block_size=12, map_batch_size=20)
    pack_corpus(tokenizer_dir, train, valid, two, block_size=12, map_batch_size=20, num_proc=2)
    for split in ("train", "validation"):
        assert load_blocks(one)[split]["input_ids"] == load_blocks(two)[split]["input_ids"]


def test_row_groups_unaligned_with_batches_and_uneven_shards(tokenizer_dir, tok, tmp_path):
    """Batches of exactly map_batch_size rows whatever the Parquet row groups; with
    num_proc=3 over 100 rows, shards 0:34, 34:67, 67:100 each restart their batches (as
    datasets' contiguous shards do); documents are global row numbers; the directory is
    what datasets.load_from_disk reads."""
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = sentences(100, 8)
    train = tmp_path / "train.parquet"
    pq.write_table(pa.table({"text": texts}), train, row_group_size=7)
    assert pq.ParquetFile(train).metadata.num_row_groups == 15
    valid = write(tmp_path / "validation.parquet", sentences(40, 9))
    out = tmp_path / "b"
    pack_corpus(tokenizer_dir, train, valid, out, block_size=10, map_batch_size=5, num_proc=3)
    loaded = datasets.load_from_disk(str(out))
    assert isinstance(loaded, datasets.DatasetDict) and set(loaded) == {"train", "validation"}
    assert sorted(p.name for p in (out / "train").glob("*.arrow")) == [
        f"data-0000{i}-of-00003.arrow" for i in range(3)
    ]
    want = [b for a, z in ((0, 34), (34, 67), (67, 100)) for b in reference(tok, texts[a:z], 10, 5)]
    assert loaded["train"]["input_ids"] == want
    docs = [d for row in loaded["train"]["docs"] for d in row]
    assert docs == sorted(docs) and docs[-1] >= 67  # global row numbers, in order


def test_nothing_goes_to_the_users_datasets_cache(tokenizer_dir, tmp_path):
    import datasets

    cache = datasets.config.HF_DATASETS_CACHE

    def listing():
        return sorted(map(str, cache.rglob("*"))) if cache.exists() else None

    before = listing()
    train = write(tmp_path / "train.parquet", sentences(50, 5))
    pack_corpus(tokenizer_dir, train, train, tmp_path / "b", block_size=8)
    assert listing() == before


def test_too_small_corpus_names_file_tokens_and_block_size(tokenizer_dir, tmp_path):
    train = write(tmp_path / "train.parquet", sentences(100, 6))
    valid = write(tmp_path / "validation.parquet", ["the river", "a child"])
    with pytest.raises(EmbryoError) as error:
        pack_corpus(tokenizer_dir, train, valid, tmp_path / "out" / "b", block_size=64)
    message = str(error.value)
    assert "validation.parquet" in message and "6 tokens" in message
    assert "block_size 64" in message and "smaller block_size or more data" in message
    assert list((tmp_path / "out").iterdir()) == []


def test_errors(tokenizer_dir, tmp_path):
    import pandas as pd

    train = write(tmp_path / "train.parquet", sentences(20, 7))
    with pytest.raises(EmbryoError, match="block_size 7: expected at least 8"):
        pack_corpus(tokenizer_dir, train, train, tmp_path / "b", block_size=7)
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"sentence": ["a"]}).to_parquet(bad)
    with pytest.raises(EmbryoError, match=r"bad\.parquet: expected a 'text' column"):
        pack_corpus(tokenizer_dir, train, bad, tmp_path / "b", block_size=8)
    with pytest.raises(EmbryoError, match="expected a directory written by pack_corpus"):
        load_blocks(tmp_path / "missing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.parquet", "train.parquet"]
