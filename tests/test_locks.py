"""Stale Snakemake locks are released only when their holder is provably dead; the locks
of a live Snakemake, of another host or boot, of a cluster run, or on a network
filesystem are kept (embryo.runtime.locks)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from embryo.runtime import locks
from embryo.runtime.locks import LOCKS, OWNER, live_snakemake, record_owner, release_stale_locks


def make_locks(workdir):
    (workdir / LOCKS).mkdir(parents=True)
    for name in ("0.input.lock", "0.output.lock"):
        (workdir / LOCKS / name).write_text("results/x\n")


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def record(workdir, **changes):
    """An owner record of a dead local run on this host and boot, with ``changes``."""
    pid = dead_pid()
    owner = {
        "host": socket.gethostname(),
        "boot": locks.boot_id(),
        "pid": pid,
        "started": 12345,
        "local": True,
    } | changes
    (workdir / OWNER).write_text(json.dumps(owner))


def kept(workdir) -> bool:
    return len(list((workdir / LOCKS).iterdir())) == 2


def test_a_dead_local_runs_locks_are_released(tmp_path):
    make_locks(tmp_path)
    record(tmp_path)
    assert live_snakemake(tmp_path) == []
    released, held = release_stale_locks(tmp_path)
    assert [p.name for p in released] == ["0.input.lock", "0.output.lock"] and held is None
    assert not list((tmp_path / LOCKS).iterdir())
    assert release_stale_locks(tmp_path) == ([], None)


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"host": "another-node"}, "another host"),
        ({"boot": "an-earlier-boot"}, "before this machine's last boot"),
        ({"local": False}, "cluster executor"),
        ({"pid": "x"}, "names no process"),
    ],
)
def test_a_holder_not_provably_dead_keeps_its_locks(tmp_path, changes, reason):
    make_locks(tmp_path)
    record(tmp_path, **changes)
    released, held = release_stale_locks(tmp_path)
    assert released == [] and reason in held and kept(tmp_path)


def test_no_record_or_a_live_holder_keeps_the_locks(tmp_path):
    make_locks(tmp_path)
    released, held = release_stale_locks(tmp_path)  # locks of a run that recorded nothing
    assert released == [] and "no record" in held and kept(tmp_path)
    record_owner(tmp_path, local=True)  # this process: alive, with its start time
    released, held = release_stale_locks(tmp_path)
    assert released == [] and "still running" in held and kept(tmp_path)
    (tmp_path / OWNER).write_text("{broken")
    assert "not readable" in release_stale_locks(tmp_path)[1] and kept(tmp_path)


def test_a_network_filesystem_keeps_the_locks(tmp_path, monkeypatch):
    make_locks(tmp_path)
    record(tmp_path)
    monkeypatch.setattr(locks, "filesystem", lambda path: "nfs4")
    released, held = release_stale_locks(tmp_path)
    assert released == [] and "nfs4 filesystem" in held and kept(tmp_path)
    assert locks.is_network("lustre") and locks.is_network("fuse.sshfs")
    assert locks.is_network(None) and not locks.is_network("ext4")


def test_the_filesystem_is_that_of_the_longest_mount_point(tmp_path, monkeypatch):
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/vda / ext4 rw 0 0\nserver:/home /home nfs4 rw 0 0\n"
        "server:/x /home/a\\040b lustre rw 0 0\n"
    )
    real = locks.Path

    def path(p):
        return real(mounts) if str(p) == "/proc/mounts" else real(p)

    monkeypatch.setattr(locks, "Path", path)
    assert locks.filesystem(real("/home/u/run")) == "nfs4"
    assert locks.filesystem(real("/home/a b/run")) == "lustre"
    assert locks.filesystem(real("/homework")) == "ext4"


def test_a_live_snakemakes_locks_are_kept(tmp_path):
    make_locks(tmp_path)
    record(tmp_path)
    # a process that looks like Snakemake (its command line says so) working in tmp_path
    # (it says when it runs: a vfork'd child's /proc/<pid>/cmdline is empty for a moment after
    # Popen returns, as the kernel wakes the parent before the new image has its arguments)
    code = "import time; print('up', flush=True); time.sleep(60)"
    live = subprocess.Popen(
        [sys.executable, "-c", code, "snakemake"], cwd=tmp_path, stdout=subprocess.PIPE
    )
    try:
        assert live.stdout.readline() == b"up\n"
        assert live.pid in live_snakemake(tmp_path)
        released, held = release_stale_locks(tmp_path)
        assert released == [] and f"pid {live.pid}" in held and kept(tmp_path)
    finally:
        live.kill()
        live.wait()
    assert len(release_stale_locks(tmp_path)[0]) == 2
