"""`Idempotency-Key` for POSTs that create or publish.

The first request with a key runs; its response (status and body) is stored
and replayed for every repeat with the same key and the same request for at
least 24 hours (`Idempotent-Replayed: true`). The same key with a different
request is a 422. A repeat that arrives while the first is still running waits
for it (bounded), so concurrent duplicates produce one post.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from octopost.errors import ConflictError, FieldError, IdempotencyError, ValidationError
from octopost.models import utcnow

if TYPE_CHECKING:
    from octopost.store.idempotency import IdempotencyStore

HEADER = b"idempotency-key"
#: the `opt` key of a route that honours Idempotency-Key (`opt={IDEMPOTENT: True}`)
IDEMPOTENT = "idempotent"
WAIT_FOR_FIRST = 15.0
MAX_KEY = 255
#: the app's request_max_body_size, if it has none
DEFAULT_LIMIT = 1024 * 1024


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, or a 413 as soon as it passes `limit` bytes: whatever the headers
    say (chunked, or a Content-Length that lies), never more than limit + 1 chunk in memory."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail="Request Entity Too Large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class IdempotencyMiddleware:
    """App-wide; acts only on routes whose `opt` sets `IDEMPOTENT`. `store` gives the
    running service's idempotency store (it exists only once the lifespan has started)."""

    def __init__(self, app: ASGIApp, *, store: Callable[[], IdempotencyStore]) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        wanted = (
            scope["type"] == ScopeType.HTTP and handler is not None and handler.opt.get(IDEMPOTENT)
        )
        key = header(scope, HEADER) if wanted else None
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= MAX_KEY:
            raise ValidationError(
                "Invalid Idempotency-Key",
                [FieldError("Idempotency-Key", f"must be 1 to {MAX_KEY} characters")],
            )
        configured = scope["app"].request_max_body_size
        limit = configured if isinstance(configured, int) and configured > 0 else DEFAULT_LIMIT
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HTTPException(status_code=413, detail="Request Entity Too Large")
        body = await _read_body(receive, limit)
        method = str(scope.get("method", ""))
        fingerprint = hashlib.sha256(
            method.encode() + b" " + scope["path"].encode() + b"\n" + body
        ).digest()
        store = self.store()
        owner = scope["user"].id
        existing = await store.begin(owner, key, fingerprint, utcnow())
        if existing is not None:
            await self._replay(store, owner, key, fingerprint, existing, send)
            return

        delivered = False

        async def replay_receive() -> Any:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        content_type = "application/json"
        parts: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            await store.release(owner, key)
            raise
        if status >= 500:
            await store.release(owner, key)
        else:
            await store.complete(owner, key, status, content_type, b"".join(parts))

    async def _replay(
        self, store: Any, owner: str, key: str, fingerprint: bytes, existing: Any, send: Send
    ) -> None:
        outcome = await wait_for_first(store, owner, key, fingerprint, existing)
        if outcome is None:  # the first request failed and released the key: we now own it
            await store.release(owner, key)
            raise ConflictError("The first request with this Idempotency-Key failed; send it again")
        status, content_type, body = outcome
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", (content_type or "application/json").encode()),
                    (b"idempotent-replayed", b"true"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body or b"", "more_body": False})


async def wait_for_first(
    store: Any, owner: str, key: str, fingerprint: bytes, existing: Any
) -> tuple[int, str | None, bytes | None] | None:
    """The stored outcome of the first request with this key, waiting (bounded) while it
    runs. None: the first failed and released the key, and this caller now holds it.

    Shared by the API middleware and the dashboard's forms (their key is a form field)."""
    stored_fingerprint, status, content_type, body = existing
    deadline = time.monotonic() + WAIT_FOR_FIRST
    while True:
        if stored_fingerprint != fingerprint:
            raise IdempotencyError(
                "This Idempotency-Key was already used with a different request",
                [
                    FieldError(
                        "Idempotency-Key", "already used with a different method, path or body"
                    )
                ],
            )
        if status is not None:
            return status, content_type, body
        if time.monotonic() > deadline:
            raise ConflictError(
                "A request with this Idempotency-Key is still in progress; retry shortly"
            )
        await asyncio.sleep(0.02)
        again = await store.begin(owner, key, fingerprint, utcnow())
        if again is None:
            return None
        stored_fingerprint, status, content_type, body = again
