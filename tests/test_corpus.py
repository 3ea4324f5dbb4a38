"""Tests for embryo.data.corpus: local formats, validation hold-out, hub source, Parquet output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from embryo.data.corpus import _read_documents, check_corpus, load_corpus, prepare_corpus
from embryo.runtime.errors import EmbryoError

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

WIKITEXT = """
 = First Article =

 Alpha is a well @-@ known letter , with 1 @,@ 000 uses .
 It costs 3 @.@ 5 units .

 = = Section = =

 Second paragraph of the first article .

 = = = Deeper = = =

 Deep paragraph .

 = Second Article =

 Beta paragraph .

 = Third Article =

 Gamma paragraph .
"""


def spec(files, **kw) -> dict:
    """A local corpus spec with the schema defaults."""
    out = {"source": "local", "files": files, "validation_files": [], "format": "auto"}
    out |= {"text_field": "text", "validation_fraction": 0.05, "seed": 0, "max_texts": None}
    return out | kw


def lines_file(path: Path, n: int, prefix: str = "line") -> Path:
    path.write_text("".join(f"{prefix} {i}\n" for i in range(n)))
    return path


def test_text_format(tmp_path):
    (tmp_path / "a.txt").write_text("  one  \n\n two\n   \nthree\n")
    out = load_corpus(spec(["a.txt"], validation_fraction=0.34), tmp_path)
    assert sorted(out["train"] + out["validation"]) == ["one", "three", "two"]
    assert len(out["validation"]) == 1


def test_wikitext_articles_headings_and_joins(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text(WIKITEXT)
    docs = list(_read_documents(path, "wikitext"))
    assert docs == [
        [
            "Alpha is a well-known letter , with 1,000 uses .",
            "It costs 3.5 units .",
            "Second paragraph of the first article .",
            "Deep paragraph .",
        ],
        ["Beta paragraph ."],
        ["Gamma paragraph ."],
    ]
    out = load_corpus(spec(["w.txt"], format="wikitext", validation_fraction=0.3), tmp_path)
    # one whole article is held out, the others stay in train, in order
    assert out["validation"] in docs
    assert [t for d in docs if d != out["validation"] for t in d] == out["train"]
    # each text carries its article's number: consecutive texts of one article share it
    kept = [d for d in docs if d != out["validation"]]
    assert out["train_docs"] == [i for i, d in enumerate(kept) for _ in d]
    assert out["validation_docs"] == [0] * len(out["validation"])


def test_jsonl_good_and_bom(tmp_path):
    rows = [{"text": "first", "id": 1}, {"text": "second"}, {"text": "third"}]
    body = "\n".join(json.dumps(r) for r in rows) + "\n\n"
    (tmp_path / "a.jsonl").write_text(body)
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + body.encode())
    for name in ("a.jsonl", "bom.jsonl"):
        out = load_corpus(spec([name], validation_fraction=0.3), tmp_path)
        assert sorted(out["train"] + out["validation"]) == ["first", "second", "third"]


def test_jsonl_text_field(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"body": "x"}\n{"body": "y"}\n')
    out = load_corpus(spec(["a.jsonl"], text_field="body"), tmp_path)
    assert sorted(out["train"] + out["validation"]) == ["x", "y"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{not json", r"a\.jsonl:2: bad JSON"),
        ('{"body": "x"}', r"a\.jsonl:2: expected an object with 'text'; got keys \['body'\]"),
        ('["x"]', r"a\.jsonl:2: expected an object with 'text'; got list"),
        ('{"text": 3}', r"a\.jsonl:2: 'text' should be a string, not int"),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path, line, expected):
    (tmp_path / "a.jsonl").write_text('{"text": "ok"}\n' + line + "\n")
    with pytest.raises(EmbryoError, match=expected):
        load_corpus(spec(["a.jsonl"]), tmp_path)


def test_invalid_utf8_names_file_and_line(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"fine\nbad \xff byte\n")
    with pytest.raises(EmbryoError, match=r"a\.txt:2: not valid UTF-8"):
        load_corpus(spec(["a.txt"]), tmp_path)


def test_parquet_good_and_missing_column(tmp_path):
    pq.write_table(
        pa.table({"text": ["a", "b", None, "c"], "n": [1, 2, 3, 4]}), tmp_path / "a.parquet"
    )
    out = load_corpus(spec(["a.parquet"], validation_fraction=0.3), tmp_path)
    assert sorted(out["train"] + out["validation"]) == ["a", "b", "c"]
    with pytest.raises(EmbryoError, match=r"a\.parquet: no column 'body'.*\['text', 'n'\]"):
        load_corpus(spec(["a.parquet"], text_field="body"), tmp_path)


def test_several_files_and_glob_sorted(tmp_path):
    (tmp_path / "d").mkdir()
    lines_file(tmp_path / "d" / "b.txt", 2, "b")
    lines_file(tmp_path / "d" / "a.txt", 2, "a")
    lines_file(tmp_path / "c.txt", 1, "c")
    out = load_corpus(spec(["d/*.txt", str(tmp_path / "c.txt")], validation_fraction=0.2), tmp_path)
    everything = ["a 0", "a 1", "b 0", "b 1", "c 0"]
    assert sorted(out["train"] + out["validation"]) == everything
    assert [t for t in everything if t not in out["validation"]] == out["train"]  # order kept
    with pytest.raises(EmbryoError, match=r"nothing/\*\.txt.*matches no file"):
        load_corpus(spec(["nothing/*.txt"]), tmp_path)


def test_validation_files(tmp_path):
    lines_file(tmp_path / "train.txt", 5, "t")
    lines_file(tmp_path / "valid.txt", 2, "v")
    out = load_corpus(spec(["train.txt"], validation_files=["valid.txt"]), tmp_path)
    assert out == {
        "train": [f"t {i}" for i in range(5)],
        "validation": ["v 0", "v 1"],
        "train_docs": [0, 1, 2, 3, 4],
        "validation_docs": [0, 1],
    }  # a line each
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(EmbryoError, match=r"empty\.txt: empty validation split"):
        load_corpus(spec(["train.txt"], validation_files=["empty.txt"]), tmp_path)
    with pytest.raises(EmbryoError, match=r"empty\.txt: empty corpus"):
        load_corpus(spec(["empty.txt"], validation_files=["valid.txt"]), tmp_path)


def test_validation_fraction_is_deterministic(tmp_path):
    lines_file(tmp_path / "a.txt", 200)
    split = {
        s: load_corpus(spec(["a.txt"], validation_fraction=0.1, seed=s), tmp_path) for s in (0, 1)
    }
    again = load_corpus(spec(["a.txt"], validation_fraction=0.1, seed=0), tmp_path)
    assert again == split[0]
    assert split[0]["validation"] != split[1]["validation"]
    for out in split.values():
        assert len(out["validation"]) == 20 and len(out["train"]) == 180
        assert not set(out["train"]) & set(out["validation"])
        assert out["train"] == sorted(out["train"], key=lambda t: int(t.split()[1]))


def test_max_texts_limits_train_only(tmp_path):
    lines_file(tmp_path / "a.txt", 100)
    full = load_corpus(spec(["a.txt"]), tmp_path)
    out = load_corpus(spec(["a.txt"], max_texts=10), tmp_path)
    assert out["train"] == full["train"][:10]
    assert out["validation"] == full["validation"]


def test_missing_file_names_path_and_key(tmp_path):
    with pytest.raises(EmbryoError, match=r"nope\.txt.*file not found"):
        load_corpus(spec(["nope.txt"]), tmp_path)
    with pytest.raises(EmbryoError, match=r"nope\.txt \(config key corpora\.wiki\.files\)"):
        check_corpus("wiki", spec(["nope.txt"]), tmp_path)
    lines_file(tmp_path / "a.txt", 3)
    check_corpus("wiki", spec(["a.txt"]), tmp_path)
    with pytest.raises(EmbryoError, match=r"corpora\.wiki\.validation_files"):
        check_corpus("wiki", spec(["a.txt"], validation_files=["v.txt"]), tmp_path)
    with pytest.raises(EmbryoError, match=r"corpora\.hub\.hub_id"):
        check_corpus("hub", {"source": "hub", "hub_id": None}, None)


def test_empty_corpus_and_single_document(tmp_path):
    (tmp_path / "blank.txt").write_text("\n  \n")
    with pytest.raises(EmbryoError, match=r"blank\.txt: empty corpus"):
        load_corpus(spec(["blank.txt"]), tmp_path)
    (tmp_path / "one.txt").write_text("only line\n")
    with pytest.raises(EmbryoError, match=r"one\.txt: a single document cannot be split"):
        load_corpus(spec(["one.txt"]), tmp_path)


def test_unknown_extension(tmp_path):
    (tmp_path / "a.csv").write_text("x\n")
    for call in (
        lambda: load_corpus(spec(["a.csv"]), tmp_path),
        lambda: check_corpus("c", spec(["a.csv"]), tmp_path),
    ):
        with pytest.raises(EmbryoError, match=r"a\.csv: cannot tell the format.*\.jsonl"):
            call()
    assert load_corpus(spec(["a.csv", "a.csv"], format="text"), tmp_path)["train"] == ["x"]


def test_hub_source(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(path, name=None, *, split, revision=None):
        calls.append((path, name, split, revision))
        texts = {"train": ["a", "", "b", "c", "d"], "validation": ["v"]}[split]
        return datasets.Dataset.from_dict({"text": texts, "n": list(range(len(texts)))})

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    hub = {"source": "hub", "hub_id": "org/corpus", "hub_config": "cfg", "split": "train"}
    hub |= {"validation_split": "validation", "revision": "abc123", "text_field": "text"}
    hub |= {"validation_fraction": 0.05, "seed": 0, "max_texts": None}
    assert load_corpus(hub, None) == {
        "train": ["a", "b", "c", "d"],
        "validation": ["v"],
        "train_docs": [0, 1, 2, 3],
        "validation_docs": [0],
    }
    assert calls == [
        ("org/corpus", "cfg", "train", "abc123"),
        ("org/corpus", "cfg", "validation", "abc123"),
    ]

    out = load_corpus(hub | {"validation_split": None, "validation_fraction": 0.25}, None)
    assert len(out["validation"]) == 1 and sorted(out["train"] + out["validation"]) == [
        "a",
        "b",
        "c",
        "d",
    ]
    with pytest.raises(EmbryoError, match=r"org/corpus.*no column 'body'.*\['text', 'n'\]"):
        load_corpus(hub | {"text_field": "body"}, None)


def test_prepare_corpus_writes_parquet(tmp_path):
    lines_file(tmp_path / "a.txt", 40)
    train_out, valid_out = tmp_path / "out" / "train.parquet", tmp_path / "out" / "valid.parquet"
    stats = prepare_corpus(
        spec(["a.txt"], validation_fraction=0.25), tmp_path, train_out, valid_out
    )
    train, valid = pd.read_parquet(train_out), pd.read_parquet(valid_out)
    assert list(train.columns) == ["text", "doc"] and list(valid.columns) == ["text", "doc"]
    assert pq.read_schema(train_out).field("text").type == pa.string()
    assert train["doc"].tolist() == list(range(30))  # a text file: one document per line
    assert stats == {
        "train": {"texts": 30, "documents": 30, "chars": int(train["text"].str.len().sum())},
        "validation": {"texts": 10, "documents": 10, "chars": int(valid["text"].str.len().sum())},
    }
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "train.parquet",
        "valid.parquet",
    ]


def test_import_is_light():
    heavy = "{'numpy', 'pyarrow', 'datasets', 'pandas'}"
    code = f"import sys, embryo.data.corpus; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.realdata
def test_real_wikitext_valid():
    path = SHARED_DATA / "wikitext-2" / "valid.txt"
    if not path.exists():
        pytest.skip(f"../shared/data is absent: {path} not found")
    docs = list(_read_documents(path, "wikitext"))
    texts = [t for d in docs for t in d]
    assert 50 <= len(docs) <= 70  # WikiText-2 valid has 60 articles
    assert 1000 <= len(texts) <= 2000
    assert not any(t.startswith("=") and t.endswith("=") for t in texts)
    assert not any(" @-@ " in t or " @,@ " in t or " @.@ " in t for t in texts)
    out = load_corpus(spec([str(path)], format="wikitext", seed=3), None)
    assert len(out["train"]) + len(out["validation"]) == len(texts)
    assert docs[0][0].startswith("Homarus gammarus , known as the European lobster")
    assert 0 < len(out["validation"]) < len(texts) / 5


def test_builtin_corpus_reads_the_generated_mirror(tmp_path):
    from embryo.data.builtin import generate
    from embryo.data.corpus import as_local, check_corpus, input_files

    spec = {"source": "builtin"}
    assert as_local(spec) == {
        "source": "local",
        "files": ["corpus/train.txt"],
        "validation_files": ["corpus/valid.txt"],
        "format": "wikitext",
    }
    check_corpus("b", spec, tmp_path)  # nothing to check before generation
    assert input_files(spec, tmp_path) == []
    generate(tmp_path / "mirror", seed=3, sizes={"corpus_train": 200, "corpus_valid": 40})
    splits = load_corpus(spec, tmp_path / "mirror")
    assert len(splits["train"]) > len(splits["validation"]) > 0
    assert not any(text.lstrip().startswith("= ") for text in splits["train"])


def test_mix_concatenates_the_prepared_parts_in_order(tmp_path):
    import pyarrow.parquet as pq

    parts = []
    for name, n in (("wiki", 20), ("books", 10)):
        lines_file(tmp_path / f"{name}.txt", n, prefix=name)
        parts.append(tmp_path / name)
        prepare_corpus(
            spec([f"{name}.txt"], validation_fraction=0.2),
            tmp_path,
            parts[-1] / "train.parquet",
            parts[-1] / "validation.parquet",
        )
    out = tmp_path / "mix"
    stats = prepare_corpus(
        {"source": "mix", "parts": ["wiki", "books"], "max_texts": None},
        None,
        out / "train.parquet",
        out / "validation.parquet",
        part_dirs=parts,
    )
    assert stats["train"]["texts"] == 16 + 8 and stats["validation"]["texts"] == 4 + 2
    train = pq.read_table(out / "train.parquet")["text"].to_pylist()
    assert train[:16] == pq.read_table(parts[0] / "train.parquet")["text"].to_pylist()
    assert all(t.startswith("books") for t in train[16:])


def test_mix_parts_are_checked():
    from embryo.config.schema import _mix_problems

    cfg = {"corpora": {"a": {"source": "local"}, "m": {"source": "mix", "parts": ["a"]}}}
    assert list(_mix_problems(cfg, "x", ["a"])) == []
    assert "unknown corpus 'z'" in next(_mix_problems(cfg, "x", ["a", "z"]))
    assert "'m' is itself a mix" in next(_mix_problems(cfg, "x", ["m"]))
    assert "listed twice" in next(_mix_problems(cfg, "x", ["a", "a"]))
    assert "needs the corpora" in next(_mix_problems(cfg, "x", []))


def test_line_ends_lf_crlf_cr_and_doubled_crlf(tmp_path):
    from embryo.data.corpus import read_lines

    for name, end in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r"), ("crcrlf", "\r\r\n")):
        path = tmp_path / f"{name}.txt"
        path.write_bytes(b"\xef\xbb\xbf" + end.join(["one", "two", "", "three", ""]).encode())
        assert read_lines(path) == ["one", "two", "", "three", ""], name


def test_paragraphs_format_joins_wrapped_lines(tmp_path):
    text = "First line\nwrapped here.\n\n\n  Second   \n  para.\n \nThird.\n"
    (tmp_path / "book.txt").write_bytes(text.replace("\n", "\r\n").encode())
    docs = list(_read_documents(tmp_path / "book.txt", "paragraphs"))
    assert docs == [["First line wrapped here.", "Second para.", "Third."]]  # a file: one document
    (tmp_path / "other.txt").write_text("Other book.\n")
    out = load_corpus(spec(["book.txt", "other.txt"], format="paragraphs", seed=1), tmp_path)
    # documents are held out whole: one book is the validation split
    assert sorted(map(len, (out["train"], out["validation"]))) == [1, 3]


GUTENBERG = """\ufeffThe Project Gutenberg EBook of A Book, by Someone

