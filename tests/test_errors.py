"""The whole error table: one JSON shape for every 4xx/5xx."""

from __future__ import annotations

from octopost.keys import random_id
from octopost.models import PostStatus, utcnow
from tests.helpers import Api


def assert_error(resp, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    assert error["request_id"] == resp.headers["x-request-id"]
    assert "Traceback" not in resp.text
    return error  # type: ignore[no-any-return]


async def test_malformed_json_is_400(api: Api) -> None:
    resp = await api.client.post(
        "/v1/posts",
        content=b'{"content": "x",',
        headers={**api.auth(), "Content-Type": "application/json"},
    )
    assert_error(resp, 400, "bad_request")


async def test_auth_failures_are_401_with_www_authenticate(api: Api) -> None:
    _, revoked = await api.services.keys.create("old")
    key_id = [k for k in await api.services.store.keys.all() if k.name == "old"][0].id
    await api.services.store.keys.revoke(key_id, utcnow())
    variants = [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer oct_live_short"},
        {"Authorization": "Bearer " + random_id("oct_live_", 40)},
        {"Authorization": f"Bearer {revoked}"},
    ]
    for headers in variants:
        resp = await api.client.get("/v1/posts", headers=headers)
        assert_error(resp, 401, "unauthorized")
        assert resp.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_id_and_route_are_404(api: Api) -> None:
    assert_error(await api.get("/v1/posts/post_nothere"), 404, "not_found")
    assert_error(await api.get("/v1/nothing"), 404, "not_found")


async def test_wrong_method_is_405(api: Api) -> None:
    resp = await api.client.patch("/v1/posts", headers=api.auth(), json={})
    assert_error(resp, 405, "method_not_allowed")


async def test_state_conflicts_are_409(api: Api) -> None:
    pid = (await api.post("/v1/posts", {"content": "x", "platforms": ["bluesky"]})).json()["id"]
    # Put the post in `publishing` the way the publisher does, without running it.
    await api.services.store.posts.claim(pid, now=utcnow(), from_states=(PostStatus.DRAFT,))
    error = assert_error(await api.put(f"/v1/posts/{pid}", {"content": "y"}), 409, "conflict")
    assert "publishing" in error["message"]
    assert_error(await api.delete(f"/v1/posts/{pid}"), 409, "conflict")
    assert_error(await api.post(f"/v1/posts/{pid}/publish"), 409, "conflict")


async def test_body_over_one_mib_is_413(api: Api) -> None:
    big = b'{"content": "' + b"x" * (1024 * 1024) + b'", "platforms": ["twitter"]}'
    resp = await api.client.post(
        "/v1/posts", content=big, headers={**api.auth(), "Content-Type": "application/json"}
    )
    assert_error(resp, 413, "payload_too_large")


async def test_validation_is_422_with_details(api: Api) -> None:
    error = assert_error(
        await api.post("/v1/posts", {"content": "x", "platforms": ["twitter", "friendster"]}),
        422,
        "validation_error",
    )
    assert error["details"][0]["field"] == "platforms[1]"
    assert "friendster" in error["details"][0]["message"]
    error = assert_error(
        await api.post("/v1/posts", ["not", "an", "object"]), 422, "validation_error"
    )
    assert error["details"]


async def test_unexpected_failure_is_500_without_traceback(api: Api, caplog) -> None:  # type: ignore[no-untyped-def]
    # A real fault: the database goes away under the running service.
    await api.services.store.db.close()
    resp = await api.get("/v1/posts/post_x")
    error = assert_error(resp, 500, "internal_error")
    assert "sqlite" not in error["message"].lower()
    assert any("unhandled error" in r.getMessage() for r in caplog.records)


async def test_healthz_needs_no_auth(api: Api) -> None:
    resp = await api.client.get("/healthz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok" and body["version"]


async def test_openapi_documents_schemas_and_seed_examples(api: Api) -> None:
    resp = await api.client.get("/schema/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    create = doc["paths"]["/v1/posts"]["post"]
    assert "$ref" in str(create["requestBody"]["content"]["application/json"]["schema"])
    assert "Excited to announce our Series A!" in str(create)
    assert "201" in create["responses"] and "422" in create["responses"]
    for path in ("/v1/posts/{post_id}", "/v1/posts/{post_id}/publish", "/v1/accounts"):
        assert path in doc["paths"], path
    schemas = doc["components"]["schemas"]
    assert {"PostResponse", "CreatePostRequest", "UpdatePostRequest", "ErrorResponse"} <= set(
        schemas
    )
