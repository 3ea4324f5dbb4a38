"""GLUE-format fine-tuning tasks, described by data: files, columns, label type, metrics.

A task spec (``config["tasks"][name]``, see ``config/schema.yaml``) names a train and a
dev split, the text column(s) (one for single-sentence tasks such as SST-2 or CoLA, two
for sentence pairs such as MRPC or STS-B), the label column, whether labels are classes
or a regression score, and the metrics to report (the first is the task's headline
metric). Columns are header names or 0-based positions; positions read GLUE files whose
header names differ between splits (SST-2's dev file calls its text ``content``) or that
have no header (CoLA).

Files are read as distributed: tab-separated with no quoting (MRPC has unbalanced
quotes), with or without a header, a byte-order mark or Windows line ends. A row with
too few fields or a label outside the label set fails with its file and line.

:func:`prepare_task` tokenises both splits once per tokenizer (pairs as ``[CLS] a [SEP]
b [SEP]``, longest-first truncation to ``max_length``) into Parquet files that every
fine-tuning job of that tokenizer reads.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from embryo.data.corpus import read_lines
from embryo.data.qa import QA, QA_METRICS, prepare_qa
from embryo.data.records import read_records
from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError, where

SPLITS = ("train", "dev")
MIN_LABEL_SHARE = 0.01  # a training label this rare and absent from dev is a typo
DEFAULT_METRICS = {
    "classification": ["accuracy"],
    "regression": ["pearson", "spearman"],
    QA: QA_METRICS,
}
_FORMATS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl"}


def metrics_of(spec: dict) -> list[str]:
    """The task's metrics, headline first (defaults: accuracy, or Pearson and Spearman)."""
    return list(spec.get("metrics") or DEFAULT_METRICS[spec["type"]])


def _format(path: Path, spec: dict) -> str:
    fmt = spec.get("format", "auto")
    if fmt != "auto":
        return fmt
    if path.suffix.lower() not in _FORMATS:
        raise EmbryoError(
            f"{path}: cannot tell the format from the extension {path.suffix!r}; "
            f"use .tsv, .csv or .jsonl, or set the task's format"
        )
    return _FORMATS[path.suffix.lower()]


def _column(ref, header: list[str] | None, path: Path, n_fields: int) -> int:
    """The field index of a column reference (a header name or a 0-based position)."""
    if isinstance(ref, int):
        if ref >= n_fields:
            raise EmbryoError(
                f"{where(path, 1)}: column {ref} asked for, the row has {n_fields} fields"
            )
        return ref
    if header is None:
        raise EmbryoError(
            f"{path}: column {ref!r} is a name but the task has header: false; use a 0-based position"
        )
    if ref not in header:
        raise EmbryoError(f"{where(path, 1)}: no column {ref!r} in the header; columns: {header}")
    return header.index(ref)


def _delimited_rows(path: Path, delimiter: str):
    """Yield ``(line number, fields)``; the header's fields come first with number 0 when present."""
    lines = read_lines(path)
    while lines and not lines[-1].strip():
        lines.pop()
    if delimiter == "\t":
        rows = ((n, line.split("\t")) for n, line in enumerate(lines, 1))
    else:
        rows = enumerate(csv.reader(lines), 1)
    for n, fields in rows:
        if not any(f.strip() for f in fields):
            raise EmbryoError(f"{where(path, n)}: empty line")
        yield n, fields


def read_split(path, spec: dict) -> dict:
    """Read one split: ``{"line": [...], "text": [[a...], [b...]?], "label": [str...]}``."""
    path = Path(path)
    if not path.is_file():
        raise EmbryoError(f"{path}: task file not found")
    fmt = _format(path, spec)
    refs = list(spec["text"]) + [spec["label"]]
    out = {"line": [], "text": [[] for _ in spec["text"]], "label": []}
    if fmt == "jsonl":
        for n, record in read_records(path, ()):
            missing = [r for r in refs if r not in record]
            if missing:
                raise EmbryoError(f"{where(path, n)}: missing field(s) {missing}")
            _append(out, n, [str(record[r]) for r in refs])
        return out
    rows = _delimited_rows(path, "\t" if fmt == "tsv" else ",")
    header = None
    if spec.get("header", True):
        first = next(rows, None)
        if first is None:
            raise EmbryoError(f"{path}: empty file")
        header = [h.strip() for h in first[1]]
    index = None
    for n, fields in rows:
        if index is None:
            index = [_column(r, header, path, len(fields)) for r in refs]
        if len(fields) <= max(index):
            raise EmbryoError(
                f"{where(path, n)}: {len(fields)} tab/comma-separated fields, expected at least "
                f"{max(index) + 1} (columns {refs})"
            )
        _append(out, n, [fields[i] for i in index])
    if not out["line"]:
        raise EmbryoError(f"{path}: no rows")
    return out


