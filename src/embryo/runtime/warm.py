"""A warm interpreter for the workflow's jobs: torch and transformers imported once per run.

Every Snakemake job is a fresh Python process, and a fresh process spends about 5 s
importing torch and transformers before it does any work: more than the work itself of
most of the demo's 250 jobs (a probe, a fine-tuning on 200 examples), so that, measured,
half the demo's CPU time went to imports. On one machine the job scripts therefore hand
themselves to a preloaded interpreter, the preloader pattern of Rails' Spring or
Android's zygote:

- a job script calls :func:`delegate` on its first line;
- the first job of a run starts a server (``python -m embryo.runtime.warm``) that imports the
  heavy libraries once and listens on a Unix socket keyed by the working directory and
  the interpreter;
- for each job the server forks a child that runs the same script file with the job's
  working directory, environment, arguments and standard output and error (the file
  descriptors themselves are passed over the socket), so the child writes where the job
  would have written;
- the job's own process waits for the child's exit status and exits with it. A signal
  it receives (Snakemake stopping a job) is forwarded to the child; if it is killed
  outright, the server kills the child.

The child is a fresh fork of an interpreter that has only imported libraries (never our
code: :mod:`embryo` is re-imported from the job's own path in each child), and every job
seeds all its randomness explicitly, so a job computes exactly what it computes in a
process of its own (``tests/test_warm.py`` checks this on a training step).

On a shared machine the server accepts only its own user: its socket lives in a
directory of the temporary directory that only the user may enter
(``embryo-warm-<uid>``, mode 0700, its owner and mode checked before every use), and both
sides check the other's user id (``SO_PEERCRED``) before they read anything, so another
local user can neither send the server a job nor pose as the server to receive one
(with the job's environment). A job's signals reach its child's whole process group
(torchrun workers, ``datasets`` pools below it), and a job killed outright takes that
group along. The server is keyed by the variables that libraries read when they are
imported (``HF_*``, ``TORCH*``, ``CUDA_*``, ...; not the thread counts, which
:func:`_limit_threads` applies per job), so a job never runs in libraries loaded for
another setting. A forked CUDA context is unusable, so warm mode is off where CUDA
devices are visible, and the server refuses to fork once CUDA is initialised in it.

Off on a SLURM cluster (a job there has its own allocation, and the Snakemake profile
sets nothing for this), inside the server's children, and when ``EMBRYO_WARM=0``. If the
hand-over fails for any reason (no server could start, a socket error), the script runs
in its own process as if there were no server. The server exits after
``EMBRYO_WARM_IDLE`` seconds (default 30) with no job running. One thing differs for a
delegated job: its Snakemake benchmark file measures the waiting process, so the wall
time is the job's but the memory and CPU columns are not; run with ``EMBRYO_WARM=0``
to measure those.
"""

from __future__ import annotations

import os
import signal
import sys

CHILD = "EMBRYO_WARM_CHILD"
CLIENT = "EMBRYO_WARM_CLIENT"  # in the child: the pid of the job's own process

# What the server imports before forking. Each is optional (a failed import is skipped):
# the list only decides what a job does not have to import itself.
PRELOAD = (
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "scipy.stats",
    "sklearn.linear_model",
    "sklearn.metrics",
    "safetensors.torch",
    "tokenizers",
    "torch",
    "transformers",
    "transformers.models.albert.modeling_albert",
    "transformers.models.bert.modeling_bert",
    "transformers.models.roberta.modeling_roberta",
    "snakemake.iocontainers",
    "snakemake.logging",
    "matplotlib.pyplot",
)


# Environment variables that libraries read when they are imported (a server's
# libraries were imported under its own): prefixes, without the per-job thread counts
# that Snakemake sets and _limit_threads applies in each child
IMPORT_ENV = (
    "HF_",
    "TRANSFORMERS_",
    "TOKENIZERS_",
    "DATASETS_",
    "TORCH",
    "PYTORCH_",
    "CUDA_",
    "NCCL_",
    "MKL_",
    "OPENBLAS_",
    "OMP_",
    "KMP_",
    "NUMEXPR_",
    "ARROW_",
    "MPL",
    "PYTHON",
    "LD_",
)
THREAD_ENV = frozenset(
    {
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "GOTO_NUM_THREADS",
    }
)


def enabled() -> bool:
    """Whether this process should hand itself to a warm interpreter."""
    import socket

    return (
        os.environ.get("EMBRYO_WARM", "1") != "0"
        and CHILD not in os.environ
        and "SLURM_JOB_ID" not in os.environ
        and hasattr(socket, "send_fds")
        and hasattr(socket, "SO_PEERCRED")
        and hasattr(os, "fork")
        and not cuda_visible()
    )


