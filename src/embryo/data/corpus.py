"""Load a pretraining corpus (local text / WikiText / JSON lines / Parquet, or a Hub dataset).

A corpus is read as a list of *documents*, each a list of texts (paragraphs or lines):
a WikiText article is one document, and so is a file read as ``paragraphs`` (a book: its
paragraphs, separated by blank lines, are its texts, each with its hard-wrapped lines joined);
in every other format each text is its own document. ``strip_gutenberg`` drops Project
Gutenberg's header and licence from text, paragraph and WikiText files before they are read
(:func:`strip_gutenberg`).
Without validation files (or a validation split) a ``validation_fraction`` of the
documents is held out, chosen from ``seed``; texts are never shared between splits.
Heavy libraries (numpy, pyarrow, datasets) are imported inside the functions that use them.
"""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from embryo.data.records import open_parquet
from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError, where

FORMATS = ("text", "paragraphs", "wikitext", "jsonl", "parquet")
SPLITS = ("train", "validation")
BATCH = 16_384  # texts a Parquet write (and a Hub or Parquet read) holds
_EXTENSIONS = {
    ".txt": "text",
    ".text": "text",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
_HEADING = re.compile(r"((?:= )+)(.*?)((?: =)+)")  # "= Title =", "= = Section = =", ...
_JOINS = {" @-@ ": "-", " @,@ ": ",", " @.@ ": "."}
# a line end: LF, CRLF, bare CR, or CR CR LF (a CRLF file converted to CRLF once more)
_LINE_END = re.compile(r"\r*\n|\r")
# Project Gutenberg's own markers around a book (strip_gutenberg): the line that ends the
# header, the line that starts the footer (licence), and credit lines opening the text
_GUTENBERG_START = re.compile(r"\*{3} ?START OF (THE|THIS) PROJECT GUTENBERG", re.IGNORECASE)
_GUTENBERG_END = re.compile(
    r"\*{3} ?END OF (THE|THIS) PROJECT GUTENBERG|END OF (THE )?PROJECT GUTENBERG'?S? (E-?BOOK|ETEXT)",
    re.IGNORECASE,
)
_GUTENBERG_CREDIT = re.compile(
    r"(Produced by|E-?text prepared by|This e-?(text|book) was (prepared|produced) by|"
    r"Transcribed from|Special thanks are due to|There is an illustrated edition)",
    re.IGNORECASE,
)


def _resolve(patterns, data_dir, key: str | None = None) -> list[Path]:
    """Resolve file names and glob patterns against ``data_dir``; every one must match."""
    base = Path(data_dir) if data_dir is not None else Path()
    label = f" (config key {key})" if key else ""
    paths: list[Path] = []
    for pattern in patterns or []:
        full = Path(pattern) if Path(pattern).is_absolute() else base / pattern
        if any(c in str(pattern) for c in "*?["):
            found = sorted(
                p for p in map(Path, glob.glob(str(full), recursive=True)) if p.is_file()
            )
            if not found:
                raise EmbryoError(f"{full}{label}: the glob pattern matches no file")
            paths.extend(found)
        elif not full.is_file():
            raise EmbryoError(f"{full}{label}: file not found")
        else:
            paths.append(full)
    return paths


def _format_of(path: Path, fmt: str) -> str:
    """The format to read ``path`` with: ``fmt``, or for "auto" the one its extension implies."""
    if fmt != "auto":
        if fmt not in FORMATS:
            raise EmbryoError(f"{path}: unknown format {fmt!r}; expected auto or one of {FORMATS}")
        return fmt
    if path.suffix.lower() not in _EXTENSIONS:
        raise EmbryoError(
            f"{path}: cannot tell the format from the extension {path.suffix!r}; use "
            f".txt/.text (text), .jsonl/.json (jsonl) or .parquet, or set format to one of "
            f"{FORMATS}"
        )
    return _EXTENSIONS[path.suffix.lower()]


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 file (a byte-order mark is dropped); bad bytes name file:line.

    Lines end in LF, CRLF or a bare CR, and ``\\r\\r\\n`` (a CRLF file whose line ends
    were converted once more, as some Project Gutenberg files are) is one line end too.
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = len(_LINE_END.findall(data[: e.start].decode("utf-8", "replace"))) + 1
        raise EmbryoError(f"{where(path, line)}: not valid UTF-8 ({e.reason})") from None
    return _LINE_END.split(text)


def strip_gutenberg(lines: list[str]) -> list[str]:
    """A Project Gutenberg file's lines without its header and its licence.

    The header is everything up to Project Gutenberg's ``*** START OF THE (or THIS)
    PROJECT GUTENBERG EBOOK ... ***`` line, that line included; the footer everything
    from its ``*** END OF ...`` line or its ``End of the Project Gutenberg EBook of ...``
    line on (the two forms these files use; the licence follows either). A file without
    a marker keeps that end. Then the credit paragraphs that open many books (``Produced
    by ...``, ``E-text prepared by ...``, ``There is an illustrated edition ...``) are
    dropped too, as long as they come before any other text.
    The markers are Project Gutenberg's own (https://www.gutenberg.org/policy/ and the
    files); this is the rule of c-w/gutenberg's ``strip_headers`` narrowed to them.
    """
    start = next((i + 1 for i, line in enumerate(lines) if _GUTENBERG_START.match(line.strip())), 0)
    end = next(
        (i for i, line in enumerate(lines) if i >= start and _GUTENBERG_END.match(line.strip())),
        len(lines),
    )
    kept = lines[start:end]
    while True:
        first = next((i for i, line in enumerate(kept) if line.strip()), len(kept))
        if first == len(kept) or not _GUTENBERG_CREDIT.match(kept[first].strip()):
            return kept
        kept = kept[next((i for i in range(first, len(kept)) if not kept[i].strip()), len(kept)) :]


def iter_lines(path: Path, chunk_bytes: int = 1 << 20) -> Iterator[str]:
    """The lines of a UTF-8 file as :func:`read_lines` splits them, read ``chunk_bytes``
    at a time: memory holds a chunk, not the file. Bad bytes name file:line (the file is
    then read whole, once, to say where)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending = ""
    with open(path, "rb") as f:
        while True:
            data = f.read(chunk_bytes)
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError:
                read_lines(path)  # raises the error with its line
                raise
            buffer = pending + text
            if data:  # a line end may continue in the next chunk: keep trailing CRs back
                cut = len(buffer.rstrip("\r"))
                buffer, carried = buffer[:cut], buffer[cut:]
                *lines, pending = _LINE_END.split(buffer)
                pending += carried
                yield from lines
            else:
                yield from _LINE_END.split(buffer)
                return


def _paragraphs(lines: Iterable[str]) -> Iterator[str]:
    """Texts separated by blank lines, each with its (hard-wrapped) lines joined by a space."""
    paragraph: list[str] = []
    for line in lines:
        if line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            yield " ".join(paragraph)
            paragraph = []
    if paragraph:
        yield " ".join(paragraph)


def _read_wikitext(lines: Iterable[str]) -> Iterator[list[str]]:
    """Articles of the tokenized WikiText release: headings dropped, ``@-@`` joins restored."""
    doc: list[str] = []
    for line in lines:
        stripped = line.strip()
        heading = _HEADING.fullmatch(stripped)
        if heading:
            if heading.group(1) == "= ":  # a single "=" each side: a new article
                yield doc
                doc = []
            continue
        for joined, char in _JOINS.items():
            line = line.replace(joined, char)
        if line.strip():
            doc.append(line.strip())
    yield doc


def _read_jsonl(path: Path, field: str) -> Iterator[str]:
    """The ``field`` of every JSON object, one per (non-blank) line."""
    for number, line in enumerate(iter_lines(path), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise EmbryoError(f"{where(path, number)}: bad JSON: {e}") from None
        if not isinstance(obj, dict) or field not in obj:
            got = f"keys {sorted(obj)}" if isinstance(obj, dict) else type(obj).__name__
            raise EmbryoError(
                f"{where(path, number)}: expected an object with {field!r}; got {got}"
            )
        if not isinstance(obj[field], str):
            kind = type(obj[field]).__name__
            raise EmbryoError(f"{where(path, number)}: {field!r} should be a string, not {kind}")
        yield obj[field]


def _string_column(schema, field: str, name: str) -> None:
    """EmbryoError unless ``schema`` (Arrow) has a string column ``field``."""
    import pyarrow as pa

    if field not in schema.names:
        raise EmbryoError(f"{name}: no column {field!r}; columns present: {schema.names}")
    kind = schema.field(field).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise EmbryoError(f"{name}: column {field!r} should be strings, not {kind}")


def _read_parquet(path: Path, field: str) -> Iterator[str]:
    """The string column ``field`` of a Parquet file, a record batch at a time (nulls skipped)."""
    parquet = open_parquet(path)
    _string_column(parquet.schema_arrow, field, str(path))
    for batch in parquet.iter_batches(batch_size=BATCH, columns=[field]):
        yield from (t for t in batch.column(0).to_pylist() if t is not None)


def _read_documents(
    path: Path, fmt: str = "auto", field: str = "text", gutenberg: bool = False
) -> Iterator[list[str]]:
    """One file's documents (lists of texts), read as a stream; blank texts and documents
    dropped. A document is held whole (a WikiText article, a book in ``paragraphs``).

    ``gutenberg``: drop Project Gutenberg's header and licence first (text, paragraphs and
    wikitext formats; :func:`strip_gutenberg`; such a file is read whole, as a book is).
    """
    fmt = _format_of(path, fmt)
    if fmt in ("text", "paragraphs", "wikitext"):
        lines = strip_gutenberg(read_lines(path)) if gutenberg else iter_lines(path)
    if fmt == "wikitext":
        docs = _read_wikitext(lines)
    elif fmt == "paragraphs":
        docs = iter([list(_paragraphs(lines))])
    elif fmt == "text":
        docs = ([line.strip()] for line in lines)
    elif fmt == "jsonl":
        docs = ([t] for t in _read_jsonl(path, field))
    else:
        docs = ([t] for t in _read_parquet(path, field))
    for doc in docs:
        if kept := [t for t in doc if t.strip()]:
            yield kept


def _hub_split(spec: dict, split: str):
    """One split of a Hugging Face Hub dataset: memory-mapped Arrow (datasets' cache), its
    text column checked; returned with its name for messages."""
    import datasets

    hub_id, field = spec["hub_id"], spec.get("text_field") or "text"
    name = f"{hub_id} (split {split!r})"
    ds = datasets.load_dataset(
        hub_id, spec.get("hub_config"), split=split, revision=spec.get("revision")
    )
    _string_column(ds.with_format("arrow")[:0].schema, field, name)
    return ds.select_columns([field]).with_format("arrow"), name


def _hub_batches(ds) -> Iterator:
    """The non-blank texts of a Hub split, an Arrow array a batch (no Python strings)."""
    import pyarrow.compute as pc

    for table in ds.iter(batch_size=BATCH):
        texts = table.column(0).combine_chunks()
        keep = pc.and_kleene(
            pc.is_valid(texts), pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(texts)), 0)
        )
        yield texts.filter(pc.fill_null(keep, False))


def _held_out(n_docs: int, fraction: float, seed: int, name: str):
    """Which of ``n_docs`` documents the validation split holds: ``fraction`` of them,
    chosen from ``seed`` (a boolean mask; the choice of earlier versions, which held the
    documents in lists)."""
    import numpy as np

    if not n_docs:
        raise EmbryoError(f"{name}: empty corpus, no text found")
    if n_docs < 2:
        raise EmbryoError(
            f"{name}: a single document cannot be split into train and validation; "
            "give validation files (or a validation split) or more documents"
        )
    n_val = min(max(1, round(fraction * n_docs)), n_docs - 1)
    held = np.zeros(n_docs, dtype=bool)
    held[np.random.default_rng(seed).choice(n_docs, size=n_val, replace=False)] = True
    return held


# The built-in language's corpus, in its generated mirror (see embryo.data.builtin).
BUILTIN_FILES = {"files": ["corpus/train.txt"], "validation_files": ["corpus/valid.txt"]}


def as_local(spec: dict) -> dict:
    """A ``builtin`` corpus is a local one over the generated mirror (``data_dir`` = that mirror):
    its ``corpus/`` files in WikiText format, unless the spec names others."""
    if spec.get("source") != "builtin":
        return spec
    local = {**spec, "source": "local"}
    for key, default in BUILTIN_FILES.items():
        local[key] = spec.get(key) or default
    if spec.get("format", "auto") == "auto":
        local["format"] = "wikitext"
    return local


def input_files(spec: dict, data_dir) -> list[str]:
    """The local files a corpus reads (train and validation), for Snakemake's ``input``."""
    if spec["source"] != "local":
        return []
    files = _resolve(spec.get("files"), data_dir) + _resolve(spec.get("validation_files"), data_dir)
    return [str(p) for p in files]


def check_corpus(name: str, spec: dict, data_dir: str | Path | None) -> None:
    """Fast parse-time check: every local file exists (and has a known format), or hub_id is set.

    Builtin corpora are generated by the workflow and a mix's parts are checked on their
    own, so there is nothing to check for them yet.
    """
    if spec.get("source") in ("builtin", "mix"):
        return
    if spec.get("source", "local") == "hub":
        if not spec.get("hub_id"):
            raise EmbryoError(f"corpora.{name}.hub_id: required when source is 'hub'")
        return
    if not spec.get("files"):
        raise EmbryoError(f"corpora.{name}.files: at least one file is required")
    for key in ("files", "validation_files"):
        for path in _resolve(spec.get(key), data_dir, f"corpora.{name}.{key}"):
            fmt = _format_of(path, spec.get("format", "auto"))
            if spec.get("strip_gutenberg") and fmt in ("jsonl", "parquet"):
                raise EmbryoError(
                    f"corpora.{name}.strip_gutenberg: applies to text, paragraphs and "
                    f"wikitext files; {path} is read as {fmt}"
                )


class _SplitWriter:
    """Texts and their document numbers appended in order, written to Parquet a batch at a
    time (columns ``text``, ``doc``); documents numbered from 0 in the order they come.
    ``limit``: keep only the first that many texts (``max_texts``)."""

    def __init__(self, path, limit: int | None = None):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.schema = pa.schema([("text", pa.string()), ("doc", pa.int64())])
        self.writer = pq.ParquetWriter(path, self.schema) if path is not None else None
        self.limit, self.texts, self.docs = limit, [], []
        self.stats = {"texts": 0, "documents": 0, "chars": 0}
        self.collected = {"texts": [], "docs": []}  # without a path: kept (load_corpus)
        self.last_source = None  # add_arrow's last source document (a mix's part)

    def full(self) -> bool:
        return self.limit is not None and self.stats["texts"] + len(self.texts) >= self.limit

    def add_document(self, texts: list[str]) -> None:
        """One document's texts (a list of Python strings: local files are parsed)."""
        if self.full():
            return
        if self.limit is not None:
            texts = texts[: self.limit - self.stats["texts"] - len(self.texts)]
        number = (self.docs[-1] + 1) if self.docs else self.stats["documents"]
        self.texts += texts
        self.docs += [number] * len(texts)
        if len(self.texts) >= BATCH:
            self.flush()

    def add_arrow(self, texts, docs=None) -> None:
        """A batch of texts as an Arrow array, each its own document unless ``docs``
        (the documents' numbers in their source, consecutive texts sharing one) says."""
        import numpy as np
        import pyarrow as pa

        self.flush()
        if self.full() or len(texts) == 0:
            return
        if self.limit is not None:
            texts = texts.slice(0, self.limit - self.stats["texts"])
            docs = docs.slice(0, len(texts)) if docs is not None else None
        if docs is None:
            numbers = np.arange(len(texts)) + self.stats["documents"]
        else:  # renumbered from this split's next document, in order
            source = docs.to_numpy(zero_copy_only=False)
            new = np.concatenate([[True], source[1:] != source[:-1]])
            if self.last_source is not None and source[0] == self.last_source:
                new[0] = False
            numbers = np.cumsum(new) - 1 + self.stats["documents"]  # a continued one: its own
            self.last_source = source[-1]
        self._write(texts.cast(pa.string()), pa.array(numbers, type=pa.int64()))

    def flush(self) -> None:
        import pyarrow as pa

        if self.texts:
            texts, docs = self.texts, self.docs
            self.texts, self.docs = [], []
            self._write(pa.array(texts, type=pa.string()), pa.array(docs, type=pa.int64()))

    def _write(self, texts, docs) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.writer is not None:
            self.writer.write_table(pa.Table.from_arrays([texts, docs], schema=self.schema))
        else:
            self.collected["texts"] += texts.to_pylist()
            self.collected["docs"] += docs.to_pylist()
        self.stats["texts"] += len(texts)
        self.stats["chars"] += pc.sum(pc.utf8_length(texts)).as_py() or 0
        self.stats["documents"] = docs[-1].as_py() + 1 if len(docs) else self.stats["documents"]

    def close(self) -> dict:
        self.flush()
        if self.writer is not None:
            self.writer.close()
        return self.stats


def _write_splits(spec: dict, data_dir, writers: dict) -> tuple[str, str]:
    """Stream a (non-mix) corpus into the two :class:`_SplitWriter`: a Hub split as Arrow
    batches, local files a document at a time; without a validation split or files, a
    ``validation_fraction`` of the documents held out (:func:`_held_out`: a first pass
    counts them, the second writes). Returns the names of the train and validation
    sources, for messages."""
    spec = as_local(spec)
    fraction, seed = spec.get("validation_fraction", 0.05), spec.get("seed", 0)
    if spec.get("source", "local") == "hub":
        name = f"hub dataset {spec.get('hub_id')}"
        train, _ = _hub_split(spec, spec.get("split") or "train")
        if spec.get("validation_split"):
            for texts in _hub_batches(train):
                writers["train"].add_arrow(texts)
            validation, _ = _hub_split(spec, spec["validation_split"])
            for texts in _hub_batches(validation):
                writers["validation"].add_arrow(texts)
        else:
            import pyarrow as pa

            held = _held_out(sum(len(t) for t in _hub_batches(train)), fraction, seed, name)
            start = 0
            for texts in _hub_batches(train):
                mask = held[start : start + len(texts)]
                start += len(texts)
                writers["train"].add_arrow(texts.filter(pa.array(~mask)))
                writers["validation"].add_arrow(texts.filter(pa.array(mask)))
        return name, name
    how = (
        spec.get("format", "auto"),
        spec.get("text_field") or "text",
        bool(spec.get("strip_gutenberg")),
    )
    files = _resolve(spec.get("files"), data_dir)
    val_files = _resolve(spec.get("validation_files"), data_dir)
    name = ", ".join(map(str, files)) or "(no files given)"

    def documents(paths):
        return (doc for path in paths for doc in _read_documents(path, *how))

    if val_files:
        for doc in documents(files):
            writers["train"].add_document(doc)
        for doc in documents(val_files):
            writers["validation"].add_document(doc)
        return name, ", ".join(map(str, val_files))
    held = _held_out(sum(1 for _ in documents(files)), fraction, seed, name)
    for i, doc in enumerate(documents(files)):
        writers["validation" if held[i] else "train"].add_document(doc)
    return name, name


def _check_splits(stats: dict, names: tuple[str, str]) -> None:
    if not stats["train"]["texts"]:
        raise EmbryoError(f"{names[0]}: empty corpus, no training text found")
    if not stats["validation"]["texts"]:
        raise EmbryoError(f"{names[1]}: empty validation split, no text found")


def _splits(spec: dict, data_dir, outputs: dict, part_dirs=()) -> dict:
    """Write both splits of a corpus (to Parquet files, or kept when an output is None)."""
    if spec.get("max_texts") is not None and spec["max_texts"] < 1:
        raise EmbryoError(f"max_texts: expected a positive integer, got {spec['max_texts']}")
    writers = {
        "train": _SplitWriter(outputs["train"], spec.get("max_texts")),
        "validation": _SplitWriter(outputs["validation"]),
    }
    try:
        if spec["source"] == "mix":
            _write_mix(part_dirs, writers)
            names = (f"mix of {len(part_dirs)} parts",) * 2
        else:
            names = _write_splits(spec, data_dir, writers)
    finally:  # the Parquet files are complete (or, on an error, closed for removal)
        stats = {split: writers[split].close() for split in SPLITS}
    _check_splits(stats, names)
    return {split: writers[split] for split in SPLITS} | {"stats": stats}


def _write_mix(part_dirs, writers) -> None:
    """A mix corpus: its prepared parts' splits in order, each part's documents numbered
    after the previous part's, streamed a record batch at a time."""
    for split in SPLITS:
        for d in part_dirs:
            writers[split].last_source = None  # a part's first document is a new one
            parquet = open_parquet(Path(d) / f"{split}.parquet", required=("text",))
            has_docs = "doc" in parquet.schema_arrow.names
            for batch in parquet.iter_batches(batch_size=BATCH):
                texts = batch.column("text")
                writers[split].add_arrow(texts, batch.column("doc") if has_docs else None)


def load_corpus(spec: dict, data_dir: str | Path | None) -> dict[str, list]:
    """Load a corpus spec as {"train": [texts], "validation": [texts], "train_docs":
    [document number of each text], "validation_docs": [...]}: the texts of a document
    are consecutive and share its number (a Hub row, a line of a text file: a document
    of its own), so that sentence-order pairs can stay within one document.

    In memory, for small corpora and notebooks; the workflow streams the same splits to
    Parquet (:func:`prepare_corpus`)."""
    done = _splits(spec, data_dir, {"train": None, "validation": None})
    return {
        **{split: done[split].collected["texts"] for split in SPLITS},
        **{f"{split}_docs": done[split].collected["docs"] for split in SPLITS},
    }


def prepare_corpus(spec: dict, data_dir, train_out, validation_out, part_dirs=()) -> dict:
    """Stream a corpus from its source into two Parquet files, written atomically: ``text``
    and ``doc`` (the text's document number, :func:`load_corpus`), a record batch of
    ``BATCH`` texts at a time, so that memory stays flat however large the corpus is
    (a Hub dataset is read from datasets' memory-mapped Arrow cache; a local file a chunk,
    a document at a time; a ``mix`` from its parts' prepared directories ``part_dirs``).
    Returns {"train": {"texts": n, "documents": d, "chars": c}, "validation": {...}}.
    """
    with atomic_path(train_out) as train_tmp, atomic_path(validation_out) as val_tmp:
        done = _splits(spec, data_dir, {"train": train_tmp, "validation": val_tmp}, part_dirs)
    return done["stats"]
