"""The warm interpreter (embryo.runtime.warm): same results, same exit status, signals forwarded."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork") or not os.path.isdir("/proc"), reason="needs fork and /proc"
)

# A job script as the workflow's are: hand over first, then import and work. It trains a
# small model for a few steps from a seed and writes what it computed and where it ran.
SCRIPT = """
import sys

class Job:  # the snakemake object a job script is given: its log files
    log = sys.argv[2:3]

snakemake = Job()

from embryo.runtime.warm import delegate

delegate()

import json, os, sys, time

import torch

mode = sys.argv[1]
if mode == "train":
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    x, y = torch.randn(64, 16), torch.randn(64, 1)
    for _ in range(5):
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
    out = {"pid": os.getpid(), "ppid": os.getppid(), "threads": torch.get_num_threads(),
           "weights": [float(p.sum()) for p in model.parameters()], "loss": loss.item(),
           "cwd": os.getcwd(), "argv": sys.argv, "env": os.environ.get("JOB_VAR")}
    print(json.dumps(out))
    print("to stderr", file=sys.stderr)
elif mode == "exit":
    print("exiting", flush=True)
    sys.exit(3)
elif mode == "raise":
    raise ValueError("a bad input")
elif mode == "sleep":
    print(os.getpid(), flush=True)
    time.sleep(60)
elif mode == "oom":  # dies as the kernel's OOM killer kills: SIGKILL, not a word
    print("allocating", flush=True)
    os.kill(os.getpid(), 9)
elif mode == "tree":  # a worker below the job, as torchrun's or a datasets pool's
    import subprocess
    worker = subprocess.Popen(["sleep", "60"])
    print(os.getpid(), worker.pid, flush=True)
    worker.wait()
