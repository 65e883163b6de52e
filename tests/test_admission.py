"""Admission: a bounded number of requests in progress, writes let in before reads."""

from __future__ import annotations

import asyncio
from typing import Any

from octopost.web.admission import Admission


def _scope(method: str, path: str = "/v1/posts") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path}


async def _nothing() -> dict[str, Any]:
    return {"type": "http.disconnect"}


async def _ignore(message: Any) -> None:
    return None


async def test_waiting_requests_go_in_writes_first_and_never_above_the_limit() -> None:
    order: list[str] = []
    gate = asyncio.Event()
    running = 0
    most = 0

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        order.append(scope["method"])
        if scope["method"] == "HOLD":
            await gate.wait()
        await asyncio.sleep(0)
        running -= 1

    admission = Admission(app, limit=2)
    held = [asyncio.create_task(admission(_scope("HOLD"), _nothing, _ignore)) for _ in range(2)]
    await asyncio.sleep(0)
    waiting = [
        asyncio.create_task(admission(_scope(method), _nothing, _ignore))
        for method in ("GET", "GET", "POST", "PUT", "GET", "DELETE")
    ]
    health = asyncio.create_task(admission(_scope("GET", "/healthz"), _nothing, _ignore))
    await health  # never held back
    await asyncio.sleep(0)
    assert order == ["HOLD", "HOLD", "GET"]  # the health check only
    gate.set()
    await asyncio.gather(*held, *waiting)
    assert order[3:] == ["POST", "PUT", "DELETE", "GET", "GET", "GET"]
    assert most <= 3  # two admitted at a time (plus the health check)
    assert admission.active == 0


async def test_a_request_that_gives_up_while_waiting_leaves_its_place() -> None:
    gate = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await gate.wait()

    admission = Admission(app, limit=1)
    first = asyncio.create_task(admission(_scope("POST"), _nothing, _ignore))
    await asyncio.sleep(0)
    gone = asyncio.create_task(admission(_scope("POST"), _nothing, _ignore))
    later = asyncio.create_task(admission(_scope("GET"), _nothing, _ignore))
    await asyncio.sleep(0)
    gone.cancel()
    gate.set()
    await asyncio.gather(first, later)
    assert gone.cancelled()
    assert admission.active == 0