This eBook is for the use of anyone anywhere at no cost.

*** START OF THIS PROJECT GUTENBERG EBOOK A BOOK ***




Produced by A Volunteer and the Online Distributed
Proofreading Team

There is an illustrated edition of this title

A BOOK

It was a dark night;
the rain fell.

End of the Project Gutenberg EBook of A Book, by Someone

*** END OF THIS PROJECT GUTENBERG EBOOK A BOOK ***

Section 1. General Terms of Use of the licence.
"""


def test_strip_gutenberg_header_licence_and_credits(tmp_path):
    from embryo.data.corpus import strip_gutenberg

    (tmp_path / "b.txt").write_bytes(GUTENBERG.replace("\n", "\r\r\n").encode())
    docs = list(_read_documents(tmp_path / "b.txt", "paragraphs", gutenberg=True))
    assert docs == [["A BOOK", "It was a dark night; the rain fell."]]
    kept = list(_read_documents(tmp_path / "b.txt", "paragraphs"))[0]
    assert kept[0].startswith("The Project Gutenberg EBook") and "licence" in kept[-1]
    # no markers (a book without them): only the opening credit paragraph goes
    assert strip_gutenberg(["Produced by X", "", "Text.", "More."]) == ["", "Text.", "More."]
    assert strip_gutenberg(["Text.", "Produced by X"]) == ["Text.", "Produced by X"]
    # the end marker alone ("End of Project Gutenberg's Etext") ends the text
    assert strip_gutenberg(["Text.", "End of Project Gutenberg's Etext of X", "licence"]) == [
        "Text."
    ]


def test_strip_gutenberg_needs_a_line_format(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    with pytest.raises(EmbryoError, match=r"corpora.books.strip_gutenberg: .*read as jsonl"):
        check_corpus("books", spec(["a.jsonl"], strip_gutenberg=True), tmp_path)


@pytest.mark.realdata
def test_real_gutenberg_books():
    """The eight books of ../shared/data/gutenberg, as distributed (BOM, CRLF, CR CR LF,
    hard-wrapped lines, the header and licence in two): each is one document of its
    paragraphs, none of Project Gutenberg's own text is left, and the licence of the two
    that have it is gone (the books hold about 1.0M words, by the data's README)."""
    books = sorted((SHARED_DATA / "gutenberg").glob("*.txt"))
    if len(books) != 8:
        pytest.skip(f"../shared/data is absent: {SHARED_DATA / 'gutenberg'} has {len(books)} books")
    words = 0
    for path in books:
        raw = list(_read_documents(path, "paragraphs"))[0]
        (paragraphs,) = list(_read_documents(path, "paragraphs", gutenberg=True))
        assert 500 < len(paragraphs) < len(raw), path.name
        assert not any("gutenberg" in p.lower() or "\r" in p for p in paragraphs), path.name
        assert not any(p.startswith(("Produced by", "Special thanks")) for p in paragraphs)
        # hard-wrapped lines are joined: a typical paragraph is longer than a wrapped line
        assert sorted(map(len, paragraphs))[len(paragraphs) // 2] > 80, path.name
        words += sum(len(p.split()) for p in paragraphs)
    assert 950_000 < words < 1_050_000
    (frankenstein,) = _read_documents(
        SHARED_DATA / "gutenberg" / "frankenstein.txt", "paragraphs", gutenberg=True
    )
    assert frankenstein[0] == "Frankenstein;" and frankenstein[-1].endswith(
        "darkness and distance."
    )


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 1 << 20])
def test_streamed_lines_are_the_whole_files_lines(tmp_path, chunk):
    """iter_lines reads a chunk at a time and splits exactly as read_lines does, whatever
    byte a chunk ends on: inside a multi-byte character, between CR and LF, in CR CR LF."""
    from embryo.data.corpus import iter_lines, read_lines

    path = tmp_path / "t.txt"
    path.write_bytes("\ufeffé one\r\r\ntwo\rthree\r\nfour ü\n\nfive\r".encode())
    assert list(iter_lines(path, chunk_bytes=chunk)) == read_lines(path)
    path.write_bytes(b"ok\nbad \xff byte\n")
    with pytest.raises(EmbryoError, match=r"t\.txt:2: not valid UTF-8"):
        list(iter_lines(path, chunk_bytes=chunk))


