"""Crash safety with the real server process: SIGKILL mid-publish, SIGTERM with grace."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import httpx

from tests.fakes._base import FakePlatform
from tests.platform_env import platform_env, started_fakes
from tests.server import ServerProcess


async def _start(server: ServerProcess) -> None:
    # Blocking start in a thread: the fakes in this event loop keep answering meanwhile.
    await asyncio.to_thread(server.start)


def _secret(server: ServerProcess) -> str:
    match = re.search(r"oct_live_[A-Za-z0-9]+", server.stdout())
    assert match, server.stdout()
    return match.group(0)


async def _until(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def _connect(http: httpx.AsyncClient, fake: FakePlatform) -> None:
    resp = await http.post(
        "/v1/accounts", json={"platform": fake.platform, "credentials": fake.credentials()}
    )
    assert resp.status_code == 201, resp.text


async def _final(http: httpx.AsyncClient, post_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {}

    async def done() -> bool:
        nonlocal body
        body = (await http.get(f"/v1/posts/{post_id}")).json()
        return body["status"] in ("published", "failed")

    await _until(done)
    return body


async def test_sigkill_mid_publish_resumes_and_posts_exactly_once(tmp_path: Path) -> None:
    async with started_fakes("mastodon", "bluesky", delay=1.0) as fakes:
        for fake in fakes.values():  # like a real platform: finish what was received
            await fake.stop()
            fake.cancel_on_disconnect = False
            await fake.start()
        server = ServerProcess(tmp_path, platform_env(list(fakes.values())))
        try:
            await _start(server)
            headers = {"Authorization": f"Bearer {_secret(server)}"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as http:
                for fake in fakes.values():
                    await _connect(http, fake)
                pid = (
                    await http.post(
                        "/v1/posts",
                        json={"content": "crash-proof", "platforms": ["mastodon", "bluesky"]},
                    )
                ).json()["id"]
                assert (await http.post(f"/v1/posts/{pid}/publish")).status_code == 202

                async def in_flight() -> bool:
                    return bool(
                        fakes["mastodon"].calls("POST", "/api/v1/statuses")
                        and fakes["bluesky"].calls("POST", "/xrpc/com.atproto.repo.createRecord")
                    )

                await _until(in_flight)
                server.kill()  # SIGKILL while both requests are in flight

                async def created() -> bool:  # the platforms finish; the answers are lost
                    return len(fakes["mastodon"].posts) == 1 and len(fakes["bluesky"].posts) == 1

                await _until(created)
                await _start(server)
                final = await _final(http, pid)
            assert final["status"] == "published", final
            for platform in ("mastodon", "bluesky"):
                assert final["platform_results"][platform]["success"], final
                assert len(fakes[platform].posts) == 1, platform
            assert (
                final["platform_results"]["mastodon"]["post_id"] == fakes["mastodon"].posts[0]["id"]
            )
            assert "resuming interrupted publish" in server.stderr()
        finally:
            server.kill()


async def test_sigterm_lets_in_flight_publishes_finish(tmp_path: Path) -> None:
    async with started_fakes("mastodon", delay=1.0) as fakes:
        server = ServerProcess(
            tmp_path, {**platform_env(list(fakes.values())), "OCTOPOST_SERVER_SHUTDOWN_GRACE": "10"}
        )
        try:
            await _start(server)
            headers = {"Authorization": f"Bearer {_secret(server)}"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as http:
                await _connect(http, fakes["mastodon"])
                pid = (
                    await http.post(
                        "/v1/posts", json={"content": "graceful", "platforms": ["mastodon"]}
                    )
                ).json()["id"]
                await http.post(f"/v1/posts/{pid}/publish")
                await _until(lambda: _has_calls(fakes["mastodon"]))
                code = await asyncio.to_thread(server.terminate)
                assert code in (0, -15)
                assert len(fakes["mastodon"].posts) == 1
                await _start(server)
                final = await _final(http, pid)
            assert final["status"] == "published"
            assert len(fakes["mastodon"].posts) == 1
        finally:
            server.kill()


async def _has_calls(fake: FakePlatform) -> bool:
    return bool(fake.calls("POST", "/api/v1/statuses"))
