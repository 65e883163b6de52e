"""The dashboard's server side, in process: sessions, CSRF, sandbox, idempotency, forms."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from octopost.models import PostStatus, utcnow
from octopost.platforms import ADAPTERS
from octopost.platforms.forms import FORMS
from tests.helpers import Api

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "octopost" / "dashboard"


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, key: str) -> str:
    """Sign in; returns the session's CSRF token."""
    page = await client.get("/signin")
    resp = await client.post(
        "/signin", data={"csrf_token": _token(page.text), "api_key": key, "next": "/"}
    )
    assert resp.status_code == 303, resp.text
    return _token((await client.get("/compose")).text)


@pytest.fixture
async def browser(api: Api) -> Any:
    """A cookie-keeping client on the same app, signed in with the live key."""
    client = api.client
    csrf = await sign_in(client, api.key)
    return client, csrf


async def test_pages_need_a_session_and_the_next_page_stays_on_this_site(api: Api) -> None:
    resp = await api.client.get("/webhooks")
    assert resp.status_code == 303 and resp.headers["location"] == "/signin?next=/webhooks"
    page = await api.client.get("/signin")
    resp = await api.client.post(
        "/signin",
        data={"csrf_token": _token(page.text), "api_key": api.key, "next": "//evil.example/x"},
    )
    assert resp.headers["location"] == "/"


async def test_session_cookie_flags_and_secure_over_https(api: Api) -> None:
    transport = api.client._transport  # the same app
    async with httpx.AsyncClient(transport=transport, base_url="https://octopost.test") as https:
        page = await https.get("/signin")
        resp = await https.post(
            "/signin", data={"csrf_token": _token(page.text), "api_key": api.key}
        )
        cookie = resp.headers["set-cookie"]
        assert "octopost_session=" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
        assert api.key not in cookie
    page = await api.client.get("/signin")
    resp = await api.client.post(
        "/signin", data={"csrf_token": _token(page.text), "api_key": api.key}
    )
    assert "Secure" not in resp.headers["set-cookie"]  # plain http on localhost


async def test_the_session_stores_only_a_hash_and_dies_with_its_key(api: Api) -> None:
    key, secret = await api.services.keys.create("short-lived")
    csrf = await sign_in(api.client, secret)
    token = api.client.cookies["octopost_session"]
    rows = await api.services.store.db.fetchall("SELECT token_hash FROM dashboard_sessions")
    assert rows and all(token.encode() not in bytes(r[0]) for r in rows)
    assert (await api.client.get("/keys")).status_code == 200
    await api.services.keys.revoke(key.id)
    resp = await api.client.get("/keys")
    assert resp.status_code == 303 and resp.headers["location"].startswith("/signin")
    assert csrf