def test_streamed_preparation_is_the_in_memory_corpus_batch_by_batch(tmp_path, monkeypatch):
    """prepare_corpus writes record batches of BATCH texts; with a batch of 3, documents
    cross batch boundaries (a book's paragraphs, a mix's parts), and the Parquet files
    hold exactly load_corpus's texts and document numbers, in several row groups."""
    import embryo.data.corpus as corpus

    (tmp_path / "book.txt").write_text("".join(f"paragraph {i}\nwrapped\n\n" for i in range(7)))
    (tmp_path / "other.txt").write_text("last book\n")
    lines_file(tmp_path / "a.txt", 11)
    books = spec(["book.txt", "other.txt"], format="paragraphs", validation_files=["a.txt"])
    expected = load_corpus(books, tmp_path)
    monkeypatch.setattr(corpus, "BATCH", 3)
    parts = [tmp_path / "books", tmp_path / "lines"]
    for part, s in zip(parts, (books, spec(["a.txt"], validation_fraction=0.3)), strict=True):
        prepare_corpus(s, tmp_path, part / "train.parquet", part / "validation.parquet")
    table = pq.read_table(parts[0] / "train.parquet")
    assert pq.ParquetFile(parts[0] / "train.parquet").metadata.num_row_groups > 1
    assert table["text"].to_pylist() == expected["train"]
    assert table["doc"].to_pylist() == expected["train_docs"] == [0] * 7 + [1]
    mix = tmp_path / "mix"
    stats = prepare_corpus(
        {"source": "mix", "max_texts": 10},
        None,
        mix / "train.parquet",
        mix / "validation.parquet",
        part_dirs=parts,
    )
    train = pq.read_table(mix / "train.parquet")
    assert train["doc"].to_pylist() == [0] * 7 + [1, 2, 3]  # the lines: a document each
    assert stats["train"] == {
        "texts": 10,
        "documents": 4,
        "chars": sum(map(len, train["text"].to_pylist())),
    }
    validation = pq.read_table(mix / "validation.parquet")["doc"].to_pylist()
    # a.txt read as paragraphs (one text, one document), then the 3 held-out lines
    assert validation == [0, 1, 2, 3]


