"""JSON-lines records with string fields, read with file:line errors (LAMA, BLiMP)."""

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
