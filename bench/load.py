"""Under load: 1,000 concurrent clients on the API while scheduled posts come due.

Each client sends its next request as soon as the previous one is answered (closed
loop, no think time): 40% get, 30% list (limit 20), 20% create, 5% update, 5% publish
(sandbox), on a sandbox key. Meanwhile live posts scheduled during the run go to three
platform fakes (their own process) answering after PLATFORM_DELAY.

Run: make bench   (or .venv/bin/python -m bench load [--quick])
"""

from __future__ import annotations

import asyncio
import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench import common
from bench.common import connect_accounts, goal, keep_log, pct
from bench.fakes import FakesProcess
from octopost.models import iso
from tests.server import ServerProcess

CLIENTS = 1000
PLATFORMS = ["mastodon", "bluesky", "linkedin"]
PLATFORM_DELAY = 0.1
SCHEDULED = 10
MIX = (("get", 40), ("list", 30), ("create", 20), ("update", 5), ("publish", 5))
WRITES = ("create", "update", "publish")


def _more_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 8192:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))


async def main() -> None:
    duration = 8.0 if common.QUICK else 60.0
    _more_files()
    print(
        f"\n== Load: {CLIENTS} concurrent clients for {duration:.0f} s "
        f"({', '.join(f'{p}% {op}' for op, p in MIX)}), {SCHEDULED} scheduled posts due meanwhile =="
    )
    with FakesProcess(PLATFORM_DELAY, PLATFORMS) as fakes, tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(
            Path(tmp), {**fakes.env, "OCTOPOST_SERVER_LOG_LEVEL": "warning", **common.SERVER_ENV}
        )
        try:
            await asyncio.to_thread(server.start)
            secret = next(w for w in server.stdout().split() if w.startswith("oct_live_"))
            async with aiohttp.ClientSession(
                base_url=server.url, headers={"Authorization": f"Bearer {secret}"}
            ) as live:
                await connect_accounts(live, fakes.credentials)
                await _run(server, live, duration)
        finally:
            server.kill()
            keep_log(server, "load")


async def _sandbox_key(server: ServerProcess) -> str:
    from octopost.keys import KeyService
    from octopost.store import Store

    store = await Store(server.data_dir / "octopost.db").open()
    try:
        _, secret = await KeyService(store).create("load", sandbox=True)
        return secret
    finally:
        await store.close()


async def _run(server: ServerProcess, live: aiohttp.ClientSession, duration: float) -> None:
    sandbox = await _sandbox_key(server)
    connector = aiohttp.TCPConnector(limit=CLIENTS + 50)
    async with aiohttp.ClientSession(
        base_url=server.url,
        headers={"Authorization": f"Bearer {sandbox}"},
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=120),
    ) as http:
        drafts: list[str] = []
        for i in range(100 if common.QUICK else 500):
            async with http.post(
                "/v1/posts", json={"content": f"seed {i}", "platforms": ["mastodon"]}
            ) as resp:
                drafts.append((await resp.json())["id"])
        start = datetime.now(UTC) + timedelta(seconds=2)
        # due from 2 s into the run to 3 s before its end
        spacing = (duration - 5) / SCHEDULED
        scheduled: list[str] = []
        for k in range(SCHEDULED):
            when = start + timedelta(seconds=2 + k * spacing)
            body = {
                "content": f"Scheduled under load {k}",
                "platforms": PLATFORMS,
                "scheduled_for": iso(when),
            }
            async with live.post("/v1/posts", json=body) as resp:
                assert resp.status == 201, await resp.text()
                scheduled.append((await resp.json())["id"])
        await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))

        latencies: dict[str, list[float]] = {op: [] for op, _ in MIX}
        errors: list[str] = []
        ops = [op for op, weight in MIX for _ in range(weight)]
        deadline = time.perf_counter() + duration

        async def request(op: str, rng: random.Random) -> float:
            """One operation; returns when its measured request began."""
            began = time.perf_counter()
            if op == "get":
                async with http.get(f"/v1/posts/{rng.choice(drafts)}") as resp:
                    await resp.read()
            elif op == "list":
                async with http.get("/v1/posts", params={"limit": "20"}) as resp:
                    await resp.read()
            elif op == "create":
                body = {"content": "load", "platforms": ["mastodon", "bluesky"]}
                async with http.post("/v1/posts", json=body) as resp:
                    await resp.read()
            elif op == "update":
                body = {"content": f"edited {rng.random()}"}
                async with http.put(f"/v1/posts/{rng.choice(drafts)}", json=body) as resp:
                    await resp.read()
            else:  # the post to publish is made first; only the publish request is timed
                body = {"content": "publish me", "platforms": ["mastodon", "bluesky"]}
                async with http.post("/v1/posts", json=body) as resp:
                    pid = (await resp.json())["id"]
                began = time.perf_counter()
                async with http.post(f"/v1/posts/{pid}/publish") as resp:
                    await resp.read()
            if resp.status >= 400:
                errors.append(f"{op} {resp.status}")
            return began

        async def client(n: int) -> None:
            rng = random.Random(n)
            await asyncio.sleep(rng.random())  # do not all start in the same millisecond
            while time.perf_counter() < deadline:
                op = rng.choice(ops)
                began = time.perf_counter()
                try:
                    began = await request(op, rng)
                except (TimeoutError, aiohttp.ClientError) as exc:
                    errors.append(f"{op} {type(exc).__name__}")
                latencies[op].append((time.perf_counter() - began) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(CLIENTS)))
        took = time.perf_counter() - began
        total = sum(len(v) for v in latencies.values())
        print(
            f"  {total:,} requests in {took:.0f} s ({total / took:.0f} req/s), {len(errors)} errors"
        )
        for op, values in latencies.items():
            print(
                f"  {op:<8} p50 {pct(values, 50):7.0f} ms   p99 {pct(values, 99):7.0f} ms   ({len(values):,})"
            )
        writes = [v for op in WRITES for v in latencies[op]]
        goal(f"API writes p99 under {CLIENTS} clients", pct(writes, 99) / 1000, 1.0, "s")

        late: list[float] = []
        for pid in scheduled:
            for _ in range(600):
                async with live.get(f"/v1/posts/{pid}") as resp:
                    post = await resp.json()
                if post["status"] in ("published", "failed"):
                    break
                await asyncio.sleep(0.1)
            assert post["status"] == "published", post
            done = datetime.fromisoformat(post["published_at"])
            due = datetime.fromisoformat(post["scheduled_for"])
            late.append((done - due).total_seconds() - PLATFORM_DELAY)
        print(
            "  scheduled posts: published after their time, less the platform latency: "
            + ", ".join(f"{x:.2f}" for x in late)
            + " s"
        )
        goal(
            f"scheduled post under load: published - (due + {PLATFORM_DELAY * 1000:.0f} ms)",
            max(late),
            1.0,
            "s",
            note=f"the worst of {len(late)}",
        )
