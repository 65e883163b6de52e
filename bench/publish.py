"""Publishing figures: fan-out to every platform fake, and a burst of scheduled posts
all due at the same instant.

The service runs as its own process (`octopost serve`), the platform fakes and the
media server in another (bench/fakes.py), this process only drives and measures.

Run: make bench   (or .venv/bin/python -m bench publish [--quick])
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench import common
from bench.common import connect_accounts, cpu_seconds, goal, keep_log, pct, peak_rss_mb
from bench.fakes import FakesProcess
from octopost.keys import KeyService, random_id
from octopost.models import Post, PostStatus
from octopost.platforms import ADAPTERS
from octopost.store import Store
from tests.server import ServerProcess

FANOUT_DELAY = 0.2
BURST_PLATFORMS = ["mastodon", "bluesky", "linkedin"]
BURST_DELAY = 0.05
MAX_IN_FLIGHT = 64


async def _start(server: ServerProcess) -> dict[str, str]:
    await asyncio.to_thread(server.start)
    secret = next(w for w in server.stdout().split() if w.startswith("oct_live_"))
    return {"Authorization": f"Bearer {secret}"}


async def _publish_and_wait(http: aiohttp.ClientSession, body: dict[str, Any]) -> float:
    async with http.post("/v1/posts", json=body) as resp:
        pid = (await resp.json())["id"]
    started = time.perf_counter()
    async with http.post(f"/v1/posts/{pid}/publish") as resp:
        assert resp.status == 202, await resp.text()
    while True:
        async with http.get(f"/v1/posts/{pid}") as resp:
            post = await resp.json()
        if post["status"] in ("published", "failed"):
            failed = [p for p, r in post["platform_results"].items() if not r["success"]]
            assert post["status"] == "published" and not failed, post["platform_results"]
            return time.perf_counter() - started
        await asyncio.sleep(0.002)


async def fanout() -> None:
    reps = 2 if common.QUICK else 7
    print(
        f"\n== Fan-out: one post to every platform fake, each answering after "
        f"{int(FANOUT_DELAY * 1000)} ms (p50 of {reps}) =="
    )
    with FakesProcess(FANOUT_DELAY, list(ADAPTERS)) as fakes, tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(
            Path(tmp), {**fakes.env, "OCTOPOST_SERVER_LOG_LEVEL": "warning", **common.SERVER_ENV}
        )
        try:
            headers = await _start(server)
            async with (
                aiohttp.ClientSession(base_url=server.url, headers=headers) as http,
                aiohttp.ClientSession() as control,
            ):
                await connect_accounts(http, fakes.credentials)
                text = [
                    p
                    for p in ADAPTERS
                    if not ADAPTERS[p].limits.requires_media
                    and not ADAPTERS[p].limits.requires_video
                ]
                cases: dict[str, dict[str, Any]] = {
                    "text": {"platforms": text},
                    "video": {
                        "platforms": list(ADAPTERS),
                        "media": {"video": {"url": fakes.media("video.mp4")}},
                    },
                }

                runs = iter(range(1_000_000))

                async def run(label: str, extra: dict[str, Any]) -> float:
                    times = [
                        await _publish_and_wait(
                            http, {"content": f"Fan-out {label} {next(runs)}", **extra}
                        )
                        for _ in range(reps)
                    ]
                    return pct(times, 50)

                # The protocols' own round trips: the same publishes with the fakes
                # answering at once (uploads, status polls, containers).
                async with control.post(f"{fakes.control}/delay", params={"seconds": "0"}):
                    pass
                for label, extra in cases.items():  # warm-up: connections, sessions, caches
                    await _publish_and_wait(http, {"content": f"Warm-up {label}", **extra})
                protocol = {label: await run(label, extra) for label, extra in cases.items()}
                async with control.post(
                    f"{fakes.control}/delay", params={"seconds": str(FANOUT_DELAY)}
                ):
                    pass
                for label, extra in cases.items():
                    median = await run(label, extra)
                    floor = FANOUT_DELAY + protocol[label]
                    print(
                        f"  {label} to {len(extra['platforms'])} platforms: publish-to-final p50 "
                        f"{median * 1000:.0f} ms; with the fakes answering at once "
                        f"{protocol[label] * 1000:.0f} ms, so the floor is "
                        f"{floor * 1000:.0f} ms ({floor / FANOUT_DELAY:.2f}x)"
                    )
                    goal(
                        f"fan-out {label} to {len(extra['platforms'])} / platform latency",
                        median / FANOUT_DELAY,
                        1.1 if label == "text" else 1.2,
                        "x",
                        note=f"floor {floor / FANOUT_DELAY:.2f}x: {FANOUT_DELAY * 1000:.0f} ms "
                        f"+ {protocol[label] * 1000:.0f} ms of protocol round trips",
                    )
        finally:
            server.kill()
            keep_log(server, "fanout")


async def _seed_due(db: Path, count: int, due: datetime) -> str:
    store = await Store(db).open()
    try:
        _, secret = await KeyService(store).create("bench")
        now = datetime.now(UTC)
        for start in range(0, count, 5000):
            await store.posts.insert_many(
                [
                    Post(
                        id=random_id("post_"),
                        content=f"Burst post {i}",
                        platforms=BURST_PLATFORMS,
                        status=PostStatus.SCHEDULED,
                        scheduled_for=due,
                        media=None,
                        created_at=now,
                        updated_at=now,
                    )
                    for i in range(start, min(count, start + 5000))
                ]
            )
        return secret
    finally:
        await store.close()


async def burst() -> None:
    count = 1000 if common.QUICK else 10_000
    deliveries = count * len(BURST_PLATFORMS)
    floor = BURST_DELAY * deliveries / MAX_IN_FLIGHT
    print(
        f"\n== Burst: {count:,} posts due at the same instant, {len(BURST_PLATFORMS)} platforms "
        f"each, fakes answering after {int(BURST_DELAY * 1000)} ms, max_in_flight {MAX_IN_FLIGHT} =="
    )
    print(
        f"  floor: {BURST_DELAY * 1000:.0f} ms x {deliveries:,} deliveries / {MAX_IN_FLIGHT} = {floor:.1f} s"
    )
    with FakesProcess(BURST_DELAY, BURST_PLATFORMS) as fakes, tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        # Time to seed, start the service and connect the accounts (a busy machine).
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(
            seconds=(7 if common.QUICK else 12) + count / 2000
        )
        key = await _seed_due(data / "octopost.db", count, due)
        server = ServerProcess(
            data,
            {
                **fakes.env,
                "OCTOPOST_PUBLISHING_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
                **common.SERVER_ENV,
            },
        )
        try:
            await asyncio.to_thread(server.start)
            assert server.proc is not None
            async with (
                aiohttp.ClientSession(
                    base_url=server.url, headers={"Authorization": f"Bearer {key}"}
                ) as http,
                aiohttp.ClientSession() as control,
            ):
                await connect_accounts(http, fakes.credentials)
                wait = (due - datetime.now(UTC)).total_seconds()
                print(f"  seeded, started and connected {wait:.1f} s before the due time")
                assert wait > 0, "the seeding took too long"
                await asyncio.sleep(wait)
                started = time.perf_counter()
                cpu = cpu_seconds(server.proc.pid)
                fakes_cpu = fakes.cpu()
                while True:
                    final = 0
                    for status in ("published", "failed"):
                        async with http.get(
                            "/v1/posts", params={"status": status, "limit": "1"}
                        ) as resp:
                            final += (await resp.json())["total"]
                    if final >= count:
                        break
                    await asyncio.sleep(0.2)  # a light poll: the service is what is measured
                elapsed = time.perf_counter() - started
                cpu = cpu_seconds(server.proc.pid) - cpu
                fakes_cpu = fakes.cpu() - fakes_cpu
                async with http.get("/v1/posts", params={"status": "failed", "limit": "1"}) as resp:
                    failed = (await resp.json())["total"]
                async with control.get(f"{fakes.control}/counts") as resp:
                    created = await resp.json()
            rss = peak_rss_mb(server.proc.pid)
            late = [
                float(m)
                for m in re.findall(
                    r"claimed \d+ scheduled posts \([-0-9.]+ to ([-0-9.]+) s late\)",
                    server.stderr(),
                )
            ]
            print(f"  posts per fake: {created} ({failed} failed); peak RSS {rss:.0f} MiB")
            print(
                f"  the service used {cpu:.1f} s of CPU meanwhile ({cpu / elapsed:.0%} of one core, "
                f"{cpu / deliveries * 1000:.2f} ms per delivery); the fakes {fakes_cpu / elapsed:.0%}"
            )
            goal(f"burst {count:,}: last claim after the due time", max(late or [99]), 1.0, "s")
            # What CPU time allows: the service runs on one core at most (one process, one
            # interpreter lock), and it shares the machine's cores with the fakes.
            cores = os.cpu_count() or 1
            cpu_floor = max((cpu + fakes_cpu) / cores, cpu)
            print(
                f"  CPU-time floor: the service needed {cpu:.1f} s (one core at most), the fakes "
                f"{fakes_cpu:.1f} s, {cores} cores: at least {cpu_floor:.1f} s "
                f"({cpu_floor / floor:.2f}x the latency floor); the fakes used "
                f"{fakes_cpu / deliveries * 1000:.2f} ms per delivery"
            )
            goal(
                f"burst {count:,}: all final / floor",
                elapsed / floor,
                1.2,
                "x",
                note=f"{elapsed:.1f} s after the due time, floor {floor:.1f} s; "
                f"CPU-time floor {cpu_floor / floor:.2f}x",
            )
        finally:
            server.kill()
            keep_log(server, "burst")


async def main() -> None:
    await fanout()
    await burst()