def _first_rows(rows: dict, n: int) -> dict:
    return {
        "line": rows["line"][:n],
        "text": [column[:n] for column in rows["text"]],
        "label": rows["label"][:n],
    }


def _append(out: dict, n: int, values: list[str]) -> None:
    out["line"].append(n)
    for column, value in zip(out["text"], values, strict=False):
        column.append(value)
    out["label"].append(values[-1].strip())


def _hub_split(spec: dict, split: str) -> dict:
    from datasets import load_dataset

    data = load_dataset(
        spec["hub_id"], spec.get("hub_config"), split=spec[split], revision=spec.get("revision")
    )
    refs = list(spec["text"]) + [spec["label"]]
    missing = [r for r in refs if r not in data.column_names]
    if missing:
        raise EmbryoError(
            f"{spec['hub_id']} split {spec[split]!r}: no column(s) {missing}; columns: {data.column_names}"
        )
    return {
        "line": list(range(1, len(data) + 1)),
        "text": [list(map(str, data[r])) for r in spec["text"]],
        "label": [str(v).strip() for v in data[spec["label"]]],
    }


def load_task(spec: dict, root) -> dict:
    """Both splits of a task with labels encoded: ``{split: {"text", "label", "line"}, "labels"}``.

    Classification labels become indices into the label set (``spec["labels"]`` in that
    order, else the labels of the whole dev file and those of at least 1% (and two) of the
    training rows, sorted: a rarer training label is a typo, an error naming its file and
    line, not a class of its own); regression labels become floats.
    """
    splits = {}
    for split in SPLITS:
        if spec["source"] == "hub":
            splits[split] = _hub_split(spec, split)
        else:
            splits[split] = read_split(Path(root) / spec[split], spec)
    where_ = {s: (spec[s] if spec["source"] == "hub" else Path(root) / spec[s]) for s in SPLITS}
    labels = None
    if spec["type"] == "classification":
        # the label set: the config's, else the whole dev file's and any training label of
        # at least MIN_LABEL_SHARE (and two) of the training rows (a class the dev file
        # happens to lack); a rarer one (RTE's "maybe" once among thousands) is a typo
        given = spec.get("labels")
        if given:
            labels, source = [str(v) for v in given], "tasks.<task>.labels"
        else:
            counts = Counter(splits["train"]["label"])
            least = max(2, MIN_LABEL_SHARE * len(splits["train"]["label"]))
            common = {v for v, c in counts.items() if c >= least}
            labels = sorted(set(splits["dev"]["label"]) | common)
            source = (
                f"the labels of {where_['dev']} and those of at least "
                f"{MIN_LABEL_SHARE:.0%} (and 2) of the training rows; name a task's "
                "labels with tasks.<task>.labels"
            )
        if len(labels) < 2:
            raise EmbryoError(
                f"{where_['dev']}: a classification task needs at least 2 labels, found "
                f"{labels} ({source})"
            )
        code = {label: i for i, label in enumerate(labels)}
    for split in SPLITS:  # the first rows only (quick runs)
        if spec.get(f"max_{split}") is not None:
            splits[split] = _first_rows(splits[split], spec[f"max_{split}"])
    for split, rows in splits.items():
        encoded = []
        for n, value in zip(rows["line"], rows["label"], strict=True):
            if labels is not None:
                if value not in code:
                    raise EmbryoError(
                        f"{where(where_[split], n)}: label {value!r} is not one of {labels} "
                        f"({source})"
                    )
                encoded.append(code[value])
            else:
                try:
                    encoded.append(float(value))
                except ValueError:
                    raise EmbryoError(
                        f"{where(where_[split], n)}: regression label {value!r} is not a number"
                    ) from None
        rows["label"] = encoded
    return {**splits, "labels": labels}


