"""Scoped API keys: every route's permission, enforced, documented, and in the dashboard."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar import Controller, Litestar, get
from litestar.params import FromPath

from octopost.access import SCOPES, Permission, needs, refusal
from octopost.models import ApiKey, utcnow
from octopost.web.scopes import check_declared, route_permissions
from tests.dashboard.test_pages import _token
from tests.helpers import Api
from tests.server import run_cli


async def sign_in(client: Any, key: str) -> str:
    """Sign in; the session's CSRF token, read off the keys page (every session sees it)."""
    page = await client.get("/signin")
    resp = await client.post(
        "/signin", data={"csrf_token": _token(page.text), "api_key": key, "next": "/"}
    )
    assert resp.status_code == 303, resp.text
    return _token((await client.get("/keys")).text)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "nope", path)


def _v1_routes(api: Any) -> list[Any]:
    app = api.client._transport.app
    return [r for r in route_permissions(app) if r.path.startswith("/v1/")]


async def test_every_v1_route_refuses_a_key_lacking_its_permission(api: Api) -> None:
    routes = _v1_routes(api)
    assert len(routes) >= 19  # posts 8, accounts 4, webhooks 7
    lacking: dict[str, str] = {}
    for scope in SCOPES:
        _, lacking[scope] = await api.services.keys.create(
            f"all but {scope}", scopes=[s for s in SCOPES if s != scope]
        )
    for route in routes:
        assert isinstance(route.permission, Permission), (route.method, route.path)
        key = lacking[route.permission.value]
        resp = await api.client.request(
            route.method,
            _concrete(route.path),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            content=b"{}" if route.method in ("POST", "PUT") else None,
        )
        assert resp.status_code == 403, (route.method, route.path, resp.text)
        error = resp.json()["error"]
        assert error["code"] == "forbidden"
        assert f"lacks the '{route.permission.value}' permission" in error["message"], error
        assert error["request_id"]


async def test_a_key_with_the_permission_passes_and_no_scopes_is_full_access(api: Api) -> None:
    _, posts_only = await api.services.keys.create("agent", scopes=["posts:read", "posts:write"])
    created = await api.post(
        "/v1/posts", {"content": "hi", "platforms": ["mastodon"]}, key=posts_only
    )
    assert created.status_code == 201
    assert (await api.get("/v1/posts", key=posts_only)).json()["total"] == 1
    refused = await api.get("/v1/accounts", key=posts_only)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        "This API key lacks the 'accounts:read' permission (it has: posts:read, posts:write)"
    )
    assert (await api.get("/v1/accounts")).status_code == 200  # the fixture's key has no scopes
    _, reader = await api.services.keys.create("reader", scopes=["posts:read"])
    assert (await api.get(f"/v1/posts/{created.json()['id']}", key=reader)).status_code == 200
    assert (await api.delete(f"/v1/posts/{created.json()['id']}", key=reader)).status_code == 403


async def test_a_sandbox_key_with_accounts_write_still_cannot_change_accounts(api: Api) -> None:
    _, key = await api.services.keys.create("s", sandbox=True, scopes=["accounts:write"])
    resp = await api.post("/v1/accounts", {"platform": "mastodon", "credentials": {}}, key=key)
    assert resp.status_code == 403
    assert "Sandbox (oct_test_) keys cannot change connected accounts" in resp.text


async def test_scopes_are_stored_and_unknown_ones_refused(api: Api) -> None:
    key, secret = await api.services.keys.create("k", scopes=["webhooks:write", "posts:read"])
    assert key.scopes == ["posts:read", "webhooks:write"]  # canonical order
    again = await api.services.keys.authenticate(secret)
    assert again is not None and again.scopes == ["posts:read", "webhooks:write"]
    listed = next(k for k in await api.services.keys.all() if k.id == key.id)
    assert listed.scopes == key.scopes
    with pytest.raises(ValueError, match="unknown permission 'posts:admin'"):
        await api.services.keys.create("bad", scopes=["posts:admin"])


def test_key_management_needs_a_live_key_with_full_access() -> None:
    now = utcnow()
    full = ApiKey("k1", "full", "oct_live_abc", False, now)
    scoped = ApiKey("k2", "scoped", "oct_live_abc", False, now, scopes=list(SCOPES))
    sandbox = ApiKey("k3", "sandbox", "oct_test_abc", True, now)
    assert refusal(full, Permission.KEYS) is None
    assert "needs a key with full access" in (refusal(scoped, Permission.KEYS) or "")
    assert "Sandbox (oct_test_) keys cannot manage API keys" in (
        refusal(sandbox, Permission.KEYS) or ""
    )


