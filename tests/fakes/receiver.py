"""A webhook receiver on 127.0.0.1 that records what it gets and can fail or stall on demand."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: deque[int] = deque()  # statuses to answer next (then 200)
        self.stall = 0.0
        self.arrived = 0
        self.down = False  # answer 503 to everything (a receiver that is down, port kept)
        self._stopping = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.arrived += 1  # before any stall: the request is in flight from here
        if self.stall:
            with contextlib.suppress(TimeoutError):  # stop() ends a stall at once
                await asyncio.wait_for(self._stopping.wait(), self.stall)
        status = self.answers.popleft() if self.answers else (503 if self.down else 200)
        if status < 300:
            self.received.append(Received(dict(request.headers), body))
        return web.Response(status=status, text="ok" if status < 300 else "nope")

    async def start(self, port: int = 0) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        return self

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.json()["type"] == event_type]
