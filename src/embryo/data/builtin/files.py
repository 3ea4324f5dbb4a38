"""Writers that reproduce the real data mirror's file formats, quirks included.

The quirks are those of the files in the shared data mirror (see its README.md): SST-2's
train file has CRLF line ends and a "label<TAB>sentence" header while its dev file has
"label<TAB>content"; CoLA has no header; both MRPC files start with a UTF-8 byte-order
mark; STS-B has GLUE's ten-column header. None of the texts holds a tab, a quote or a
newline, so every TSV reads with ``quoting=csv.QUOTE_NONE``.
"""

from __future__ import annotations

import json
from pathlib import Path

# file -> (header or None, line end, byte-order mark)
TSV_LAYOUT = {
    "glue/SST-2/train.tsv": ("label\tsentence", "\r\n", False),
    "glue/SST-2/dev.tsv": ("label\tcontent", "\n", False),
    "glue/CoLA/train.tsv": (None, "\n", False),
    "glue/CoLA/dev.tsv": (None, "\n", False),
    "glue/MRPC/train.tsv": ("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String", "\n", True),
    "glue/MRPC/dev.tsv": ("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String", "\n", True),
    "glue/STS-B/train.tsv": (
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore",
        "\n",
        False,
    ),
    "glue/STS-B/dev.tsv": (
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore",
        "\n",
        False,
    ),
}


def _check_cell(value) -> str:
    text = str(value)
    if any(c in text for c in '\t\n\r"'):
        raise ValueError(f"a TSV cell may not hold a tab, newline or quote: {text!r}")
    return text


def write_tsv(root: Path, name: str, rows) -> int:
    """Write ``rows`` (sequences of cells) to ``root/name`` in that file's layout."""
    header, newline, bom = TSV_LAYOUT[name]
    lines = [header] if header is not None else []
    lines += ["\t".join(_check_cell(c) for c in row) for row in rows]
    data = "".join(line + newline for line in lines).encode("utf-8")
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return len(lines) - (header is not None)


def write_jsonl(path: Path, records) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in records)
    path.write_text(text, encoding="utf-8")
    return text.count("\n")


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
