"""Records read from files with errors that name them: JSON lines with string fields
(LAMA, BLiMP, tasks; file:line) and Parquet files read a row group at a time (corpora)."""

from __future__ import annotations

import json
from pathlib import Path

from embryo.runtime.errors import EmbryoError, where


def read_records(path: Path, required: tuple[str, ...]):
    """Yield ``(line number, record)`` of a JSON-lines file; EmbryoError naming file:line.

    Blank lines are skipped; every record must be an object whose ``required`` fields
    are non-empty strings.
    """
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise EmbryoError(f"{where(path, n)}: not valid JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise EmbryoError(f"{where(path, n)}: expected a JSON object")
            for key in required:
                if not isinstance(record.get(key), str) or not record[key]:
                    raise EmbryoError(f"{where(path, n)}: missing or empty string field {key!r}")
            yield n, record


#: Bytes a Parquet read buffers from the file at a time.
PARQUET_BUFFER = 1 << 20


def open_parquet(path, required: tuple[str, ...] = ()):
    """``pyarrow.parquet.ParquetFile`` of ``path`` whose reads hold one row group at a
    time; EmbryoError naming the file if it cannot be read or lacks a ``required`` column.

    pyarrow's default ``pre_buffer=True`` keeps every column chunk it has fetched until
    the reader is closed, so that ``iter_batches`` over a whole file holds the file in
    memory (measured here with pyarrow 26: 672 MB of Arrow allocations for a 677 MB file,
    38 MB without it); a buffered stream of :data:`PARQUET_BUFFER` bytes reads as fast.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=PARQUET_BUFFER)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise EmbryoError(f"{where(path)}: cannot read as Parquet ({exc})") from exc
    names = parquet.schema_arrow.names
    missing = [column for column in required if column not in names]
    if missing:
        raise EmbryoError(f"{where(path)}: expected a {missing[0]!r} column, found {names}")
    return parquet
