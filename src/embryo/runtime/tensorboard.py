"""``make tensorboard``: TensorBoard on the runs' live curves, reachable by this user only.

TensorBoard's own server listens on TCP, where every user of a shared machine can reach
it. Here it listens on a Unix socket in the user's private directory (mode 0700, checked:
:func:`embryo.runtime.warm.private_dir`), which no other user can open; a browser reaches
it through SSH, which forwards a local port to a Unix socket::

    ssh -L 6006:/tmp/embryo-warm-1000/tensorboard.sock login-node   # then http://localhost:6006

TensorBoard's fast loader is off (``load_fast=false``): it is a second server, on a TCP
port of localhost. On a machine of one's own, ``--tcp PORT`` serves on 127.0.0.1:PORT.
"""

from __future__ import annotations

import argparse
import os
import sys


def server_class(socket_path: str):
    """TensorBoard's Werkzeug server on a Unix socket (Werkzeug serves ``unix://``
    addresses; TensorBoard's URL and message assume TCP)."""
    from tensorboard import program

    class UnixSocketServer(program.WerkzeugServer):
        def get_url(self):
            return f"unix://{socket_path}"

        def print_serving_message(self):
            print(
                f"TensorBoard on the Unix socket {socket_path} (this user only); from "
                f"your machine: ssh -L 6006:{socket_path} {os.uname().nodename}, then "
                "open http://localhost:6006",
                file=sys.stderr,
                flush=True,
            )

    return UnixSocketServer


def private_tensorboard(**kw):
    """TensorBoard that leaves no record in the shared temporary directory (its notebook
    registry, /tmp/.tensorboard-info, assumes a TCP port)."""
    from tensorboard import program

    class PrivateTensorBoard(program.TensorBoard):
        def _register_info(self, server):
            pass

    return PrivateTensorBoard(**kw)


def main(argv=None) -> int:

    from embryo.runtime.warm import private_dir

    parser = argparse.ArgumentParser(prog="python -m embryo.runtime.tensorboard")
    parser.add_argument("--logdir", default="results", help="searched for run log directories")
    parser.add_argument(
        "--tcp",
        type=int,
        metavar="PORT",
        help="serve on 127.0.0.1:PORT (a single-user machine) instead",
    )
    args = parser.parse_args(argv)
    if args.tcp is not None:
        tb = private_tensorboard()
        tb.configure(logdir=args.logdir, host="127.0.0.1", port=args.tcp, load_fast="false")
    else:
        path = os.path.join(private_dir(), "tensorboard.sock")
        if os.path.exists(path):
            os.unlink(path)  # a server of ours that died; the directory is ours alone
        tb = private_tensorboard(server_class=server_class(path))
        tb.configure(logdir=args.logdir, host=f"unix://{path}", port=0, load_fast="false")
    tb.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
