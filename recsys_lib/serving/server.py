"""Running the service on loopback: in a thread or in a separate process.

Introduced in Chapter 12 ("Serving and scaling out"). Both helpers are
context managers that bind ``127.0.0.1`` only (nothing is reachable from
outside the machine), wait until ``GET /health`` answers, hand back the base
URL and always shut the server down when the block ends, also after an
error:

* :func:`serve_in_thread` runs an app object with uvicorn in a background
  thread of this process (tests, the browser demo);
* :func:`serve_in_process` starts ``python -m recsys_lib.serving`` on a saved
  bundle (:func:`~recsys_lib.serving.save_service`), which loads the models
  with ``weights_only=True`` -- the way a real deployment starts, and the
  right set-up for a load test: the client and the server do not share one
  Python interpreter lock.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from ..checks import check_int, check_number

__all__ = [
    "KEEP_ALIVE_S",
    "LOOPBACK",
    "free_port",
    "serve_in_process",
    "serve_in_thread",
    "wait_until_healthy",
]

# uvicorn closes a connection that has been idle for 5 s by default. A client
# that reuses it at that moment gets a ReadError (the server has just closed
# it), and on a busy machine a load-test client can be descheduled for that
# long between two requests. The servers therefore keep idle connections open
# longer than httpx keeps them in its pool (5 s): the client always gives a
# connection up first.
KEEP_ALIVE_S = 60

#: the only address the helpers bind.
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that is free right now. Introduced in Chapter 12."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def wait_until_healthy(base_url: str, timeout_s: float = 60.0, proc=None) -> dict:
    """Poll ``GET /health`` until it answers 200; return its JSON.

    Introduced in Chapter 12.

    Raises:
        RuntimeError: the process ``proc`` ended first (its exit code and the
            end of its output are in the message).
        TimeoutError: no healthy answer within ``timeout_s``.
    """
    timeout_s = check_number(timeout_s, "timeout_s", low=0.0, low_open=True)
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = _output_of(proc)
            raise RuntimeError(
                f"the server process exited with code {proc.returncode} before it "
                f"was healthy; its output ends with:\n{out[-2000:]}"
            )
        try:
            r = httpx.get(f"{base_url}/health", timeout=2.0)
            if r.status_code == 200:
                return r.json()
            last = f"status {r.status_code}"
        except httpx.TransportError as err:
            last = repr(err)
        time.sleep(0.05)
    raise TimeoutError(
        f"{base_url}/health did not answer within {timeout_s} s ({last})"
    )


def _output_of(proc) -> str:
    """What a server process wrote so far (its log file), for error messages."""
    log = getattr(proc, "log_file", None)
    if log is None:
        return ""
    log.flush()
    log.seek(0)
    return log.read().decode("utf-8", errors="replace")


@contextlib.contextmanager
def serve_in_thread(
    app, port: int | None = None, timeout_s: float = 30.0
) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a background thread; yield its base URL.

    Introduced in Chapter 12. The server listens on ``127.0.0.1`` (a free
    port unless ``port`` is given) and is stopped when the block ends.
    """
    import uvicorn

    port = free_port() if port is None else check_int(port, "port", low=1, high=65535)
    config = uvicorn.Config(
        app,
        host=LOOPBACK,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_until_healthy(url, timeout_s)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10.0)


@contextlib.contextmanager
def serve_in_process(
    bundle,
    db_path,
    *,
    port: int | None = None,
    threads: int = 1,
    timeout_s: float = 120.0,
    extra_args: tuple[str, ...] = (),
) -> Iterator[str]:
    """Run ``python -m recsys_lib.serving`` on a saved bundle; yield its base URL.

    Introduced in Chapter 12. The child process loads the bundle safely,
    opens the event store at ``db_path``, serves on ``127.0.0.1`` and is
    terminated (then killed, if it does not stop) when the block ends; if
    this process dies first, the server notices within a second and exits.

    Args:
        bundle: folder written by :func:`~recsys_lib.serving.save_service`.
        db_path: the SQLite event store file (created if missing).
        port: default a free port.
        threads: torch threads of the server process.
        timeout_s: how long to wait for the server to become healthy.
        extra_args: more command-line options (see ``python -m
            recsys_lib.serving --help``).
    """
    bundle = Path(bundle)
    if not (bundle / "manifest.json").is_file():
        raise FileNotFoundError(f"no model bundle at {bundle} (manifest.json missing)")
    port = free_port() if port is None else check_int(port, "port", low=1, high=65535)
    threads = check_int(threads, "threads", low=1)
    cmd = [
        sys.executable,
        "-m",
        "recsys_lib.serving",
        "--bundle",
        str(bundle),
        "--db",
        str(db_path),
        "--port",
        str(port),
        "--threads",
        str(threads),
        "--parent-pid",
        str(os.getpid()),
        *extra_args,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # The server's output goes to a temporary file, not a pipe: a pipe nobody
    # reads fills up (64 KB) and then blocks the server in the middle of a request.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    proc.log_file = log
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_until_healthy(url, timeout_s, proc=proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
