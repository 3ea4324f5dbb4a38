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
    return {**env, "EMBRYO_WARM_IDLE": "20", "OMP_NUM_THREADS": "1", **extra}


def _run(jobdir, *args, **env):
    return subprocess.run(
        [sys.executable, "job.py", *args],
        cwd=jobdir, env=_env(**env), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _address(cwd: Path) -> str:
    code = "from embryo.runtime.warm import address; print(address())"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def _server_pid(cwd: Path) -> int | None:
    log = Path(_address(cwd) + ".log")
    pids = [int(line.split()[1].rstrip(":")) for line in log.read_text().splitlines()
            if line.startswith("pid ") and "serving" in line]  # fmt: skip
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


def test_signals_reach_the_child_and_a_killed_job_takes_it_along(jobdir):
    for signum, expected in ((signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGKILL, None)):
        job = subprocess.Popen(
            [sys.executable, "job.py", "sleep"],
            cwd=jobdir, env=_env(), stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
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
