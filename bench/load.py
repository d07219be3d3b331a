"""Load generators: Debian's ``wrk`` (preferred) or a small threaded Python client (fallback).

Both answer a :class:`LoadResult` with requests/s and latency percentiles over the measured
window; a warm-up run before it is discarded.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.env import WORK_DIR, log

WRK_SCRIPT = """\
-- Written by bench/load.py: print the summary as one JSON line after the run.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"status_errors":%d,' ..
    '"socket_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
  io.stdout:flush()
end
"""

# Appended to WRK_SCRIPT when a scenario drives several paths: each request takes the next.
WRK_PATHS = """\
local paths = {%s}
local next_path = 0
request = function()
  next_path = next_path %% #paths + 1
  return wrk.format(nil, paths[next_path])
end
"""


def wrk_script(paths: list[str] | None = None) -> str:
    """The Lua script for wrk: the summary hook, and a request per path in turn if given."""
    if not paths:
        return WRK_SCRIPT
    for path in paths:
        if not re.fullmatch(r"/[A-Za-z0-9/?&=%._~+,-]*", path):
            raise ValueError(f"not a plain URL path: {path!r}")  # no quotes to escape in Lua
    return WRK_SCRIPT + WRK_PATHS % ", ".join(f'"{p}"' for p in paths)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
_TEXT_LATENCY = re.compile(r"^\s*(50|90|99)(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
_TEXT_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)([KMGT]?)B read")
_TEXT_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_TEXT_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk_text(text: str) -> dict[str, float] | None:
    """Figures from wrk's own ``--latency`` report (when the Lua summary line is missing)."""
    req = _TEXT_REQUESTS.search(text)
    lat = {int(p): float(v) * _UNITS_MS[u] for p, v, u in _TEXT_LATENCY.findall(text)}
    if req is None or not {50, 90, 99} <= lat.keys():
        return None
    size = (
        float(req.group(4))
        * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[req.group(5)]
    )
    socket = _TEXT_SOCKET.search(text)
    status = _TEXT_ERRORS.search(text)
    return {
        "requests": int(req.group(1)),
        "duration_us": float(req.group(2)) * _UNITS_MS[req.group(3)] * 1000,
        "bytes": size,
        "status_errors": int(status.group(1)) if status else 0,
        "socket_errors": sum(int(x) for x in socket.groups()) if socket else 0,
        "p50_us": lat[50] * 1000,
        "p90_us": lat[90] * 1000,
        "p99_us": lat[99] * 1000,
        "max_us": lat[99] * 1000,  # the text report has no exact maximum here
    }


@dataclass
class LoadSpec:
    """How hard and how long to drive one URL."""

    duration_s: float = 10.0
    warmup_s: float = 2.0
    connections: int = 8
    threads: int = 2  # wrk threads (the Python client uses one thread per connection)


