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
from pathlib import Path

from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError, where

FORMATS = ("text", "paragraphs", "wikitext", "jsonl", "parquet")
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


def _paragraphs(lines: list[str]) -> list[str]:
    """Texts separated by blank lines, each with its (hard-wrapped) lines joined by a space."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [" ".join(p) for p in paragraphs if p]


def _read_wikitext(lines: list[str]) -> list[list[str]]:
    """Articles of the tokenized WikiText release: headings dropped, ``@-@`` joins restored."""
    docs: list[list[str]] = [[]]
    for line in lines:
        stripped = line.strip()
        heading = _HEADING.fullmatch(stripped)
        if heading:
            if heading.group(1) == "= ":  # a single "=" each side: a new article
                docs.append([])
            continue
        for joined, char in _JOINS.items():
            line = line.replace(joined, char)
        if line.strip():
            docs[-1].append(line.strip())
    return docs


def _read_jsonl(path: Path, field: str) -> list[str]:
    """The ``field`` of every JSON object, one per (non-blank) line."""
    texts = []
    for number, line in enumerate(read_lines(path), start=1):
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
        texts.append(obj[field])
    return texts


def _read_parquet(path: Path, field: str) -> list[str]:
    """The string column ``field`` of a Parquet file (nulls are skipped)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise EmbryoError(f"{path}: cannot read as Parquet: {e}") from None
    if field not in table.column_names:
        raise EmbryoError(f"{path}: no column {field!r}; columns present: {table.column_names}")
    column = table.column(field)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise EmbryoError(f"{path}: column {field!r} should be strings, not {column.type}")
    return [t for t in column.to_pylist() if t is not None]


def _read_documents(
    path: Path, fmt: str = "auto", field: str = "text", gutenberg: bool = False
) -> list[list[str]]:
    """One file as a list of documents (lists of texts); blank texts and documents dropped.

    ``gutenberg``: drop Project Gutenberg's header and licence first (text, paragraphs and
    wikitext formats; :func:`strip_gutenberg`).
    """
    fmt = _format_of(path, fmt)
    if fmt in ("text", "paragraphs", "wikitext"):
        lines = read_lines(path)
        lines = strip_gutenberg(lines) if gutenberg else lines
    if fmt == "wikitext":
        docs = _read_wikitext(lines)
    elif fmt == "paragraphs":
        docs = [_paragraphs(lines)]
    elif fmt == "text":
        docs = [[line.strip()] for line in lines]
    elif fmt == "jsonl":
        docs = [[t] for t in _read_jsonl(path, field)]
    else:
        docs = [[t] for t in _read_parquet(path, field)]
    return [kept for doc in docs if (kept := [t for t in doc if t.strip()])]


def _hub_texts(spec: dict, split: str) -> list[str]:
    """The non-blank texts of one split of a Hugging Face Hub dataset."""
    import datasets

    hub_id, field = spec["hub_id"], spec.get("text_field") or "text"
    name = f"{hub_id} (split {split!r})"
    ds = datasets.load_dataset(
        hub_id, spec.get("hub_config"), split=split, revision=spec.get("revision")
    )
    if field not in ds.column_names:
        raise EmbryoError(f"{name}: no column {field!r}; columns present: {ds.column_names}")
    texts = [t for t in ds[field] if t is not None]
    for t in texts:
        if not isinstance(t, str):
            raise EmbryoError(f"{name}: column {field!r} should be strings, not {type(t).__name__}")
    return [t for t in texts if t.strip()]


def _numbered(docs: list[list[str]]) -> list[int]:
    """The document number of every text of ``docs``, in order (0, 0, 1, 2, 2, ...)."""
    return [i for i, doc in enumerate(docs) for _ in doc]


def _hold_out(docs: list[list[str]], fraction: float, seed: int, name: str):
    """Split documents into (train, validation) documents, holding out ``fraction`` of them."""
    import numpy as np

    if not docs:
        raise EmbryoError(f"{name}: empty corpus, no text found")
    if len(docs) < 2:
        raise EmbryoError(
            f"{name}: a single document cannot be split into train and validation; "
            "give validation files (or a validation split) or more documents"
        )
    n_val = min(max(1, round(fraction * len(docs))), len(docs) - 1)
    held = set(np.random.default_rng(seed).choice(len(docs), size=n_val, replace=False).tolist())
    train = [doc for i, doc in enumerate(docs) if i not in held]
    validation = [doc for i, doc in enumerate(docs) if i in held]
    return train, validation


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