async def test_every_form_needs_the_session_csrf_token(browser: Any) -> None:
    client, csrf = browser
    form = {"content": "x", "platforms": "mastodon", "action": "draft"}
    missing = await client.post("/compose", data=form)
    assert missing.status_code == 403 and "This form has expired" in missing.text
    wrong = await client.post("/compose", data={**form, "csrf_token": "nope"})
    assert wrong.status_code == 403
    other_site = await client.post(
        "/compose", data={**form, "csrf_token": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    assert (await client.post("/signout")).status_code == 403
    ok = await client.post("/compose", data={**form, "csrf_token": csrf})
    assert ok.status_code == 303
    # the live counter's fetch carries the token in a header
    check = await client.post("/compose/check", json={"content": "x", "platforms": ["twitter"]})
    assert check.status_code == 403


async def test_sign_in_form_has_its_own_csrf_cookie(api: Api) -> None:
    resp = await api.client.post("/signin", data={"csrf_token": "forged", "api_key": api.key})
    assert resp.status_code == 403


async def test_bad_input_comes_back_filled_with_the_api_messages(browser: Any) -> None:
    client, csrf = browser
    resp = await client.post(
        "/compose",
        data={
            "csrf_token": csrf,
            "content": "Keep this text",
            "platforms": ["mastodon"],
            "media.images[2].url": "ftp://nope",
            "media.images[2].alt_text": "keep my alt",
            "schedule_local": "2020-01-01T10:00",
            "action": "schedule",
        },
    )
    assert resp.status_code == 200
    html = resp.text
    assert ">Keep this text</textarea>" in html and 'value="keep my alt"' in html
    # the services' words, next to the row the person filled (row 3, not index 0)
    assert re.search(r'id="err-media-images-2-url".*must be a valid http\(s\) URL', html)
    assert re.search(r'id="err-schedule-local".*must be in the future', html), re.findall(
        r"field-error.*", html
    )
    assert 'value="2020-01-01T10:00"' in html


async def test_publish_now_refuses_per_platform_and_stores_nothing(browser: Any, api: Api) -> None:
    client, csrf = browser
    resp = await client.post(
        "/compose",
        data={
            "csrf_token": csrf,
            "content": "x" * 300,
            "platforms": ["twitter"],
            "action": "publish",
        },
    )
    assert "The post cannot be published to: twitter. Nothing was sent." in resp.text
    assert "No X account is connected" in resp.text
    assert (await api.get("/v1/posts")).json()["total"] == 0


async def test_a_double_submitted_form_makes_one_post(browser: Any, api: Api) -> None:
    client, csrf = browser
    form = {
        "csrf_token": csrf,
        "content": "once",
        "platforms": "mastodon",
        "action": "draft",
        "idempotency_key": "dash_same",
    }
    first = await client.post("/compose", data=form)
    second = await client.post("/compose", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert (await api.get("/v1/posts")).json()["total"] == 1
    changed = await client.post("/compose", data={**form, "content": "other"})
    assert "already used with a different request" in changed.text


async def test_sandbox_sessions_see_sandbox_posts_only(api: Api) -> None:
    live = (await api.post("/v1/posts", {"content": "live one", "platforms": ["mastodon"]})).json()
    _, secret = await api.services.keys.create("sandbox", sandbox=True)
    await sign_in(api.client, secret)
    listing = await api.client.get("/")
    assert "live one" not in listing.text and 'class="badge sandbox"' in listing.text
    assert (await api.client.get(f"/posts/{live['id']}")).status_code == 404
    keys = await api.client.get("/keys")
    assert "cannot manage API keys" in keys.text and "oct_live_" not in keys.text
    csrf = _token(keys.text)
    refused = await api.client.post("/keys", data={"csrf_token": csrf, "name": "escalate"})
    assert refused.status_code == 403
    connect = await api.client.post(
        "/accounts/mastodon/connect",
        data={
            "csrf_token": csrf,
            "credentials.instance_url": "https://mastodon.example",
            "credentials.access_token": "t",
        },
    )
    assert "cannot change connected accounts" in connect.text


async def test_unknown_outcomes_are_marked_check_your_account(browser: Any, api: Api) -> None:
    client, _ = browser
    created = (await api.post("/v1/posts", {"content": "lost", "platforms": ["mastodon"]})).json()
    store = api.services.store.posts
    claimed = await store.claim(created["id"], now=utcnow(), from_states=[PostStatus.DRAFT])
    assert claimed is not None
    message = "The request to Mastodon was interrupted; check your Mastodon account."
    await api.services.store.deliveries.record_failure(
        created["id"], "mastodon", error=message, category="unknown", retryable=False, now=utcnow()
    )
    await store.finish(created["id"], utcnow())
    html = (await client.get(f"/posts/{created['id']}")).text
    assert "state-check" in html and "Check your Mastodon account" in html and message in html


async def test_security_headers_forbid_other_origins(browser: Any) -> None:
    client, _ = browser
    resp = await client.get("/compose")
    csp = resp.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["cache-control"] == "no-store"


def test_no_asset_or_template_names_another_origin() -> None:
    for path in [*PACKAGE.glob("templates/*.html"), *PACKAGE.glob("static/*")]:
        text = path.read_text()
        found = re.findall(r"(?:src|href|url\()\s*=?\s*[\"']?(?:https?:)?//", text)
        assert not found, f"{path.name} loads from another origin: {found}"


def test_assets_ship_as_package_data() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"octopost.dashboard" = ["templates/*.html", "static/*"]' in pyproject


def test_credential_forms_cover_every_platform_and_match_the_readme() -> None:
    assert set(FORMS) == set(ADAPTERS)
    readme = (ROOT / "README.md").read_text()
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `(\w+)` \| ([^|]+) \|", readme, re.MULTILINE)
    }
    for platform, form in FORMS.items():
        documented = set(re.findall(r"`(\w+)`", rows[platform]))
        fields = {f.name for v in form.variants for f in v.fields}
        assert fields == documented, (platform, fields ^ documented)
