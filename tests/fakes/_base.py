"""Shared scaffolding for platform fakes: a real aiohttp server on 127.0.0.1.

Each `tests/fakes/<platform>.py` defines `class Fake(FakePlatform)` that adds the
platform's routes and enforces its protocol (auth, fields, media flows, error
bodies, rate-limit headers). Every request is recorded in `requests`; every post
the fake created is in `posts` (what the platform's timeline would show).

Failure injection (`fail_next`) applies to the next call of the endpoint that
creates the post, answering exactly as the real platform does for that case:

- "auth":        credentials expired/revoked (401, or the platform's equivalent)
- "rate_limit":  429 with the platform's reset header, `retry_after` seconds ahead
- "unavailable": 503 (or the platform's 5xx page)
- "reject":      a content rejection with the platform's error body
- "drop":        create the post, then drop the connection before answering

`list_delay`: a new post shows in the fake's listings (timelines, feeds, finders)
only that many seconds (by the fake's `clock`) after it was created, as platforms
that list posts late do; lookups by id see it at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Failure:
    kind: str
    retry_after: int = 30
    extra: dict[str, Any] = field(default_factory=dict)


class FakePlatform:
    """Base class for fakes. Subclasses implement `setup_routes` and the helpers below."""

    platform: ClassVar[str]
    #: the media a post needs for the contract suite: "text", "image" or "video"
    contract_media: ClassVar[str] = "text"
    #: False: like a real platform, finish a request whose client went away
    cancel_on_disconnect: bool = True

    def __init__(self, *, delay: float = 0.0, clock: Any = time.time) -> None:
        self.delay = delay  # seconds the post-creating endpoint waits before answering
        self.list_delay = 0.0  # seconds before a new post shows in listings
        self.clock = clock
        self.requests: list[Recorded] = []
        self.posts: list[dict[str, Any]] = []
        self.failures: deque[Failure] = deque()
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.app = web.Application(middlewares=[self._record], client_max_size=1024**3)
        self.setup_routes(self.app.router)

    # -- to implement -------------------------------------------------------
    def setup_routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    def credentials(self) -> dict[str, Any]:
        """Credentials this fake accepts, as a user would paste them into POST /v1/accounts."""
        raise NotImplementedError

    def platform_config(self) -> dict[str, Any]:
        """`[platforms.<id>]` config pointing the adapter at this fake."""
        return {"base_url": self.url, "poll_interval": 0.01, "poll_timeout": 5.0}

    # -- controls -----------------------------------------------------------
    def fail_next(self, kind: str, *, count: int = 1, retry_after: int = 30, **extra: Any) -> None:
        for _ in range(count):
            self.failures.append(Failure(kind, retry_after, extra))

    def take_failure(self) -> Failure | None:
        return self.failures.popleft() if self.failures else None

    def listed(self, created: float) -> bool:
        """Whether a post created at `created` (epoch seconds) shows in listings yet."""
        return self.clock() >= created + self.list_delay

    async def slow_down(self) -> None:
        """Called by the post-creating handler: wait `delay` seconds (bench, crash tests)."""
        if self.delay:
            await asyncio.sleep(self.delay)

    @staticmethod
    async def drop_connection(request: web.Request) -> web.StreamResponse:
        """Close the socket without an answer (the post was already created)."""
        transport = request.transport
        if transport is not None:
            transport.close()
        raise asyncio.CancelledError

    # -- lifecycle ----------------------------------------------------------
    async def start(self) -> FakePlatform:
        self._runner = web.AppRunner(
            self.app, access_log=None, handler_cancellation=self.cancel_on_disconnect
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        port = sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakePlatform:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                body,
            )
        )
        return await handler(request)

    def calls(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]
