"""API throughput and latency: create, get, list; list at 100,000 posts; vs a bare Litestar app.

Run: make bench   (or .venv/bin/python -m bench api)
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench.common import load, summary
from octopost.keys import random_id
from octopost.models import Post, PostStatus
from octopost.store import Store
from tests.server import ServerProcess, free_port

CONCURRENCY = 16
REQUESTS = 3000
SEED = 100_000


async def _wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def seed(db_path: Path, count: int) -> None:
    """Insert `count` posts straight into the database (the server keeps running: WAL)."""
    store = await Store(db_path).open()
    statuses = [PostStatus.DRAFT, PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.SCHEDULED]
    start = datetime.now(UTC) - timedelta(days=30)
    try:
        batch: list[Post] = []
        for i in range(count):
            when = start + timedelta(seconds=i)
            status = statuses[i % len(statuses)]
            batch.append(
                Post(
                    id=random_id("post_"),
                    content=f"Seeded post number {i} with a little text to make it realistic.",
                    platforms=["mastodon", "bluesky", "twitter"],
                    status=status,
                    scheduled_for=when + timedelta(days=60)
                    if status is PostStatus.SCHEDULED
                    else None,
                    media=None,
                    created_at=when,
                    updated_at=when,
                    published_at=when if status is PostStatus.PUBLISHED else None,
                )
            )
            if len(batch) == 10_000:
                await store.posts.insert_many(batch)
                batch = []
        if batch:
            await store.posts.insert_many(batch)
    finally:
        await store.close()


async def main() -> None:
    print("\n== API benchmark (bench/api.py) ==")
    print(
        f"   {CONCURRENCY} concurrent clients, {REQUESTS} requests per case, client and server on this machine"
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        server = ServerProcess(data, {"OCTOPOST_SERVER_LOG_LEVEL": "warning"})
        bare_port = free_port()
        bare = subprocess.Popen(
            [sys.executable, "-m", "bench.bare", str(bare_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await asyncio.to_thread(server.start)
            await _wait_http(f"http://127.0.0.1:{bare_port}/bare/x")
            secret = next(w for w in server.stdout().split() if w.startswith("oct_live_"))
            headers = {"Authorization": f"Bearer {secret}"}
            connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
            async with aiohttp.ClientSession(
                base_url=server.url, headers=headers, connector=connector
            ) as http:
                ids: list[str] = []

                async def create(i: int) -> None:
                    body = {"content": f"Benchmark post {i}", "platforms": ["mastodon", "bluesky"]}
                    async with http.post("/v1/posts", json=body) as resp:
                        assert resp.status == 201, await resp.text()
                        ids.append((await resp.json())["id"])

                async def read(i: int) -> None:
                    async with http.get(f"/v1/posts/{random.choice(ids)}") as resp:
                        assert resp.status == 200
                        await resp.read()

                async def list_page(i: int) -> None:
                    async with http.get("/v1/posts", params={"limit": "100"}) as resp:
                        assert resp.status == 200
                        await resp.read()

                await load(create, total=200, concurrency=CONCURRENCY)  # warm-up
                results = {}
                results["create"] = summary(
                    "POST /v1/posts", *await load(create, total=REQUESTS, concurrency=CONCURRENCY)
                )
                results["get"] = summary(
                    "GET /v1/posts/{id}", *await load(read, total=REQUESTS, concurrency=CONCURRENCY)
                )
                results["list"] = summary(
                    f"GET /v1/posts?limit=100 ({len(ids)} posts)",
                    *await load(list_page, total=REQUESTS // 3, concurrency=CONCURRENCY),
                )

            async with aiohttp.ClientSession(
                base_url=f"http://127.0.0.1:{bare_port}",
                connector=aiohttp.TCPConnector(limit=CONCURRENCY * 2),
            ) as bare_http:

                async def bare_create(i: int) -> None:
                    async with bare_http.post(
                        "/bare",
                        json={
                            "content": f"Benchmark post {i}",
                            "platforms": ["mastodon", "bluesky"],
                        },
                    ) as resp:
                        assert resp.status == 201
                        await resp.read()

                async def bare_read(i: int) -> None:
                    async with bare_http.get(f"/bare/post_{i}") as resp:
                        assert resp.status == 200
                        await resp.read()

                await load(bare_create, total=200, concurrency=CONCURRENCY)
                results["bare_create"] = summary(
                    "bare Litestar POST (same stack)",
                    *await load(bare_create, total=REQUESTS, concurrency=CONCURRENCY),
                )
                results["bare_get"] = summary(
                    "bare Litestar GET (same stack)",
                    *await load(bare_read, total=REQUESTS, concurrency=CONCURRENCY),
                )

            print(
                f"  ratio create / bare POST: {results['create']['rps'] / results['bare_create']['rps']:.2f} of the framework's throughput"
            )
            print(
                f"  ratio get / bare GET:     {results['get']['rps'] / results['bare_get']['rps']:.2f} of the framework's throughput"
            )

            started = time.perf_counter()
            await seed(data / "octopost.db", SEED)
            print(f"\n  seeded {SEED:,} posts in {time.perf_counter() - started:.1f} s")
            async with aiohttp.ClientSession(base_url=server.url, headers=headers) as http:
                for label, params in (
                    ("list limit=100, newest page", {"limit": "100"}),
                    ("list limit=100, status=published", {"limit": "100", "status": "published"}),
                    ("list limit=100, offset=50000", {"limit": "100", "offset": "50000"}),
                ):

                    async def one(i: int, params: dict[str, str] = params) -> None:
                        async with http.get("/v1/posts", params=params) as resp:
                            assert resp.status == 200
                            await resp.read()

                    await load(one, total=20, concurrency=1)
                    summary(
                        f"{label} @ {SEED // 1000}k", *await load(one, total=300, concurrency=1)
                    )
        finally:
            bare.terminate()
            bare.wait(10)
            server.kill()
