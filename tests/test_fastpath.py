"""The fast path (octopost/web/fastpath.py) answers a plain get or create exactly as the
app's routes do, answers nothing else, and hands every other request to the app with
its body intact."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from octopost.app import MAX_BODY
from octopost.config import Config
from octopost.web.fastpath import FastPath
from octopost.web.hooks import HeadAsGet
from octopost.web.requestlog import RequestLog
from tests import diskfull
from tests.helpers import Api, post_shapes, running_api

NOW = datetime(2026, 6, 1, 12, 0, 0, 250000, tzinfo=UTC)
#: the same request id for both answers, so error bodies compare byte for byte
RID = {"X-Request-ID": "parity-check"}
LATER = "2030-01-01T09:30:00Z"

SHAPES: list[dict[str, Any]] = [
    *post_shapes(LATER),
    {
        "content": "a video",
        "platforms": ["youtube"],
        "media": {"video": {"url": "https://e.x/v.mp4"}},
    },
]


@asynccontextmanager
async def both(config: Config) -> AsyncIterator[tuple[Api, httpx.AsyncClient]]:
    """The app, and a client of the same running app with the fast path left out."""
    async with running_api(config, clock=lambda: NOW) as api:
        assert api.transport is not None
        app: Any = api.transport.app
        layer = app.asgi_handler
        while not isinstance(layer, FastPath):
            layer = layer.app
        inner = RequestLog(HeadAsGet(layer.app))

        async def litestar_only(scope: Any, receive: Any, send: Any) -> None:
            scope["app"] = scope["litestar_app"] = app  # what Litestar.__call__ sets
            scope.setdefault("state", {})
            await inner(scope, receive, send)

        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=litestar_only), base_url="http://octopost.test"
        ) as plain:
            yield api, plain


def seen(resp: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers (but the request id) and body, a new post's id made neutral."""
    body = resp.content
    if resp.status_code == 201:
        body = body.replace(resp.json()["id"].encode(), b"post_<new>")
    headers = [(k, v) for k, v in resp.headers.multi_items() if k != "x-request-id"]
    return resp.status_code, headers, body


async def same(
    api: Api, plain: httpx.AsyncClient, method: str, path: str, **kw: Any
) -> httpx.Response:
    """Send one request to each; the answers must be the same. Returns the app's."""
    kw["headers"] = {**RID, **kw.get("headers", {})}
    fast = await api.client.request(method, path, **kw)
    slow = await plain.request(method, path, **kw)
    assert seen(fast) == seen(slow), (method, path, kw)
    return fast


async def test_a_get_answers_what_the_route_answers(config: Config) -> None:
    async with both(config) as (api, plain):
        ids = []
        for body in SHAPES:
            resp = await api.post("/v1/posts", body)
            assert resp.status_code == 201, resp.text
            ids.append(resp.json()["id"])

        def results(tx: Any) -> None:  # deliveries in each state, a result with a URL
            for platform, state, url in (
                ("bluesky", "succeeded", "https://bsky.app/1"),
                ("mastodon", "failed", None),
                ("linkedin", "sending", None),
            ):
                tx.execute(
                    "INSERT OR REPLACE INTO deliveries (post_id, platform, state, attempts, "
                    "remote_url, error, updated_at) VALUES (?,?,?,1,?,?,1764600000000)",
                    [ids[2], platform, state, url, "Too long" if state == "failed" else None],
                )

        await api.services.store.db.run(results)
        _, sandbox = await api.services.keys.create("sandbox", sandbox=True)
        _, writer = await api.services.keys.create("writer", scopes=["posts:write"])
        auth = api.auth()
        for post_id in ids:
            got = await same(api, plain, "GET", f"/v1/posts/{post_id}", headers=auth)
            assert got.status_code == 200 and got.json()["id"] == post_id
            head = await same(api, plain, "HEAD", f"/v1/posts/{post_id}", headers=auth)
            assert head.status_code == 200 and head.content == b""
        assert (await same(api, plain, "GET", f"/v1/posts/{ids[0]}")).status_code == 401
        for header, status in (
            ({"Authorization": "Bearer oct_live_unknown"}, 401),
            ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
            ({"Authorization": f"Bearer {writer}"}, 403),
            ({"Authorization": f"Bearer {sandbox}"}, 404),  # a live post, a sandbox key
        ):
            got = await same(api, plain, "GET", f"/v1/posts/{ids[0]}", headers=header)
            assert got.status_code == status, got.text
        for path, status in (
            ("/v1/posts/post_doesnotexist0000000000", 404),
            (f"/v1/posts/{ids[0]}?fields=id", 200),
            (f"/v1/posts/{ids[0]}/", 200),
            ("/v1/posts/validate", 405),
            ("/v1/posts/", 200),
        ):
            got = await same(api, plain, "GET", path, headers=auth)
            assert got.status_code == status, (path, got.text)


