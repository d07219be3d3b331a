"""gunicorn serving ``wsgi:app`` on a free loopback port for the duration of a run."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.env import REPO_ROOT, WORK_DIR, log


@dataclass
class ServerSpec:
    """How gunicorn runs."""

    workers: int = 2
    worker_class: str = "gthread"  # "sync" or "gthread"
    threads: int = 4  # gthread only

    def describe(self) -> str:
        """E.g. "gunicorn, 2 gthread workers x 4 threads"."""
        if self.worker_class == "gthread":
            return f"gunicorn, {self.workers} gthread workers x {self.threads} threads"
        return f"gunicorn, {self.workers} {self.worker_class} workers"


@dataclass
class Server:
    """A running gunicorn."""

    base_url: str
    spec: ServerSpec
    log_path: Path
    pid: int


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(base_url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {proc.returncode} while starting")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {base_url}/healthz within {timeout:.0f} s")


@contextlib.contextmanager
def serve(env: dict[str, str], spec: ServerSpec) -> Iterator[Server]:
    """Start gunicorn, wait for /healthz, yield, then stop it (SIGTERM, then SIGKILL)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = WORK_DIR / "gunicorn.log"
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "wsgi:app",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(spec.workers),
        "--worker-class",
        spec.worker_class,
        "--log-level",
        "warning",  # no access log (it is off unless --access-logfile is given)
        "--graceful-timeout",
        "5",
    ]
    if spec.worker_class == "gthread":
        cmd += ["--threads", str(spec.threads)]
    server_env = dict(env)
    server_env.pop("FLASK_APP", None)
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=server_env, stdout=log_file, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_up(base_url, proc)
            log(f"{spec.describe()} on {base_url} (pid {proc.pid}, log {log_path.name})")
            yield Server(base_url=base_url, spec=spec, log_path=log_path, pid=proc.pid)
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