def cuda_visible() -> bool:
    """Whether a CUDA device is visible to this process (a GPU's device file exists and
    ``CUDA_VISIBLE_DEVICES`` does not hide them all)."""
    import glob

    hidden = os.environ.get("CUDA_VISIBLE_DEVICES", "unset").strip() in ("", "-1")
    return not hidden and bool(glob.glob("/dev/nvidia[0-9]*"))


def private_dir() -> str:
    """The user's directory of server sockets, created mode 0700; OSError unless it is a
    directory (not a link) that this user owns and only this user may enter."""
    import stat
    import tempfile

    path = os.path.join(tempfile.gettempdir(), f"embryo-warm-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise OSError(
            f"{path} is not a private directory of this user (owner uid {info.st_uid}, "
            f"mode {stat.filemode(info.st_mode)}): not using it"
        )
    return path


def address() -> str:
    """The server's socket: one per user, working directory, interpreter and import-time
    environment, in the user's private directory."""
    import hashlib

    env = sorted(
        (k, v) for k, v in os.environ.items() if k.startswith(IMPORT_ENV) and k not in THREAD_ENV
    )
    key = repr((os.getcwd(), sys.executable, env)).encode()
    return os.path.join(private_dir(), hashlib.sha256(key).hexdigest()[:16])


def peer_uid(conn) -> int:
    """The user id of the process at the other end of a Unix socket (``SO_PEERCRED``)."""
    import socket
    import struct

    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def delegate() -> None:
    """Run this script in the warm interpreter and exit with its status; else return.

    Returns (and the script goes on in this process) when delegation is off or fails,
    and in the warm child itself.
    """
    if not enabled():
        return
    from embryo.runtime.killed import explain, oom_kills, report

    before = oom_kills()
    try:
        conn = _connect(address())
        _send_request(conn)
        pid = _read_int(conn)
    except OSError as err:
        print(f"embryo.runtime.warm: running in this process ({err})", file=sys.stderr)
        return
    _forward_signals(pid)
    status = _read_int(conn)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if signum == signal.SIGKILL:  # died without a word: say what killed it
            report(explain(signum, before, oom_kills()), _job_logs())
        os._exit(128 + signum)
    os._exit(os.waitstatus_to_exitcode(status))


def _job_logs() -> list[str]:
    """The log files of the Snakemake job this script runs (its ``snakemake`` object)."""
    job = getattr(sys.modules.get("__main__"), "snakemake", None)
    return [str(p) for p in getattr(job, "log", []) or []]


# --- the job's side -------------------------------------------------------------------


def _connect(path: str):
    import fcntl
    import socket
    import subprocess
    import time

    def attempt():
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(path)
            uid = peer_uid(conn)
        except OSError:
            conn.close()
            raise
        if uid != os.getuid():  # not our server: send it nothing
            conn.close()
            raise OSError(f"{path} is served by uid {uid}, not this user")
        return conn

    try:
        return attempt()
    except (FileNotFoundError, ConnectionRefusedError):
        pass
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one job starts the server; the others wait
        try:
            return attempt()
        except (FileNotFoundError, ConnectionRefusedError):
            pass
        # the server imports this very package, wherever this job found it
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }
        with open(path + ".log", "ab") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "embryo.runtime.warm", path],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise OSError(f"the warm server exited with {server.returncode}; see {path}.log")
            try:
                return attempt()
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.05)
        raise OSError("the warm server did not start within 120 s")


def _send_request(conn) -> None:
    import pickle
    import socket

    request = pickle.dumps(
        {
            "argv": sys.argv,
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "path": sys.path,
            "pid": os.getpid(),  # the job's own process: embryo.runtime.logs times the job from its start
        }
    )
    sys.stdout.flush()
    sys.stderr.flush()
    socket.send_fds(conn, [len(request).to_bytes(8, "big")], [1, 2])
    conn.sendall(request)


def _forward_signals(pid: int) -> None:
    import signal

    def forward(signum, _frame):
        _signal_group(pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, forward)


