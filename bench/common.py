"""Shared benchmark helpers: percentiles, a concurrent load loop, process RSS, the goals."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

#: `--quick`: smaller sizes, the whole run in under a minute (figures are indicative)
QUICK = False
#: extra environment for every Octopost process the benchmark starts
#: (`--synchronous=normal` sets OCTOPOST_DATABASE_SYNCHRONOUS)
SERVER_ENV: dict[str, str] = {}
#: `--logs=DIR`: where to keep the stderr of every service process started
LOG_DIR = ""


def keep_log(server: Any, name: str) -> None:
    """Copy a finished service's stderr into LOG_DIR (when set)."""
    if LOG_DIR:
        Path(LOG_DIR).mkdir(parents=True, exist_ok=True)
        (Path(LOG_DIR) / f"{name}.log").write_text(server.stderr())


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
    print(f"  {name:<40} {rps:9.0f} req/s   p50 {row['p50']:7.2f} ms   p99 {row['p99']:7.2f} ms")
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


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident set size (VmRSS now, or VmHWM: the peak) of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a live process has used, in seconds: a figure the other
    work on a shared machine does not inflate the way it inflates wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    return rss_mb(pid, "VmHWM")


async def connect_accounts(
    http: aiohttp.ClientSession, credentials: dict[str, dict[str, Any]]
) -> None:
    for platform, creds in credentials.items():
        body = {"platform": platform, "credentials": creds}
        async with http.post("/v1/accounts", json=body) as resp:
            assert resp.status == 201, await resp.text()


@dataclass
class Goal:
    name: str
    figure: float
    target: float
    unit: str
    higher: bool  # True: the figure must reach the target; False: stay at or under it
    note: str = ""

    @property
    def met(self) -> bool:
        return self.figure >= self.target if self.higher else self.figure <= self.target

    def line(self) -> str:
        sign = ">=" if self.higher else "<="
        verdict = "MET" if self.met else "NOT MET"
        text = f"{self.name:<52} {self.figure:9.2f}{self.unit:<3} target {sign} {self.target:g}{self.unit:<3} {verdict}"
        return text + (f"   ({self.note})" if self.note else "")


GOALS: list[Goal] = []


def goal(
    name: str, figure: float, target: float, unit: str = "", *, higher: bool = False, note: str = ""
) -> Goal:
    """Record a goal's figure and print it with its target at once."""
    found = Goal(name, figure, target, unit, higher, note)
    GOALS.append(found)
    print("  GOAL " + found.line())
    return found
