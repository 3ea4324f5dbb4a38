"""Stale Snakemake locks are released; the locks of a live Snakemake are kept."""

from __future__ import annotations

import subprocess
import sys

from embryo.runtime.locks import LOCKS, live_snakemake, release_stale_locks


def make_locks(workdir):
    (workdir / LOCKS).mkdir(parents=True)
    for name in ("0.input.lock", "0.output.lock"):
        (workdir / LOCKS / name).write_text("results/x\n")


def test_a_dead_runs_locks_are_released(tmp_path):
    make_locks(tmp_path)
    assert live_snakemake(tmp_path) == []
    released = release_stale_locks(tmp_path)
    assert [p.name for p in released] == ["0.input.lock", "0.output.lock"]
    assert not list((tmp_path / LOCKS).iterdir())
    assert release_stale_locks(tmp_path) == []


def test_a_live_snakemakes_locks_are_kept(tmp_path):
    make_locks(tmp_path)
    # a process that looks like Snakemake (its command line says so) working in tmp_path
    code = "import time; time.sleep(60)"
    live = subprocess.Popen([sys.executable, "-c", code, "snakemake"], cwd=tmp_path)
    try:
        assert live.pid in live_snakemake(tmp_path)
        assert release_stale_locks(tmp_path) == []
        assert len(list((tmp_path / LOCKS).iterdir())) == 2
    finally:
        live.kill()
        live.wait()
    assert len(release_stale_locks(tmp_path)) == 2
