"""The two busiest API answers without Litestar's per-request machinery.

`GET /v1/posts/{id}` and `POST /v1/posts` are most of what clients, scripts and agents
send. Through Litestar each costs far more CPU than its handler's own work (a GET ~110 µs
over ~55 µs, a create ~300 µs over ~140 µs: routing, the connection and response objects,
the signature model, dependency injection, the middleware and exception layers). This ASGI
layer, inside the request log and admission, answers the ordinary success itself, with the
same key check, permission, body checks, service calls and response structs the routes use,
and gives everything else to the app untouched, a body it read replayed, before anything
is written:

- a method, path or query string other than the two plain ones, or no running service;
- a missing, malformed, unknown or revoked key, or a key without the route's permission;
- an `Idempotency-Key` (its replay rules live in `web/idempotency.py`);
- a body that is empty, not JSON, larger than the limit, nested too deep or that does not
  decode into `CreatePostRequest`; a post the checks refuse (`PostService.draft`);
- a post that does not exist (or any error of the read).

So every refusal, and everything the API reference documents, still comes from the routes
and the one error mapper, `web/errors.py`; `tests/test_fastpath.py` checks both answer
byte for byte what the app answers. An error once a checked post is being stored (a full
disk) is answered through that same mapper, never by running the create a second time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from octopost.access import check_route
from octopost.models import ApiKey
from octopost.services import Services
from octopost.web.auth import ApiKeyAuth
from octopost.web.errors import response_for
from octopost.web.hooks import MAX_DEPTH, is_json, json_depth
from octopost.web.idempotency import HEADER as IDEMPOTENCY_KEY
from octopost.web.idempotency import header
from octopost.web.posts import READ, WRITE, new_post
from octopost.web.schemas import CreatePostRequest, PostResponse

POSTS = "/v1/posts"
POST_PREFIX = POSTS + "/"

_decode_create = msgspec.json.Decoder(CreatePostRequest).decode
_encode = msgspec.json.Encoder().encode


class FastPath:
    """`services` gives the running service (None before the lifespan has started);
    `limit` is the app's request body limit."""

    def __init__(
        self, app: ASGIApp, *, services: Callable[[], Services | None], limit: int
    ) -> None:
        self.app = app
        self.services = services
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and not scope.get("query_string"):
            method, path = scope["method"], scope["path"]
            if method == "GET" and path.startswith(POST_PREFIX):
                if await self._get(scope, send, path[len(POST_PREFIX) :]):
                    return
            elif method == "POST" and path == POSTS:
                rest = await self._create(scope, receive, send)
                if rest is None:
                    return
                receive = rest
        await self.app(scope, receive, send)

    async def _key(self, scope: Scope, opt: dict[str, Any]) -> tuple[Services, ApiKey] | None:
        """The running service and the request's key when it may use the route."""
        services = self.services()
        if services is None:
            return None
        try:
            key = await ApiKeyAuth.verify(header(scope, b"authorization"), services.keys)
            check_route(key, opt)
        except Exception:  # no key, a bad one, no permission, a failed read: the app says
            return None
        return services, key

    async def _get(self, scope: Scope, send: Send, post_id: str) -> bool:
        """True when answered; False: the app answers (nothing was changed)."""
        if not post_id or "/" in post_id:
            return False
        found = await self._key(scope, READ)
        if found is None:
            return False
        services, key = found
        try:
            post = PostResponse.of(await services.posts.get(post_id, sandbox=key.sandbox))
        except Exception:  # a missing post, a failed read: the route answers it
            return False
        await _answer(send, 200, post)
        return True

    async def _create(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """None when answered; else the `receive` the app reads the request from."""
        length = header(scope, b"content-length")
        content_type = header(scope, b"content-type")
        if (
            not length
            or not length.isdigit()
            or int(length) > self.limit
            or content_type is None
            or not is_json(content_type)
            or header(scope, IDEMPOTENCY_KEY) is not None
        ):
            return receive
        found = await self._key(scope, WRITE)
        if found is None:
            return receive
        services, key = found
        messages, body = await _read_body(receive, self.limit)
        replay = _replay(messages, receive)
        if body is None or not body.strip() or json_depth(body) > MAX_DEPTH:
            return replay
        try:
            post = new_post(services, _decode_create(body), sandbox=key.sandbox)
        except Exception:  # the route answers with the reason (nothing was stored)
            return replay
        try:
            created = PostResponse.of(await services.posts.add(post))
        except Exception as exc:  # stored or not: answered here, never created twice
            request: Request[Any, Any, Any] = Request(scope, replay, send)
            await response_for(request, exc).to_asgi_response(None, request)(scope, replay, send)
            return None
        await _answer(send, 201, created)
        return None


async def _read_body(receive: Receive, limit: int) -> tuple[list[ReceiveMessage], bytes | None]:
    """Every message read, and the body (None: the client went away or sent more than
    `limit` bytes; the app reads the rest and answers)."""
    messages: list[ReceiveMessage] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return messages, None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _replay(messages: list[ReceiveMessage], receive: Receive) -> Receive:
    """A `receive` giving `messages` again, then whatever the client sends next."""
    pending = deque(messages)

    async def again() -> Any:
        return pending.popleft() if pending else await receive()

    return again


async def _answer(send: Send, status: int, response: PostResponse) -> None:
    """The response the route gives: its JSON, Content-Type and Content-Length."""
    body = _encode(response)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