"""


@pytest.fixture(scope="module")
def jobdir(tmp_path_factory):
    """A working directory (hence one server) shared by the tests of this module."""
    path = tmp_path_factory.mktemp("warm")
    (path / "job.py").write_text(SCRIPT)
    yield path
    _stop_server(path)


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("EMBRYO_WARM", "SLURM_JOB_ID")}
    # idle long enough for a cold job beside it on a busy machine; the module stops it
    return {**env, "EMBRYO_WARM_IDLE": "120", "OMP_NUM_THREADS": "1", **extra}


def _run(jobdir, *args, **env):
    return subprocess.run(
        [sys.executable, "job.py", *args],
        cwd=jobdir,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _address(cwd: Path, **env) -> str:
    code = "from embryo.runtime.warm import address; print(address())"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _server_pid(cwd: Path) -> int | None:
    log = Path(_address(cwd) + ".log")
    pids = [
        int(line.split()[1].rstrip(":"))
        for line in log.read_text().splitlines()
        if line.startswith("pid ") and "serving" in line
    ]
    return pids[-1] if pids else None


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _stop_server(cwd: Path) -> None:
    pid = _server_pid(cwd) if Path(_address(cwd) + ".log").exists() else None
    if pid and _alive(pid):
        os.kill(pid, signal.SIGTERM)


def test_a_delegated_job_computes_what_its_own_process_computes(jobdir):
    warm = _run(jobdir, "train", JOB_VAR="a")
    again = _run(jobdir, "train", JOB_VAR="b")  # served by the running server
    cold = _run(jobdir, "train", EMBRYO_WARM="0", JOB_VAR="c")
    assert warm.returncode == again.returncode == cold.returncode == 0, warm.stderr
    w, a, c = (json.loads(r.stdout) for r in (warm, again, cold))
    assert w["weights"] == a["weights"] == c["weights"]
    assert w["loss"] == a["loss"] == c["loss"]
    # the warm jobs ran in children of one server; the cold one in its own process
    server = _server_pid(jobdir)
    assert w["ppid"] == a["ppid"] == server and w["pid"] != a["pid"]
    assert c["ppid"] != server
    # with the job's working directory, arguments, environment, threads and streams
    assert w["cwd"] == str(jobdir) and w["argv"] == ["job.py", "train"]
    assert (w["env"], a["env"]) == ("a", "b")
    assert w["threads"] == c["threads"] == 1
    assert "to stderr" in warm.stderr


def test_exit_status_and_traceback_reach_the_job(jobdir):
    exited = _run(jobdir, "exit")
    assert exited.returncode == 3 and exited.stdout == "exiting\n"
    raised = _run(jobdir, "raise")
    assert raised.returncode == 1
    assert "ValueError: a bad input" in raised.stderr and "Traceback" in raised.stderr


def test_a_job_killed_outright_says_so_in_its_log_and_on_stderr(jobdir, tmp_path):
    """A delegated job that dies by SIGKILL: its own process says it was killed, and by
    what where the memory cgroup tells (here nobody counted an OOM kill)."""
    log = tmp_path / "job.log"
    log.write_text("the job's own lines\n")
    killed = _run(jobdir, "oom", str(log))
    assert killed.returncode == 128 + signal.SIGKILL
    assert "embryo: this job was killed by SIGKILL from outside" in killed.stderr
    assert log.read_text().startswith("the job's own lines\n")
    assert "killed by SIGKILL" in log.read_text().splitlines()[-1]


def test_what_killed_a_job_is_read_from_the_oom_kill_count(tmp_path):
    from embryo.runtime.killed import explain, oom_kills

    events = tmp_path / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n")
    assert oom_kills(events) == 2 and oom_kills(tmp_path / "none") is None
    assert "the kernel's OOM killer (its memory cgroup counted 1 more OOM kill(s): 2 -> 3)" in (
        explain(signal.SIGKILL, 2, 3)
    )
    assert "from outside (its memory cgroup counted no OOM kill)" in explain(signal.SIGKILL, 2, 2)
    assert explain(signal.SIGKILL, None, None).startswith("killed by SIGKILL from outside:")
    assert explain(signal.SIGTERM, 0, 0) == "killed by SIGTERM"


def test_signals_reach_the_child_and_a_killed_job_takes_it_along(jobdir):
    for signum, expected in ((signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGKILL, None)):
        job = subprocess.Popen(
            [sys.executable, "job.py", "sleep"],
            cwd=jobdir,
            env=_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        child = int(job.stdout.readline())
        assert child != job.pid and _alive(child)
        job.send_signal(signum)
        returncode = job.wait(timeout=30)
        if expected is not None:
            assert returncode == expected
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), f"the child of a job stopped by {signum!r} still runs"
        job.stdout.close()


def test_off_on_slurm_and_by_switch(jobdir):
    for env in ({"SLURM_JOB_ID": "1"}, {"EMBRYO_WARM": "0"}):
        result = json.loads(_run(jobdir, "train", **env).stdout)
        assert result["ppid"] != _server_pid(jobdir)


def test_the_server_exits_when_idle(tmp_path):
    (tmp_path / "job.py").write_text(SCRIPT)
    assert _run(tmp_path, "exit", EMBRYO_WARM_IDLE="3").returncode == 3
    server = _server_pid(tmp_path)
    assert server is not None
    deadline = time.monotonic() + 15
    while _alive(server) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(server)
    assert not os.path.exists(_address(tmp_path))


def test_a_ctrl_c_reaches_the_jobs_whole_process_group(jobdir):
    """SIGINT to the job's own process stops its child and the child's workers too."""
    job = subprocess.Popen(
        [sys.executable, "job.py", "tree"],
        cwd=jobdir,
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    child, worker = map(int, job.stdout.readline().split())
    assert child != job.pid and _alive(worker)
    job.send_signal(signal.SIGINT)
    job.wait(timeout=30)
    job.stdout.close()
    deadline = time.monotonic() + 10
    while (_alive(child) or _alive(worker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child) and not _alive(worker), "a process below the job still runs"


NOBODY = 65534


def as_nobody(work) -> str:
    """What ``work()`` returns, run in a fork of this process that has become the user
    nobody (a fork, not a new interpreter: nobody may not execute this one under /root)."""
    if os.getuid() != 0:
        pytest.skip("needs root, to run a process as another user (nobody)")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, work, report, exit without cleanup
        os.close(read)
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            out = str(work())
        except BaseException as err:  # noqa: BLE001 — reported to the parent
            out = f"error: {err!r}"
        os.write(write, out.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        out = fh.read()
    os.waitpid(pid, 0)
    return out


@pytest.fixture
def shared_dir():
    """A directory every user may enter and write, as /tmp itself."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(dir="/tmp", prefix="embryo-shared-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _connect_as_nobody(path):
    import socket

    conn = socket.socket(socket.AF_UNIX)
    try:
        conn.connect(str(path))
    except PermissionError:
        return "denied"
    return conn


