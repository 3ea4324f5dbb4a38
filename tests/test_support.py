"""Atomic outputs, the environment record and other runtime support."""

from __future__ import annotations

from pathlib import Path

import pytest

from embryo.runtime.atomic import atomic_path, write_json


def test_atomic_file_and_directory_appear_only_when_complete(tmp_path):
    target = tmp_path / "out" / "metrics.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists() and list(target.parent.iterdir()) == []
    write_json(target, {"a": 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'

    folder = tmp_path / "model"
    with pytest.raises(RuntimeError), atomic_path(folder, directory=True) as tmp:
        (tmp / "weights").write_text("half")
        raise RuntimeError("killed")
    assert not folder.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with atomic_path(folder, directory=True) as tmp:
        (tmp / "weights").write_text("all")
    assert (folder / "weights").read_text() == "all"


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_atomic_outputs_carry_the_users_umask(tmp_path, umask):
    """As a plain open/mkdir would: not the private mode of tempfile's temporary names."""
    import os

    old = os.umask(umask)
    try:
        write_json(tmp_path / "a.json", {})
        with atomic_path(tmp_path / "model", directory=True) as tmp:
            (tmp / "weights").write_text("w")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "model").stat().st_mode & 0o777 == 0o777 & ~umask
    assert (tmp_path / "model" / "weights").stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_outputs_reach_the_disk_before_their_rename(tmp_path, monkeypatch):
    """Every file and directory of the output is synced before the rename, the parent
    directory (the rename) after it."""
    import os

    from embryo.runtime import atomic

    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("rename", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    with atomic_path(tmp_path / "model", directory=True) as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "weights").write_text("w")
        (tmp / "config.json").write_text("{}")
    rename = events.index(("rename", str(tmp_path / "model")))
    before = {Path(p).relative_to(tmp).as_posix() for _, p in events[:rename]}
    assert before == {".", "sub", "sub/weights", "config.json"}
    assert events[rename + 1 :] == [("fsync", str(tmp_path))]
    events.clear()
    write_json(tmp_path / "a.json", {})
    assert [e for e, _ in events] == ["fsync", "rename", "fsync"]


def test_environment_names_the_lock_file_and_what_differs_from_it(tmp_path):
    import hashlib
    from importlib.metadata import version

    from embryo.results.provenance import environment

    assert environment(tmp_path) == {
        "lock_file": "requirements.lock",
        "sha256": None,
        "differs": None,
    }
    lock = tmp_path / "requirements.lock"
    lock.write_text(f"# header\npyyaml=={version('pyyaml')}\nscipy==0.0.1\nno-such-pkg==1.0\n")
    env = environment(tmp_path)
    assert env["sha256"] == hashlib.sha256(lock.read_bytes()).hexdigest()
    assert env["differs"] == [
        f"scipy {version('scipy')} (locked 0.0.1)",
        "no-such-pkg missing (locked 1.0)",
    ]
    lock.write_text("pyyaml\n")
    with pytest.raises(ValueError, match=r"requirements.lock:1: expected name==version"):
        environment(tmp_path)


def test_the_repository_lock_file_is_this_environment():
    """CI installs with requirements.lock as constraints (scripts/bootstrap): every locked
    version is the installed one."""
    from embryo.results.provenance import environment

    from .conftest import REPO

    env = environment(REPO)
    assert env["sha256"] is not None and env["differs"] == []
