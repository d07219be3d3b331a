"""Measuring a call in process: wall time and peak memory growth (for export scenarios)."""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Measurement:
    """Best wall time over the timed runs, and the peak Python memory growth of one run."""

    seconds: float
    peak_mb: float
    result: Any


def measure(func: Callable[[], Any], repeat: int = 3) -> Measurement:
    """Time ``func`` ``repeat`` times (best run, no tracing), then once under tracemalloc.

    Timing and memory are separate runs because tracemalloc slows allocation-heavy code.
    """
    best = float("inf")
    result: Any = None
    for _ in range(max(1, repeat)):
        gc.collect()
        started = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - started)
    del result
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = func()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Measurement(seconds=best, peak_mb=(peak - base) / 1024 / 1024, result=result)