def _signal_group(pid: int, signum: int) -> None:
    """Signal the child's process group (the server made it one), else the child."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _read_int(conn) -> int:
    data = b""
    while len(data) < 8:
        chunk = conn.recv(8 - len(data))
        if not chunk:
            raise OSError("the warm server closed the connection")
        data += chunk
    return int.from_bytes(data, "big", signed=True)


# --- the server's side ----------------------------------------------------------------


def serve(path: str, idle: float) -> None:
    """Preload, then fork a child per request until idle for ``idle`` seconds."""
    import contextlib
    import importlib
    import selectors
    import signal
    import socket
    import time

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 — a missing optional library is fine
            print(f"preload {name}: {err}", flush=True)
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 1
    print(f"pid {os.getpid()}: preloaded, {threads} thread(s), serving {path}", flush=True)

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    staging = f"{path}.{os.getpid()}"
    listener.bind(staging)
    listener.listen(64)
    os.replace(staging, path)  # appears only once it accepts connections
    identity = os.stat(path).st_ino
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    last_active = time.monotonic()
    while True:
        for key, _ in selector.select(timeout=0.2):
            if key.fileobj is listener:
                conn, _ = listener.accept()
                uid = peer_uid(conn)
                if uid != os.getuid():  # read nothing from another user
                    print(f"refused a connection of uid {uid}", flush=True)
                    conn.close()
                    continue
                try:
                    pid = _fork_child(conn, listener, selector)
                except Exception as err:  # noqa: BLE001 — a bad request must not stop the server
                    print(f"request failed: {err!r}", flush=True)
                    conn.close()
                    continue
                children[pid] = conn
                selector.register(conn, selectors.EVENT_READ, pid)
            else:  # the job's process went away before its child: stop the child's group
                _signal_group(key.data, signal.SIGKILL)
                selector.unregister(key.fileobj)
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if not pid:
                break
            conn = children.pop(pid)
            if conn.fileno() in selector.get_map():
                selector.unregister(conn)
            try:
                conn.sendall(status.to_bytes(8, "big", signed=True))
            except OSError:
                pass
            conn.close()
        if children:
            last_active = time.monotonic()
        if listener is not None:
            try:
                replaced = os.stat(path).st_ino != identity
            except FileNotFoundError:
                replaced = True
            if replaced:  # another server took the address: finish our jobs, take no more
                selector.unregister(listener)
                listener.close()
                listener = None
        if not children and (listener is None or time.monotonic() - last_active > idle):
            break
    if listener is not None:  # still ours: remove the address and its lock and log
        for leftover in (path, path + ".lock", path + ".log"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


def _fork_child(conn, listener, selector) -> int:
    import pickle
    import socket

    conn.settimeout(10)
    header, fds, _, _ = socket.recv_fds(conn, 8, 2)
    if len(header) != 8 or len(fds) != 2:
        raise OSError("malformed request")
    size, data = int.from_bytes(header, "big"), b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("truncated request")
        data += chunk
    request = pickle.loads(data)  # from this user only (serve checks the peer)
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        raise OSError("CUDA is initialised in the server: a forked child could not use it")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        selector.close()
        listener.close()
        _run_child(request, fds, conn)
    try:  # as the child does: its own process group before the job learns its pid
        os.setpgid(pid, pid)
    except OSError:
        pass
    for fd in fds:
        os.close(fd)
    conn.settimeout(None)
    conn.sendall(pid.to_bytes(8, "big", signed=True))
    return pid


def _run_child(request: dict, fds: list[int], conn) -> None:
    """In the forked child: become the job, run its script, exit with its status."""
    import runpy
    import signal
    import traceback

    code = 1
    try:
        conn.close()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        os.setpgid(0, 0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in (null, *fds):
            os.close(fd)
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ[CHILD] = str(os.getpid())
        os.environ[CLIENT] = str(
            request.get("pid", "")
        )  # embryo.runtime.logs times the job from it
        sys.argv[:] = request["argv"]
        sys.path[:] = request["path"]
        for name in [m for m in sys.modules if m == "embryo" or m.startswith("embryo.")]:
            del sys.modules[name]
        _limit_threads(os.environ.get("OMP_NUM_THREADS", ""))
        try:
            runpy.run_path(sys.argv[0], run_name="__main__")
            code = 0
        except SystemExit as exit_:
            if exit_.code is None or isinstance(exit_.code, int):
                code = exit_.code or 0
            else:
                print(exit_.code, file=sys.stderr)
        except BaseException:  # noqa: BLE001 — reported as Python would
            traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _limit_threads(threads: str) -> None:
    """Thread pools as a fresh process would size them from the job's environment.

    Snakemake sets ``OMP_NUM_THREADS`` (and the BLAS variables) to the job's threads;
    OpenMP and BLAS read them when they load, which in a child was in the server, for
    another job. So set the loaded pools' sizes now.
    """
    if not threads.isdigit() or int(threads) < 1:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(threads))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))


if __name__ == "__main__":
    serve(sys.argv[1], float(os.environ.get("EMBRYO_WARM_IDLE", "30")))
