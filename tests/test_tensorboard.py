"""make tensorboard (embryo.runtime.tensorboard): served to this user only, on a Unix socket."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from .conftest import REPO


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def listening_tcp_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    return inodes


def socket_inodes(pid: int) -> set[str]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def test_tensorboard_serves_the_curves_on_a_private_unix_socket_and_no_tcp_port(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    run = tmp_path / "results" / "bert" / "tensorboard"
    with SummaryWriter(run, filename_suffix=".segment-0-2") as writer:
        for step in (1, 2):
            writer.add_scalar("train/loss", 5.0 - step, step)
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    server = subprocess.Popen(
        [sys.executable, "-m", "embryo.runtime.tensorboard", "--logdir", str(tmp_path / "results")],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        sock = Path(env["TMPDIR"]) / f"embryo-warm-{os.getuid()}" / "tensorboard.sock"
        for _ in range(120):
            if sock.exists():
                break
            time.sleep(0.5)
        assert sock.exists(), server.stderr.read() if server.poll() is not None else "no socket"
        assert (sock.parent.stat().st_mode & 0o777) == 0o700
        for _ in range(60):  # the log directory is read in the background
            conn = UnixHTTP(str(sock))
            conn.request("GET", "/data/plugin/scalars/scalars?run=bert/tensorboard&tag=train/loss")
            response = conn.getresponse()
            body = response.read()
            if response.status == 200:
                break
            time.sleep(0.5)
        assert [row[1:] for row in json.loads(body)] == [[1, 4.0], [2, 3.0]]
        assert not socket_inodes(server.pid) & listening_tcp_inodes(), "a TCP port is open"
    finally:
        server.terminate()
        server.wait(timeout=30)