async def test_a_create_answers_what_the_route_answers(config: Config) -> None:
    async with both(config) as (api, plain):
        _, reader = await api.services.keys.create("reader", scopes=["posts:read"])
        _, sandbox = await api.services.keys.create("sandbox", sandbox=True)
        json_type = {"Content-Type": "application/json", **api.auth()}

        async def create(body: bytes | str, status: int, **headers: str) -> httpx.Response:
            content = body.encode() if isinstance(body, str) else body
            got = await same(
                api, plain, "POST", "/v1/posts", content=content, headers={**json_type, **headers}
            )
            assert got.status_code == status, (body[:80], got.text)
            return got

        for shape in SHAPES:
            made = (await create(json.dumps(shape), 201)).json()
            assert made["content"] == shape["content"]
        await create(json.dumps(SHAPES[0]), 201, Authorization=f"Bearer {sandbox}")
        await create(json.dumps(SHAPES[0]), 201, **{"Content-Type": "application/vnd.x+json"})
        for body, status in (
            ('{"content": "x", "platforms": ["nope"]}', 422),  # refused by the checks
            (
                '{"content": "x", "platforms": ["bluesky"], "scheduled_for": "2001-01-01T00:00:00Z"}',
                422,
            ),
            ('{"content": "x", "platforms": ["bluesky"], "colour": "red"}', 422),
            ('{"content": "x"}', 422),
            ('{"content": 5, "platforms": ["bluesky"]}', 422),
            ('{"content": "x", "platforms": "bluesky"}', 422),
            ('{"content": "x", "platforms": ["bluesky"], "thread_marker": "yes"}', 422),
            ('{"content": "x", "platforms": ["bluesky"], "media": {"images": [{}]}}', 422),
            ("[]", 422),
            ("null", 422),
            ('{"content": ', 400),
            ("[" * 40 + "]" * 40, 400),
            ("", 422),
            ("   ", 400),
            (b'{"content": "\xff", "platforms": ["bluesky"]}', 400),
        ):
            await create(body, status)
        await create(json.dumps(SHAPES[0]), 415, **{"Content-Type": "text/plain"})
        await create(json.dumps(SHAPES[0]), 401, Authorization="Bearer oct_live_unknown")
        await create(json.dumps(SHAPES[0]), 403, Authorization=f"Bearer {reader}")
        big = json.dumps({"content": "x" * MAX_BODY, "platforms": ["bluesky"]})
        await create(big, 413)

        # An Idempotency-Key is the app's: the first answer, then its replay.
        for key in ("k1", "k1"):
            fast = await api.post("/v1/posts", SHAPES[0], headers={"Idempotency-Key": key})
            slow = await plain.post(
                "/v1/posts", json=SHAPES[0], headers={**api.auth(), "Idempotency-Key": key + "p"}
            )
            assert seen(fast)[0] == seen(slow)[0] == 201
        assert fast.headers["idempotent-replayed"] == slow.headers["idempotent-replayed"] == "true"

        # A full disk: the same 503 (the fast path answers it through the error mapper).
        await diskfull.fill(api.services.store.db)
        try:
            await create(json.dumps(SHAPES[0]), 503)
        finally:
            await diskfull.free(api.services.store.db)
        total = (await api.get("/v1/posts", params={"limit": 1})).json()["total"]
        # every 201 above stored one post, through each path (the sandbox ones apart)
        assert total == 2 * (len(SHAPES) + 1) + 2


def refusing_app(scope: Any, receive: Any, send: Any) -> Any:
    raise AssertionError(f"the app was asked: {scope['method']} {scope['path']}")


async def test_the_plain_answers_never_reach_the_app(api: Api) -> None:
    fast = FastPath(refusing_app, services=lambda: api.services, limit=MAX_BODY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fast), base_url="http://octopost.test"
    ) as client:
        made = await client.post("/v1/posts", json=SHAPES[1], headers=api.auth())
        assert made.status_code == 201, made.text
        got = await client.get(f"/v1/posts/{made.json()['id']}", headers=api.auth())
        assert got.status_code == 200
    assert got.json() == made.json() == (await api.get(f"/v1/posts/{made.json()['id']}")).json()


class Recorder:
    """An app that reads the whole request (every message until the body ends) and
    answers 204."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            self.messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages)


async def handed_over(api: Api, chunks: list[bytes], **headers: str) -> Recorder:
    """Send `chunks` as one POST /v1/posts to a fast path over a Recorder."""
    recorder = Recorder()
    fast = FastPath(recorder, services=lambda: api.services, limit=MAX_BODY)
    incoming = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    given = {"authorization": f"Bearer {api.key}", "content-type": "application/json", **headers}
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/posts",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in given.items()],
    }
    await fast(scope, receive, send)
    assert sent[0]["status"] == 204  # the app answered
    return recorder


async def test_what_it_does_not_answer_reaches_the_app_whole(api: Api) -> None:
    refused = json.dumps({"content": "x", "platforms": ["nope"]}).encode()
    parts = [refused[:7], refused[7:20], refused[20:]]
    got = await handed_over(api, parts, **{"content-length": str(len(refused))})
    assert got.body() == refused and len(got.messages) == 3
    # a body larger than the limit (its Content-Length lies): what was read, then the rest
    big = [b"x" * (MAX_BODY // 2)] * 3
    got = await handed_over(api, big, **{"content-length": "10"})
    assert got.body() == b"".join(big) and len(got.messages) == 3
    # no Content-Length (chunked): not read at all
    got = await handed_over(api, [b'{"content": "x",', b' "platforms": ["bluesky"]}'])
    assert got.body() == b'{"content": "x", "platforms": ["bluesky"]}'
    # an Idempotency-Key: the app's, body unread
    body = json.dumps(SHAPES[0]).encode()
    got = await handed_over(
        api, [body], **{"content-length": str(len(body)), "idempotency-key": "k"}
    )
    assert got.body() == body
    assert (await api.get("/v1/posts")).json()["total"] == 0  # nothing was stored
