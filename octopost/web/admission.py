"""Admission: at most `server.max_active_requests` requests are handled at once.

Why: under a flood of clients the event loop's queue of ready work grows with every
request in progress, and the publisher's and scheduler's few steps wait behind all
of it (measured: scheduled posts published 5-10 s late under 1,000 clients). A
request beyond the limit waits here, holding no CPU and adding nothing to that
queue, until one in progress finishes: the service does the same work per second,
and background work finds the loop within a few milliseconds. Waiting requests are
let in in arrival order, writes (POST, PUT, PATCH, DELETE) before reads. Health
checks are never held back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALWAYS = ("/healthz",)


class Admission:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = max(1, limit)
        self.active = 0
        self._writes: deque[asyncio.Future[None]] = deque()
        self._reads: deque[asyncio.Future[None]] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"] in ALWAYS:
            await self.app(scope, receive, send)
            return
        if self.active < self.limit and not self._writes and not self._reads:
            self.active += 1
        else:
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            queue = self._writes if scope.get("method") in WRITES else self._reads
            queue.append(turn)
            try:
                await turn  # a finishing request hands its place over (active unchanged)
            except BaseException:
                if turn.done() and not turn.cancelled():
                    self._release()  # handed over just as the client went away
                else:
                    with contextlib.suppress(ValueError):  # already skipped over
                        queue.remove(turn)
                raise
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    def _release(self) -> None:
        for queue in (self._writes, self._reads):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self.active -= 1