@dataclass
class LoadResult:
    """What the load generator measured."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # non-2xx/3xx answers plus socket errors
    bytes_per_request: float
    tool: str
    mean_ms: float | None = None
    notes: list[str] = field(default_factory=list)
    server: dict[str, Any] = field(default_factory=dict)  # e.g. server_cpu_s from bench.cpu


def wrk_available() -> bool:
    """Whether ``wrk`` is on the PATH."""
    return shutil.which("wrk") is not None


def try_install_wrk() -> bool:
    """``apt-get install -y wrk`` when we may (root, apt present); True when it worked."""
    if wrk_available():
        return True
    if shutil.which("apt-get") is None:
        return False
    import os

    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if prefix is None:
        return False
    log("wrk is missing: apt-get install -y wrk")
    for cmd in (
        [*prefix, "apt-get", "install", "-y", "-qq", "wrk"],
        [*prefix, "apt-get", "update", "-qq"],
        [*prefix, "apt-get", "install", "-y", "-qq", "wrk"],
    ):
        subprocess.run(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            check=False,
        )
        if wrk_available():
            return True
    return False


class Driver:
    """Drives URLs with wrk when available, else with the Python client."""

    def __init__(self, spec: LoadSpec, use_wrk: bool) -> None:
        self.spec = spec
        self.use_wrk = use_wrk
        self.tool = self._tool_name()
        self._script: Path | None = None

    def _tool_name(self) -> str:
        if not self.use_wrk:
            return "python threads (fallback: wrk not available)"
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        first = (out.stdout or out.stderr).strip().splitlines()
        return first[0].split(" Copyright")[0] if first else "wrk"

    def run(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        probe: Any = None,
        paths: list[str] | None = None,
    ) -> LoadResult:
        """Warm up, then measure ``url`` (``probe.start()``/``stop()`` around the measurement).

        With ``paths``, the requests go to those paths of ``url``'s server in turn (each
        connection cycles through them), e.g. many item pages rather than one cached page.
        """
        if self.use_wrk:
            self._wrk(url, self.spec.warmup_s, headers, paths)
        else:
            python_load(url, self.spec.warmup_s, self.spec.connections, headers, paths)
        if probe is not None:
            probe.start()
        if self.use_wrk:
            result = self._wrk(url, self.spec.duration_s, headers, paths)
        else:
            result = python_load(url, self.spec.duration_s, self.spec.connections, headers, paths)
        if probe is not None:
            result.server = probe.stop()
        return result

    def _wrk(
        self,
        url: str,
        seconds: float,
        headers: dict[str, str] | None,
        paths: list[str] | None = None,
    ) -> LoadResult:
        if self._script is None:
            self._script = WORK_DIR / "report.lua"
            self._script.write_text(WRK_SCRIPT)
        script = self._script
        if paths:
            script = WORK_DIR / "paths.lua"
            script.write_text(wrk_script(paths))
        cmd = [
            "wrk",
            f"--threads={min(self.spec.threads, self.spec.connections)}",
            f"--connections={self.spec.connections}",
            f"--duration={max(1, round(seconds))}s",
            "--timeout=10s",
            "--latency",
            f"--script={script}",
        ]
        for name, value in (headers or {}).items():
            cmd += ["--header", f"{name}: {value}"]
        cmd.append(url)
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        line = next((x for x in out.stdout.splitlines() if "BENCH_JSON {" in x), None)
        if line is not None:
            data = json.loads(line[line.index("BENCH_JSON {") + len("BENCH_JSON ") :])
        else:
            # Seen once on a loaded machine: wrk ended well but its Lua summary was missing.
            data = parse_wrk_text(out.stdout)  # type: ignore[assignment]
        if out.returncode != 0 or data is None:
            raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout}")
        secs = data["duration_us"] / 1e6
        n = data["requests"]
        return LoadResult(
            requests=n,
            seconds=secs,
            rps=n / secs if secs else 0.0,
            p50_ms=data["p50_us"] / 1000,
            p90_ms=data["p90_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
            max_ms=data["max_us"] / 1000,
            errors=data["status_errors"] + data["socket_errors"],
            bytes_per_request=data["bytes"] / n if n else 0.0,
            tool=self.tool,
            mean_ms=data["mean_us"] / 1000 if data.get("mean_us") is not None else None,
        )


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def python_load(
    url: str,
    seconds: float,
    connections: int,
    headers: dict[str, str] | None = None,
    paths: list[str] | None = None,
) -> LoadResult:
    """Closed-loop load: ``connections`` threads, each with its own keep-alive connection.

    Weaker than wrk (the client shares the GIL and the machine's CPUs with the server), so its
    absolute figures are lower; the ratios to /healthz stay meaningful. With ``paths``, each
    connection requests them in turn (starting at a different one).
    """
    parts = urllib.parse.urlsplit(url)
    targets = paths or [parts.path + (f"?{parts.query}" if parts.query else "")]
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    sizes = [0] * connections
    stop_at = time.perf_counter() + seconds

    def worker(i: int) -> None:
        conn: http.client.HTTPConnection | None = None
        turn = i
        while time.perf_counter() < stop_at:
            target = targets[turn % len(targets)]
            turn += 1
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            t0 = time.perf_counter()
            try:
                conn.request("GET", target, headers=headers or {})
                resp = conn.getresponse()
                body = resp.read()
                if resp.status >= 400:
                    errors[i] += 1
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                if conn is not None:
                    conn.close()
                conn = None
                continue
            latencies[i].append(time.perf_counter() - t0)
            sizes[i] += len(body)
        if conn is not None:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    values = sorted(x for per in latencies for x in per)
    n = len(values)
    return LoadResult(
        requests=n,
        seconds=elapsed,
        rps=n / elapsed if elapsed else 0.0,
        p50_ms=_percentile(values, 50) * 1000,
        p90_ms=_percentile(values, 90) * 1000,
        p99_ms=_percentile(values, 99) * 1000,
        max_ms=(values[-1] if values else 0.0) * 1000,
        errors=sum(errors),
        bytes_per_request=sum(sizes) / n if n else 0.0,
        tool="python threads (fallback: wrk not available)",
        mean_ms=sum(values) / n * 1000 if n else None,
        notes=["load generated by the Python fallback client, not wrk"],
    )
