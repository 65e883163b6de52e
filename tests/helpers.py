"""Test helpers: an app on a temporary database with a live key, and polling."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from octopost.app import create_app
from octopost.config import Config, load_config
from octopost.services import Services
from octopost.store import Store, Tx

SEED_POST_FIELDS = [
    "id",
    "content",
    "platforms",
    "status",
    "scheduled_for",
    "media",
    "platform_results",
    "created_at",
    "updated_at",
    "published_at",
    "language",  # Octopost's addition to the seed's fields: the post's BCP 47 tag or null
]


def post_shapes(scheduled_for: str) -> list[dict[str, Any]]:
    """A create body of every shape: plain; scheduled, with media and a language; a
    thread; per-platform overrides; an auto-split thread with markers."""
    return [
        {"content": "plain", "platforms": ["bluesky"]},
        {
            "content": "scheduled with media",
            "platforms": ["mastodon", "bluesky"],
            "scheduled_for": scheduled_for,
            "language": "pt-BR",
            "media": {"images": [{"url": "https://example.com/a.png", "alt_text": "a cat"}]},
        },
        {
            "content": "one",
            "platforms": ["bluesky", "mastodon", "linkedin"],
            "segments": [{"content": "one"}, {"content": "two"}],
        },
        {
            "content": "shared",
            "platforms": ["mastodon", "linkedin"],
            "overrides": {"linkedin": {"content": "for LinkedIn"}},
        },
        {"content": "a " * 400, "platforms": ["bluesky"], "thread": "auto", "thread_marker": True},
    ]


def make_config(tmp: Path, **env: str) -> Config:
    values = {
        "OCTOPOST_DATABASE_PATH": str(tmp / "octopost.db"),
        "OCTOPOST_SECURITY_ALLOW_PRIVATE_URLS": "true",
        "OCTOPOST_PUBLISHING_BACKOFF_BASE": "0.01",
        "OCTOPOST_PUBLISHING_BACKOFF_MAX": "0.05",
        "OCTOPOST_PUBLISHING_REQUEST_TIMEOUT": "10",
        "OCTOPOST_SERVER_SHUTDOWN_GRACE": "2",
    }
    values.update(env)
    return load_config(env=values)


@dataclass
class Api:
    client: httpx.AsyncClient
    services: Services
    key: str
    #: the app's in-process transport (a browser in tests/oauth_flow.py mounts it)
    transport: httpx.ASGITransport | None = None

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}

    def _headers(self, kw: dict[str, Any]) -> dict[str, str]:
        return {**self.auth(kw.pop("key", None)), **kw.pop("headers", {})}

    async def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return await self.client.post(path, json=json, headers=self._headers(kw), **kw)

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.client.get(path, headers=self._headers(kw), **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return await self.client.put(path, json=json, headers=self._headers(kw), **kw)

    async def delete(self, path: str, **kw: Any) -> Any:
        return await self.client.delete(path, headers=self._headers(kw), **kw)

    async def wait_status(
        self, post_id: str, statuses: set[str], timeout: float = 10.0, key: str | None = None
    ) -> dict[str, Any]:
        """Poll GET until the post reaches one of `statuses` (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = (await self.get(f"/v1/posts/{post_id}", key=key)).json()
            if body.get("status") in statuses:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"post {post_id} stuck in {body.get('status')}: {body}")
            await asyncio.sleep(0.01)


@asynccontextmanager
async def running_api(config: Config, **kwargs: Any) -> AsyncIterator[Api]:
    """The app in this event loop (lifespan entered here, so tests may call services)."""
    app = create_app(config, **kwargs)
    started = asyncio.Event()
    stop = asyncio.Event()

    async def lifespan() -> None:
        # One task enters and exits the lifespan (anyio scopes must not change task).
        async with app.lifespan():
            started.set()
            await stop.wait()

    runner = asyncio.create_task(lifespan())
    await asyncio.wait(
        [runner, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED
    )
    if runner.done():
        runner.result()  # start-up failed: raise its error
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://octopost.test"
        ) as client:
            services: Services = app.state.services
            _, key = await services.keys.create("tests")
            yield Api(client, services, key, transport)
    finally:
        stop.set()
        await runner


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class Clock:
    """A clock the test moves by hand (`clock.now += DAY`): epoch seconds, as fakes and
    adapters read them."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def hold_writer(store: Store) -> tuple[threading.Event, asyncio.Task[None]]:
    """Keep the store's writer thread busy until the returned event is set: writes made
    meanwhile queue up, so which of them land together is decided by the test."""
    entered, release = threading.Event(), threading.Event()

    def block(tx: Tx) -> None:
        entered.set()
        release.wait(30)

    task = asyncio.create_task(store.db.run(block, urgent=True))
    assert await asyncio.to_thread(entered.wait, 30)
    return release, task


async def until_queued(store: Store, count: int) -> None:
    """Let the loop run until `count` writes wait behind a held writer (bounded)."""
    for _ in range(10_000):
        if store.db.queued >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{store.db.queued} writes queued, expected {count}")
