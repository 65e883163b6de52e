"""Bad input gets a clear 4xx in the one error shape; HEAD/OPTIONS; logs stay one line each."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from octopost.models import PLATFORM_IDS
from octopost.platforms.sandbox import simulate
from octopost.posts import parse_time
from octopost.web.requestlog import SafeFormatter, escape_controls
from tests.helpers import Api
from tests.test_errors import assert_error

DEEP = ("[" * 1000 + "]" * 1000).encode()
JSON = {"Content-Type": "application/json"}


async def test_deeply_nested_json_is_400_not_500(api: Api) -> None:
    pid = (await api.post("/v1/posts", {"content": "x", "platforms": ["twitter"]})).json()["id"]
    nested_credentials = b'{"platform": "mastodon", "credentials": {"a": ' + DEEP + b"}}"
    for method, path, body in [
        ("POST", "/v1/posts", DEEP),
        ("PUT", f"/v1/posts/{pid}", DEEP),
        ("POST", "/v1/posts/validate", DEEP),
        ("POST", "/v1/accounts", nested_credentials),
        ("POST", "/v1/webhooks", DEEP),
    ]:
        resp = await api.client.request(method, path, content=body, headers={**api.auth(), **JSON})
        error = assert_error(resp, 400, "bad_request")
        assert "nested deeper than 32 levels" in error["message"]


async def test_a_body_that_is_not_json_says_what_is_wrong_in_one_wording(api: Api) -> None:
    truncated = "Malformed JSON body: it ends before its JSON value is complete, or holds none"
    for body, message in [
        (b"   ", truncated),
        (b"\n", truncated),
        (b"{", truncated),
        (b'{"content": "x"', truncated),
        (b"[1, 2", truncated),
        (b'"abc', truncated),
        (b'{"content": "x",}', "Malformed JSON body: trailing comma in object (byte 16)"),
    ]:
        for method, path in [("POST", "/v1/posts"), ("POST", "/v1/posts/validate")]:
            resp = await api.client.request(
                method, path, content=body, headers={**api.auth(), **JSON}
            )
            assert assert_error(resp, 400, "bad_request")["message"] == message, body


async def test_a_json_body_with_nesting_under_the_limit_still_works(api: Api) -> None:
    body = {
        "content": "x",
        "platforms": ["twitter"],
        "media": {"images": [{"url": "https://e.example/a.png"}]},
    }
    assert (await api.post("/v1/posts", body)).status_code == 201


@pytest.mark.parametrize("path", ["/v1/posts", "/v1/webhooks/{hook}/deliveries"])
@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("offset=9223372036854775808", "query parameter 'offset': must be at most 1000000000"),
        ("offset=-1", "query parameter 'offset': must be at least 0"),
        ("limit=0", "query parameter 'limit': must be at least 1"),
        ("limit=101", "query parameter 'limit': must be at most 100"),
        ("limit=ten", "query parameter 'limit': must be an integer"),
    ],
)
async def test_list_bounds_are_422_naming_the_parameter(
    api: Api, path: str, query: str, words: str
) -> None:
    hook = (
        await api.post("/v1/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["post.failed"]})
    ).json()["id"]
    resp = await api.get(f"{path.format(hook=hook)}?{query}")
    error = assert_error(resp, 422, "validation_error")
    assert error["message"] == f"Invalid {words}"
    assert error["details"][0]["field"] == query.split("=")[0]


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("9999-12-31T23:59:59-14:00", "out of range"),
        ("0001-01-01T00:00:00+01:00", "out of range"),
        ("2030-01-01 09:00:00Z", "RFC 3339"),
        ("20300101T090000Z", "RFC 3339"),
        ("2030-W01-1T09:00:00Z", "RFC 3339"),
        ("2030-01-01T09:00:00.1234567Z", "at most 6 fractional digits"),
        ("2030-01-01T09:00Z", "RFC 3339"),
        ("2030-02-30T09:00:00Z", "not a valid date-time"),
        ("2030-01-01T09:00:00", "UTC offset"),
        ("tomorrow", "RFC 3339"),
    ],
)
async def test_scheduled_for_accepts_rfc_3339_only(api: Api, value: str, hint: str) -> None:
    pid = (await api.post("/v1/posts", {"content": "x", "platforms": ["twitter"]})).json()["id"]
    body = {"content": "x", "platforms": ["twitter"], "scheduled_for": value}
    for resp in (
        await api.post("/v1/posts", body),
        await api.put(f"/v1/posts/{pid}", {"scheduled_for": value}),
        await api.post("/v1/posts/validate", body),
    ):
        error = assert_error(resp, 422, "validation_error")
        assert error["details"][0]["field"] == "scheduled_for"
        assert hint in error["details"][0]["message"], error


def test_rfc_3339_forms_that_are_accepted() -> None:
    utc = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
    assert parse_time("2030-01-01T08:00:00Z") == utc
    assert parse_time("2030-01-01t08:00:00z") == utc
    assert parse_time("2030-01-01T09:00:00+01:00") == utc
    assert parse_time("2030-01-01T08:00:00.123456Z") == utc.replace(microsecond=123000)


async def test_empty_body_and_wrong_content_type(api: Api) -> None:
    resp = await api.client.post("/v1/posts", content=b"", headers={**api.auth(), **JSON})
    error = assert_error(resp, 422, "validation_error")
    assert error["message"] == "The request body is required: send a JSON object"
    resp = await api.client.post(
        "/v1/posts",
        content=b'{"content": "x", "platforms": ["twitter"]}',
        headers={**api.auth(), "Content-Type": "text/plain"},
    )
    error = assert_error(resp, 415, "unsupported_media_type")
    assert "application/json" in error["message"] and "text/plain" in error["message"]
    resp = await api.client.post(
        "/v1/posts",
        content=b'{"content": "x", "platforms": ["twitter"]}',
        headers={**api.auth(), "Content-Type": "application/json; charset=utf-8"},
    )
    assert resp.status_code == 201


async def test_idempotency_key_never_reads_past_the_body_limit(api: Api) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        chunk = b"x" * 65536
        for _ in range(400 * 16):  # 400 MiB if nobody stops reading
            sent += len(chunk)
            yield chunk

    resp = await api.client.post(
        "/v1/posts",
        content=endless(),
        headers={**api.auth(), **JSON, "Idempotency-Key": "big-1"},
    )
    assert_error(resp, 413, "payload_too_large")
    assert sent <= 1024 * 1024 + 2 * 65536
    lying = await api.client.post(
        "/v1/posts",
        content=b"x" * 10,
        headers={**api.auth(), **JSON, "Idempotency-Key": "big-2", "Content-Length": "99999999"},
    )
    assert lying.status_code in (400, 413)


async def test_head_answers_like_get_without_a_body(api: Api) -> None:
    pid = (await api.post("/v1/posts", {"content": "x", "platforms": ["twitter"]})).json()["id"]
    for path in ("/v1/posts", f"/v1/posts/{pid}", "/healthz", "/v1/webhooks"):
        got = await api.get(path)
        head = await api.client.head(path, headers=api.auth())
        assert head.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
    assert (await api.client.head("/v1/posts")).status_code == 401  # HEAD needs the key too


async def test_options_lists_every_method_of_the_route(api: Api) -> None:
    expected = {
        "/v1/posts": "GET, HEAD, OPTIONS, POST",
        "/v1/posts/post_x": "DELETE, GET, HEAD, OPTIONS, PUT",
        "/v1/posts/post_x/publish": "OPTIONS, POST",
        "/v1/webhooks/wh_x": "DELETE, GET, HEAD, OPTIONS, PUT",
        "/v1/accounts/acc_x": "DELETE, GET, HEAD, OPTIONS",
    }
    for path, allow in expected.items():
        resp = await api.client.options(path)
        assert resp.status_code == 204 and resp.headers["allow"] == allow, path


async def test_root_is_not_a_bare_404_and_unknown_docs_pages_are_json_404(api: Api) -> None:
    resp = await api.client.get("/", follow_redirects=True)
    assert resp.status_code == 200  # the dashboard (its sign-in page) lives at /
    for path in ("/schema/redoc", "/schema/rapidoc", "/schema/elements", "/schema/nope.json"):
        assert_error(await api.client.get(path), 404, "not_found")


def test_sandbox_results_never_point_at_a_real_host() -> None:
    for platform in PLATFORM_IDS:
        _, url = simulate(platform)
        host = re.match(r"^https://([^/]+)/", url)
        assert host and host.group(1).endswith(".sandbox.invalid"), url


def _line_of(logger: str, message: str, *args: object, **extra: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s %(message)s"))
    log = logging.getLogger(logger)
    log.addHandler(handler)
    try:
        log.warning(message, *args, extra=extra or None)
    finally:
        log.removeHandler(handler)
    return stream.getvalue()


def test_control_characters_are_escaped_in_every_log_line() -> None:
    line = _line_of("octopost.http", "%s %s", "GET", "/v1/x\nINFO octopost forged\r\x00\u2028")
    assert line.count("\n") == 1  # one record, one line
    assert "/v1/x\\nINFO octopost forged\\r\\x00\\u2028" in line
    assert escape_controls("tab\there") == "tab\\there"
    carded = _line_of(
        "octopost.platforms",
        "bluesky link card skipped",
        url="https://e.example/\n",
        reason="HTTP 404",
    )
    assert "url=https://e.example/\\n reason=HTTP 404" in carded
    assert "color_message" not in _line_of("uvicorn.error", "up", color_message="\x1b[1mup")


async def test_a_forged_path_writes_one_escaped_access_line(api: Api) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter("%(name)s %(message)s"))
    logger = logging.getLogger("octopost.http")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        await api.client.get("/v1/x%0A2026-01-01 INFO octopost.http forged%0D%00")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and "\\n2026-01-01 INFO" in lines[0] and "\\r\\x00" in lines[0]


async def test_refusals_are_logged_with_their_reason(api: Api, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, "octopost.web")
    pid = (await api.post("/v1/posts", {"content": "x" * 400, "platforms": ["twitter"]})).json()[
        "id"
    ]
    assert (await api.post(f"/v1/posts/{pid}/publish")).status_code == 422
    resp = await api.post(
        "/v1/accounts",
        {
            "platform": "mastodon",
            "credentials": {"instance_url": "http://[::1", "access_token": "secret-token"},
        },
    )
    assert resp.status_code == 422
    messages = [r.getMessage() for r in caplog.records if r.name == "octopost.web"]
    assert any("422 validation_error" in m and "twitter" in m for m in messages), messages
    assert any("instance_url" in m for m in messages), messages
    assert not any("secret-token" in m for m in messages)


async def test_free_text_fields_are_bounded(api: Api) -> None:
    hook = {"url": "http://127.0.0.1:9/x", "events": ["post.failed"], "description": "d" * 501}
    error = assert_error(await api.post("/v1/webhooks", hook), 422, "validation_error")
    assert error["details"] == [
        {"field": "description", "message": "must be at most 500 characters"}
    ]
    created = (await api.post("/v1/webhooks", {**hook, "description": "ok"})).json()
    resp = await api.put(f"/v1/webhooks/{created['id']}", {"description": "d" * 501})
    assert_error(resp, 422, "validation_error")
    resp = await api.post(
        "/v1/accounts",
        {"platform": "mastodon", "credentials": {"access_token": "t" * 10_001}},
    )
    error = assert_error(resp, 422, "validation_error")
    assert error["details"][0]["field"] == "credentials.access_token"
    many = {f"k{i}": "v" for i in range(33)}
    resp = await api.post("/v1/accounts", {"platform": "mastodon", "credentials": many})
    assert assert_error(resp, 422, "validation_error")["details"][0]["field"] == "credentials"