def test_hub_hold_out_streams_arrow_batches(monkeypatch):
    """A Hub split without a validation split: the held-out rows are those load_corpus
    held out in lists before (the same seeded choice), written batch by batch."""
    import datasets

    import embryo.data.corpus as corpus

    texts = [f"text {i}" if i % 4 else " " for i in range(40)]
    monkeypatch.setattr(
        datasets,
        "load_dataset",
        lambda *a, split, revision=None: datasets.Dataset.from_dict({"text": texts}),
    )
    hub = {"source": "hub", "hub_id": "org/c", "validation_fraction": 0.2, "seed": 4}
    monkeypatch.setattr(corpus, "BATCH", 7)
    out = load_corpus(hub, None)
    kept = [t for t in texts if t.strip()]
    import numpy as np

    held = set(np.random.default_rng(4).choice(len(kept), size=6, replace=False).tolist())
    assert out["validation"] == [t for i, t in enumerate(kept) if i in held]
    assert out["train"] == [t for i, t in enumerate(kept) if i not in held]
    assert out["train_docs"] == list(range(24)) and out["validation_docs"] == list(range(6))


def test_parquet_reads_hold_a_row_group_not_the_file(tmp_path):
    """open_parquet, and packing's exact batches over it, read a row group at a time:
    reading a 48 MB file of 48 row groups through them allocates a few row groups' worth
    of Arrow memory, where pyarrow's default pre-buffering holds the whole file (the
    cause of packing's memory growing with the corpus). In a fresh process, so that the
    pool's high-water mark is this read's."""
    import numpy as np

    rng = np.random.default_rng(0)
    path = tmp_path / "big.parquet"
    with pq.ParquetWriter(
        path, pa.schema([("text", pa.string()), ("doc", pa.int64())]), compression="none"
    ) as writer:
        for group in range(48):
            texts = [rng.bytes(500).hex() for _ in range(1000)]  # 1 MB of text a group
            writer.write_table(pa.table({"text": texts, "doc": [group] * 1000}))
    probe = """
import sys, pyarrow as pa, pyarrow.parquet as pq
from embryo.data.blocks import _batches
from embryo.data.records import open_parquet
path, how = sys.argv[1], sys.argv[2]
if how == "default":
    reader = pq.ParquetFile(path).iter_batches(batch_size=1000)
elif how == "open_parquet":
    reader = open_parquet(path, required=("text",)).iter_batches(batch_size=1000)
else:  # packing's batches of 700 rows, across row groups of 1000
    reader = _batches(open_parquet(path), ["text", "doc"], 0, 48_000, 700)
rows = sum(len(batch) for batch in reader)
print(rows, pa.default_memory_pool().max_memory() / 2**20)
"""

    def peak(how):
        out = subprocess.run(
            [sys.executable, "-c", probe, str(path), how],
            capture_output=True,
            text=True,
            check=True,
        )
        rows, megabytes = out.stdout.split()
        assert int(rows) == 48_000
        return float(megabytes)

    assert peak("default") > 40  # the file, held: what this test guards against
    assert peak("open_parquet") < 12
    assert peak("batches") < 12
