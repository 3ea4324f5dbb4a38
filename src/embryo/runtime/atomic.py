"""Atomic outputs: write under a temporary name, rename when complete.

A job killed half-way leaves only a ``.tmp-*`` sibling, never a file or directory that
looks complete, so Snakemake (and a person) can trust every output that exists. The
output gets the permissions a plain ``open`` or ``mkdir`` gives under the user's umask
(the temporary one is private, as ``tempfile`` makes it, until it is renamed), and its
data reach the disk before the rename, the rename itself after it (``fsync`` of every
file, of the directories, then of the parent): a power cut or a crashed node leaves the
old output or the whole new one, never a complete-looking name over missing data.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file, or a directory's entries) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        if not path.is_dir():  # some filesystems cannot sync a directory: the files are
            raise
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    """Flush a file, or every file and directory of a tree, deepest first."""
    if path.is_dir():
        for root, _dirs, files in os.walk(path, topdown=False):
            for name in files:
                if not os.path.islink(os.path.join(root, name)):
                    _fsync(Path(root, name))
            _fsync(Path(root))
    else:
        _fsync(path)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    With ``directory=True`` the temporary path is an (empty) directory to fill. On an
    exception the temporary path is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        tmp.chmod((0o777 if directory else 0o666) & ~_umask())
        _fsync_tree(tmp)
        if directory and target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        _fsync(target.parent)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def write_json(target: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_text(target: str | os.PathLike, text: str) -> None:
    """Write ``text``, atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def write_parquet(target: str | os.PathLike, frame) -> None:
    """Write a DataFrame as Parquet (without its index), atomically."""
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)