def load_corpus(spec: dict, data_dir: str | Path | None) -> dict[str, list]:
    """Load a corpus spec as {"train": [texts], "validation": [texts], "train_docs":
    [document number of each text], "validation_docs": [...]}: the texts of a document
    are consecutive and share its number (a Hub row, a line of a text file: a document
    of its own), so that sentence-order pairs can stay within one document."""
    spec = as_local(spec)
    fraction, seed = spec.get("validation_fraction", 0.05), spec.get("seed", 0)
    if spec.get("source", "local") == "hub":
        name = f"hub dataset {spec.get('hub_id')}"
        train = [[t] for t in _hub_texts(spec, spec.get("split") or "train")]
        if spec.get("validation_split"):
            validation = [[t] for t in _hub_texts(spec, spec["validation_split"])]
        else:
            train, validation = _hold_out(train, fraction, seed, name)
    else:
        how = (spec.get("format", "auto"), spec.get("text_field") or "text")
        how += (bool(spec.get("strip_gutenberg")),)
        files = _resolve(spec.get("files"), data_dir)
        val_files = _resolve(spec.get("validation_files"), data_dir)
        name = ", ".join(map(str, files)) or "(no files given)"
        docs = [doc for path in files for doc in _read_documents(path, *how)]
        if val_files:
            train = docs
            validation = [doc for path in val_files for doc in _read_documents(path, *how)]
            if train and not validation:
                name = ", ".join(map(str, val_files))
        else:
            train, validation = _hold_out(docs, fraction, seed, name)
    if not train:
        raise EmbryoError(f"{name}: empty corpus, no training text found")
    if not validation:
        raise EmbryoError(f"{name}: empty validation split, no text found")
    out = {
        "train": [t for doc in train for t in doc],
        "validation": [t for doc in validation for t in doc],
        "train_docs": _numbered(train),
        "validation_docs": _numbered(validation),
    }
    if spec.get("max_texts") is not None:
        if spec["max_texts"] < 1:
            raise EmbryoError(f"max_texts: expected a positive integer, got {spec['max_texts']}")
        out["train"] = out["train"][: spec["max_texts"]]
        out["train_docs"] = out["train_docs"][: spec["max_texts"]]
    return out


def mix_splits(part_dirs) -> dict[str, list]:
    """A mix corpus: the train and validation texts of its prepared parts, concatenated in
    order, each part's documents numbered after the previous part's (as :func:`load_corpus`).

    ``part_dirs`` are the parts' prepared directories (``train.parquet`` and
    ``validation.parquet`` each), so every part is loaded, and held out, once.
    """
    import pyarrow.parquet as pq

    out: dict[str, list] = {}
    for split in ("train", "validation"):
        texts, docs, offset = [], [], 0
        for d in part_dirs:
            table = pq.read_table(Path(d) / f"{split}.parquet")
            part = table["doc"].to_pylist() if "doc" in table.column_names else range(len(table))
            texts += table["text"].to_pylist()
            docs += [offset + i for i in part]
            offset = docs[-1] + 1 if docs else offset
        out[split], out[f"{split}_docs"] = texts, docs
    return out


def prepare_corpus(spec: dict, data_dir, train_out, validation_out, part_dirs=()) -> dict:
    """Load a corpus and write each split atomically as Parquet: ``text`` and ``doc`` (the
    text's document number, :func:`load_corpus`).

    A ``mix`` corpus reads its parts' prepared directories ``part_dirs``. Returns
    {"train": {"texts": n, "chars": c}, "validation": {...}}.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    splits = mix_splits(part_dirs) if spec["source"] == "mix" else load_corpus(spec, data_dir)
    if spec["source"] == "mix" and spec.get("max_texts") is not None:
        splits["train"] = splits["train"][: spec["max_texts"]]
        splits["train_docs"] = splits["train_docs"][: spec["max_texts"]]
    stats = {}
    for split, out in (("train", train_out), ("validation", validation_out)):
        texts, docs = splits[split], splits[f"{split}_docs"]
        table = pa.table(
            {"text": pa.array(texts, type=pa.string()), "doc": pa.array(docs, type=pa.int64())}
        )
        with atomic_path(out) as tmp:
            pq.write_table(table, tmp)
        stats[split] = {"texts": len(texts), "documents": len(set(docs)),
                        "chars": sum(map(len, texts))}  # fmt: skip
    return stats
