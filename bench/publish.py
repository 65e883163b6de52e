"""Publishing figures: fan-out to all nine platform fakes, and a burst of 1,000 scheduled posts.

The service runs as its own process (python -m octopost serve); the platform
fakes (tests/fakes) and the media server run in this process on 127.0.0.1.

Run: make bench   (or .venv/bin/python -m bench publish)
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import load, pct, peak_rss_mb
from octopost.models import iso
from octopost.platforms import ADAPTERS
from tests.fakes._base import FakePlatform
from tests.fakes.media import MediaServer
from tests.platform_env import platform_env
from tests.platforms.harness import fake_class
from tests.server import ServerProcess

FANOUT_DELAY = 0.2
BURST_POSTS = 1000
BURST_PLATFORMS = ("mastodon", "bluesky", "linkedin")
BURST_DELAY = 0.05
SERVER_ENV: dict[str, str] = {}


async def _start(server: ServerProcess) -> tuple[str, dict[str, str]]:
    await asyncio.to_thread(server.start)
    secret = next(w for w in server.stdout().split() if w.startswith("oct_live_"))
    return secret, {"Authorization": f"Bearer {secret}"}


async def _connect(http: aiohttp.ClientSession, fakes: dict[str, FakePlatform]) -> None:
    for fake in fakes.values():
        body = {"platform": fake.platform, "credentials": fake.credentials()}
        async with http.post("/v1/accounts", json=body) as resp:
            assert resp.status == 201, await resp.text()


async def _publish_and_wait(
    http: aiohttp.ClientSession, body: dict[str, Any]
) -> tuple[float, dict[str, Any]]:
    async with http.post("/v1/posts", json=body) as resp:
        pid = (await resp.json())["id"]
    started = time.perf_counter()
    async with http.post(f"/v1/posts/{pid}/publish") as resp:
        assert resp.status == 202, await resp.text()
    while True:
        async with http.get(f"/v1/posts/{pid}") as resp:
            post = await resp.json()
        if post["status"] in ("published", "failed"):
            return time.perf_counter() - started, post
        await asyncio.sleep(0.005)


async def fanout() -> None:
    print(
        f"\n== Fan-out: one post to every platform fake, each answering after {int(FANOUT_DELAY * 1000)} ms =="
    )
    async with AsyncExitStack() as stack:
        media = await MediaServer().start()
        stack.push_async_callback(media.stop)
        fakes = {
            p: await stack.enter_async_context(fake_class(p)(delay=FANOUT_DELAY)) for p in ADAPTERS
        }
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        server = ServerProcess(
            Path(tmp),
            {**platform_env(list(fakes.values())), "OCTOPOST_SERVER_LOG_LEVEL": "warning"},
        )
        stack.callback(server.kill)
        _, headers = await _start(server)
        async with aiohttp.ClientSession(base_url=server.url, headers=headers) as http:
            await _connect(http, fakes)
            text_platforms = [
                p
                for p in ADAPTERS
                if not ADAPTERS[p].limits.requires_media and not ADAPTERS[p].limits.requires_video
            ]
            cases = {
                f"text to {len(text_platforms)} platforms": {"platforms": text_platforms},
                "video to all 9 platforms": {
                    "platforms": list(ADAPTERS),
                    "media": {"video": {"url": media.at("video.mp4")}},
                },
            }
            for label, extra in cases.items():
                times = []
                for i in range(5):
                    elapsed, post = await _publish_and_wait(
                        http, {"content": f"Fan-out {label} {i}", **extra}
                    )
                    failed = [p for p, r in post["platform_results"].items() if not r["success"]]
                    assert post["status"] == "published" and not failed, (
                        failed,
                        post["platform_results"],
                    )
                    times.append(elapsed)
                best, median = min(times), pct(times, 50)
                print(
                    f"  {label:<26} publish-to-final p50 {median * 1000:6.0f} ms (best {best * 1000:.0f} ms)"
                    f"   ratio to {int(FANOUT_DELAY * 1000)} ms: {median / FANOUT_DELAY:.2f}"
                )


async def burst() -> None:
    print(
        f"\n== Burst: {BURST_POSTS} posts scheduled for the same instant, "
        f"{len(BURST_PLATFORMS)} platforms each, fakes answering after {int(BURST_DELAY * 1000)} ms =="
    )
    async with AsyncExitStack() as stack:
        fakes = {
            p: await stack.enter_async_context(fake_class(p)(delay=BURST_DELAY))
            for p in BURST_PLATFORMS
        }
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        server = ServerProcess(Path(tmp), {**platform_env(list(fakes.values())), **SERVER_ENV})
        stack.callback(server.kill)
        _, headers = await _start(server)
        assert server.proc is not None
        async with aiohttp.ClientSession(
            base_url=server.url, headers=headers, connector=aiohttp.TCPConnector(limit=32)
        ) as http:
            await _connect(http, fakes)
            due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)

            async def schedule(i: int) -> None:
                body = {
                    "content": f"Burst post {i}",
                    "platforms": list(BURST_PLATFORMS),
                    "scheduled_for": iso(due),
                }
                async with http.post("/v1/posts", json=body) as resp:
                    assert resp.status == 201, await resp.text()

            _, took = await load(schedule, total=BURST_POSTS, concurrency=16)
            print(f"  scheduled {BURST_POSTS} posts in {took:.1f} s; all due at {iso(due)}")
            await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
            started = time.perf_counter()
            while True:
                final = 0
                for status in ("published", "failed"):
                    async with http.get(
                        "/v1/posts", params={"status": status, "limit": "1"}
                    ) as resp:
                        final += (await resp.json())["total"]
                if final >= BURST_POSTS:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            async with http.get("/v1/posts", params={"status": "failed", "limit": "1"}) as resp:
                failed = (await resp.json())["total"]
        rss = peak_rss_mb(server.proc.pid)
        lateness = [
            float(m)
            for m in re.findall(r"claimed scheduled post \S+ \(([0-9.]+) s late\)", server.stderr())
        ]
        created = {p: len(f.posts) for p, f in fakes.items()}
        print(
            f"  all {BURST_POSTS} final {elapsed:.2f} s after the due time ({failed} failed); posts per fake: {created}"
        )
        print(
            f"  claim lateness over {len(lateness)} claims: p50 {pct(lateness, 50) * 1000:.0f} ms, "
            f"p99 {pct(lateness, 99) * 1000:.0f} ms, max {max(lateness or [0]) * 1000:.0f} ms"
        )
        print(f"  peak RSS of the service process: {rss:.0f} MiB")


async def main() -> None:
    await fanout()
    await burst()
