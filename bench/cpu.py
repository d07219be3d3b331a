"""Server-side CPU per request: the gunicorn workers plus the database backends serving them.

Requests per second depend on everything else the machine does at the same time (the load
generator shares the CPUs; on a busy machine other programs do too). The CPU the server side
spends per request does not, so it gives a steadier comparison with /healthz: on N free cores,
the server can answer at most N / (CPU seconds per request) requests per second.
Linux only (``/proc``); elsewhere the figures are simply left out.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces: split after its closing parenthesis.
    return raw[raw.rfind(")") + 2 :].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process so far."""
    fields = _stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15)


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (the gunicorn workers of a master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:  # ppid (field 4)
                found.append(int(entry.name))
    return found


class CpuProbe:
    """Sums the CPU time of the server's processes between ``start()`` and ``stop()``."""

    def __init__(self, master_pid: int, engine: sa.Engine | None) -> None:
        self.master_pid = master_pid
        self.engine = engine if engine is not None and engine.dialect.name == "postgresql" else None
        self._start: dict[int, float] = {}

    def _pids(self) -> list[int]:
        pids = children(self.master_pid)
        if self.engine is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError), self.engine.connect() as conn:
                pids += [
                    int(p)
                    for p in conn.execute(
                        sa.text(
                            "SELECT pid FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    ).scalars()
                ]
        return pids

    def _snapshot(self) -> dict[int, float]:
        snap = {}
        for pid in self._pids():
            value = cpu_seconds(pid)
            if value is not None:
                snap[pid] = value
        return snap

    def start(self) -> None:
        """Remember where every server process stands."""
        self._start = self._snapshot()

    def stop(self) -> dict[str, Any]:
        """CPU seconds spent since ``start()`` (processes born meanwhile count from zero)."""
        end = self._snapshot()
        total = sum(v - self._start.get(pid, 0.0) for pid, v in end.items())
        return {"server_cpu_s": max(total, 0.0), "processes": len(end)}


def available() -> bool:
    """Whether /proc gives us CPU times (Linux)."""
    return cpu_seconds(os.getpid()) is not None