def test_an_api_route_without_a_declared_permission_stops_the_app() -> None:
    class Undeclared(Controller):
        path = "/v1/things"

        @get("/")
        async def things(self) -> None:
            return None

        @get("/{thing_id:str}", opt=needs(Permission.POSTS_READ))
        async def thing(self, thing_id: FromPath[str]) -> None:
            return None

    app = Litestar([Undeclared])
    with pytest.raises(RuntimeError, match=r"GET /v1/things(?!/)"):
        check_declared(app)


async def test_the_openapi_description_states_each_permission(api: Api) -> None:
    doc = (await api.client.get("/schema/openapi.json")).json()
    routes = _v1_routes(api)
    for route in routes:
        assert isinstance(route.permission, Permission)
        operation = doc["paths"][route.path][route.method.lower()]
        assert operation["x-permission"] == route.permission.value
        assert f"**Permission:** `{route.permission.value}`" in operation["description"]
        forbidden = operation["responses"]["403"]
        assert route.permission.value in forbidden["description"]
        examples = forbidden["content"]["application/json"]["examples"]
        message = next(iter(examples.values()))["value"]["error"]["message"]
        assert message.startswith(f"This API key lacks the '{route.permission.value}'")


async def test_dashboard_follows_the_same_scopes(api: Api) -> None:
    _, posts_only = await api.services.keys.create("agent", scopes=["posts:read", "posts:write"])
    csrf = await sign_in(api.client, posts_only)
    home = await api.client.get("/")
    assert home.status_code == 200
    assert 'href="/accounts"' not in home.text and 'href="/webhooks"' not in home.text
    assert 'href="/compose"' in home.text
    accounts = await api.client.get("/accounts")
    assert accounts.status_code == 403
    assert "This API key lacks the &#39;accounts:read&#39; permission" in accounts.text
    connect = await api.client.post(
        "/accounts/mastodon/connect",
        data={"csrf_token": csrf, "credentials.access_token": "t"},
    )
    assert connect.status_code == 403 and "accounts:write" in connect.text
    keys = await api.client.get("/keys")
    assert "Managing API keys needs a key with full access" in keys.text
    made = await api.client.post("/keys", data={"csrf_token": csrf, "name": "escalate"})
    assert made.status_code == 403
    assert all(k.name != "escalate" for k in await api.services.keys.all())
    compose = await api.client.get("/compose")
    assert compose.status_code == 200


async def test_a_dashboard_session_without_posts_lands_on_what_it_may_see(api: Api) -> None:
    _, hooks_only = await api.services.keys.create("hooks", scopes=["webhooks:read"])
    await sign_in(api.client, hooks_only)
    home = await api.client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/webhooks"
    assert (await api.client.get("/webhooks")).status_code == 200
    assert (await api.client.get("/compose")).status_code == 403


async def test_keys_page_creates_a_scoped_key(api: Api) -> None:
    csrf = await sign_in(api.client, api.key)
    page = await api.client.get("/keys")
    assert 'name="scopes" value="posts:read"' in page.text
    resp = await api.client.post(
        "/keys",
        data={"csrf_token": csrf, "name": "bot", "scopes": ["posts:write"]},
    )
    assert resp.status_code == 200 and "limited to posts:write" in resp.text
    bot = next(k for k in await api.services.keys.all() if k.name == "bot")
    assert bot.scopes == ["posts:write"]
    listing = await api.client.get("/keys")
    assert "full access" in listing.text and ">posts:write<" in listing.text


def test_keys_create_with_scopes_and_list_shows_them(tmp_path: Path) -> None:
    env = {"OCTOPOST_DATABASE_PATH": str(tmp_path / "db.sqlite")}
    made = run_cli(
        "keys",
        "create",
        "--name",
        "agent",
        "--scope",
        "posts:read",
        "--scope",
        "posts:write",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    assert "limited to posts:read, posts:write" in made.stdout
    assert made.stdout.strip().splitlines()[-1].startswith("oct_live_")
    full = run_cli("keys", "create", "--name", "admin", env=env)
    assert "with full access" in full.stdout
    listing = run_cli("keys", "list", env=env).stdout
    agent = next(line for line in listing.splitlines() if "agent" in line)
    admin = next(line for line in listing.splitlines() if "admin" in line)
    assert "posts:read,posts:write" in agent and "full access" in admin
    assert "SCOPES" in listing.splitlines()[0]
    bad = run_cli("keys", "create", "--scope", "posts:admin", env=env)
    assert bad.returncode == 2 and "invalid choice: 'posts:admin'" in bad.stderr
    assert "webhooks:write" in bad.stderr
    helped = run_cli("keys", "create", "--help").stdout
    assert "accounts:write  connect and disconnect accounts" in helped
