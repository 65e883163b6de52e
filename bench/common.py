"""Shared benchmark helpers: percentiles, a concurrent load loop, process RSS."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, latencies_ms: list[float], seconds: float) -> dict[str, float]:
    rps = len(latencies_ms) / seconds if seconds else 0.0
    row = {
        "rps": rps,
        "p50": pct(latencies_ms, 50),
        "p99": pct(latencies_ms, 99),
        "mean": statistics.fmean(latencies_ms) if latencies_ms else float("nan"),
    }
    print(f"  {name:<34} {rps:9.0f} req/s   p50 {row['p50']:7.2f} ms   p99 {row['p99']:7.2f} ms")
    return row


async def load(
    call: Callable[[int], Awaitable[None]], *, total: int, concurrency: int
) -> tuple[list[float], float]:
    """Run `call(i)` `total` times with `concurrency` workers; per-call latencies (ms) and wall time."""
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await call(i)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