def prepare_task(spec: dict, root, tokenizer_dir, out_dir, *, name: str, max_length: int) -> dict:
    """Tokenise a task's train and dev splits into ``out_dir``; return its ``task.json`` info.

    ``out_dir`` holds ``train.parquet`` and ``dev.parquet`` (``input_ids``,
    ``token_type_ids``, ``label``, ``line`` = the source line) and ``task.json`` (type,
    label set, metrics, row counts, how many rows were truncated).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from transformers import AutoTokenizer

    if spec["type"] == QA:
        return prepare_qa(spec, root, tokenizer_dir, out_dir, name=name, max_length=max_length)
    task = load_task(spec, root)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    info = {
        "name": name,
        "type": spec["type"],
        "labels": task["labels"],
        "num_labels": len(task["labels"]) if task["labels"] else 1,
        "metrics": metrics_of(spec),
        "max_length": max_length,
        "pair": len(spec["text"]) == 2,
    }
    with atomic_path(out_dir, directory=True) as tmp:
        for split in SPLITS:
            rows = task[split]
            enc = tokenizer(
                *rows["text"], truncation=True, max_length=max_length, return_token_type_ids=True
            )
            # only a row that fills max_length can have been cut: re-encode just those
            full = [i for i, ids in enumerate(enc["input_ids"]) if len(ids) == max_length]
            texts = [[column[i] for i in full] for column in rows["text"]]
            lengths = map(len, tokenizer(*texts)["input_ids"]) if full else []
            info[f"{split}_rows"] = len(rows["line"])
            info[f"{split}_truncated"] = sum(n > max_length for n in lengths)
            label_type = pa.int64() if task["labels"] else pa.float32()
            table = pa.table(
                {
                    "input_ids": pa.array(enc["input_ids"], type=pa.list_(pa.int32())),
                    "token_type_ids": pa.array(enc["token_type_ids"], type=pa.list_(pa.int8())),
                    "label": pa.array(rows["label"], type=label_type),
                    "line": pa.array(rows["line"], type=pa.int64()),
                }
            )
            pq.write_table(table, tmp / f"{split}.parquet")
        (tmp / "task.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def check_size(task_dir, n: int, name: str, keys=()) -> dict:
    """Check that a prepared task has ``n`` training rows (``task.json``) for the training
    subsets of that size; an error names the config ``keys`` that ask for it. Raised
    before any fine-tuning job on such a subset starts (rule task_sizes). Returns {task,
    n, train_rows}."""
    info_path = Path(task_dir) / "task.json"
    rows = json.loads(info_path.read_text())["train_rows"]
    if n > rows:
        raise EmbryoError(
            f"{' and '.join(keys) or 'a training-set size of the config'}: {n} training "
            f"examples asked for, but task {name} has {rows} training rows ({info_path}); "
            f"drop the size for this task (transferability.task_sizes.{name}, "
            "transferability.experiments, analyses.downstream.train_size)"
        )
    return {"task": name, "n": n, "train_rows": rows}


def max_train_rows(spec: dict, data_dir) -> int | None:
    """An upper bound on a local task's training rows (its lines, less a header); None if not local.

    Counted in binary blocks, without parsing, so that a training-set size no file can
    satisfy is refused at graph time, before any job runs.
    """
    if spec["source"] != "local" or spec.get("type") == QA:
        return None  # a QA task's rows are windows, known once it is prepared
    path = Path(data_dir) / spec["train"]
    lines, last = 0, b"\n"
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    lines += last != b"\n"  # a last line without its newline
    has_header = _format(path, spec) != "jsonl" and spec.get("header", True)
    cap = spec.get("max_train")
    return lines - has_header if cap is None else min(lines - has_header, cap)


def check_task(name: str, spec: dict, data_dir) -> None:
    """Check a local task before any job runs: files exist, named columns are in the header."""
    if spec["source"] != "local":
        return
    for split in SPLITS:
        path = Path(data_dir) / spec[split]
        if not path.is_file():
            raise EmbryoError(f"{path} (config key tasks.{name}.{split}): file not found")
        if spec.get("type") == QA:
            continue  # SQuAD JSON: read whole when prepared, each answer checked there
        fmt = _format(path, spec)
        names = [r for r in list(spec["text"]) + [spec["label"]] if isinstance(r, str)]
        if fmt == "jsonl" or not names:
            continue
        if not spec.get("header", True):
            raise EmbryoError(
                f"tasks.{name}: columns {names} are names but header is false; use 0-based positions"
            )
        with path.open(encoding="utf-8-sig") as fh:  # the header only: this runs at every dry run
            first = fh.readline().rstrip("\r\n")
        fields = first.split("\t") if fmt == "tsv" else next(csv.reader([first]), [])
        header = [h.strip() for h in fields]
        missing = [r for r in names if r not in header]
        if missing:
            raise EmbryoError(
                f"{where(path, 1)} (config key tasks.{name}): no column(s) {missing} in the header {header}"
            )