def test_another_user_reaches_neither_the_socket_nor_the_server(jobdir, shared_dir):
    """nobody cannot enter the private directory; and a server whose socket another user
    could reach refuses that user's connection without reading what it sends."""
    import pickle  # noqa: F401 — imported here: nobody may not read the standard library
    import socket  # noqa: F401

    from embryo.runtime import warm

    assert _run(jobdir, "exit").returncode == 3  # a server runs for jobdir
    address = _address(jobdir)
    assert os.stat(os.path.dirname(address)).st_mode & 0o777 == 0o700
    assert as_nobody(lambda: _connect_as_nobody(address)) == "denied"

    # a server with its socket in a shared directory (as a predictable name in /tmp was)
    path, marker = shared_dir / "server", shared_dir / "ran"
    server = subprocess.Popen(
        [sys.executable, "-m", "embryo.runtime.warm", str(path)],
        cwd=shared_dir,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not path.exists():
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        path.chmod(0o777)
        (shared_dir / "job.py").write_text(f"open({str(marker)!r}, 'w').close()\n")

        def attack():
            conn = _connect_as_nobody(path)
            sys.argv = [str(shared_dir / "job.py")]
            try:  # a job request, as the job's side sends it
                warm._send_request(conn)
                return "closed" if conn.recv(8) == b"" else "served"
            except (BrokenPipeError, ConnectionResetError):  # closed while it was sending
                return "closed"

        assert as_nobody(attack) == "closed"
        time.sleep(1.0)
        assert not marker.exists()
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[0]
    assert f"refused a connection of uid {NOBODY}" in log


def test_a_job_sends_nothing_to_a_server_of_another_user(shared_dir):
    import socket

    from embryo.runtime import warm

    path = shared_dir / "impostor"
    read, write = os.pipe()

    def impostor():  # listens as nobody where a job would look for its server
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        os.chmod(path, 0o777)
        s.listen(1)
        os.write(write, b"ready")
        conn, _ = s.accept()
        return conn.recv(1 << 16) or b"nothing"

    pid = os.fork()
    if pid == 0:
        os.close(read)
        os._exit(0 if as_nobody(impostor) == str(b"nothing") else 1)
    os.close(write)
    assert os.read(read, 5) == b"ready"
    with pytest.raises(OSError, match=f"served by uid {NOBODY}"):
        warm._connect(str(path))
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the impostor received something"


def test_the_socket_directory_must_be_private(tmp_path, monkeypatch):
    import tempfile

    from embryo.runtime import warm

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    mine = tmp_path / f"embryo-warm-{os.getuid()}"
    assert warm.private_dir() == str(mine) and mine.stat().st_mode & 0o777 == 0o700
    mine.chmod(0o755)  # others may enter
    with pytest.raises(OSError, match="not a private directory"):
        warm.address()
    mine.rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    mine.symlink_to(tmp_path / "elsewhere")  # a link another user could have planted
    with pytest.raises(OSError, match="not a private directory"):
        warm.private_dir()


def test_one_server_per_import_time_environment(jobdir):
    base = _address(jobdir)
    assert _address(jobdir, OMP_NUM_THREADS="7") == base  # a per-job setting
    assert _address(jobdir, HF_HOME="/elsewhere") != base
    assert _address(jobdir, TORCH_HOME="/elsewhere") != base


def test_off_where_cuda_devices_are_visible(monkeypatch):
    import glob

    from embryo.runtime import warm

    monkeypatch.setattr(glob, "glob", lambda pattern: ["/dev/nvidia0"])
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert warm.cuda_visible() and not warm.enabled()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert not warm.cuda_visible()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert not warm.cuda_visible()
