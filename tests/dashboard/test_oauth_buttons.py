"""The accounts page's Connect / Reconnect buttons: the platform's own sign-in (OAuth),
in headless Chromium against `octopost serve` and the platforms' strict fakes.

Every platform with an OAuth flow gets a button; pressing it runs the connect API's flow
(start -> the fake's authorize page, which approves as its test user -> the API's
callback -> the dashboard's landing page -> the accounts page saying who is connected).
An account that needs reconnecting offers Reconnect first. A refusal on the platform's
page comes back as an alert. Screenshots: rig.SHOTS/accounts-oauth-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from octopost.platforms import ADAPTERS
from tests.dashboard.conftest import shoot
from tests.dashboard.rig import Stack

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

#: every platform whose adapter declares an OAuth flow has a fake with an authorize page
OAUTH = tuple(p for p, adapter in ADAPTERS.items() if adapter.oauth is not None)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("oauth-dashboard"), platforms=(*OAUTH, "bluesky"))
    try:
        for platform in OAUTH:
            # the app registered with the platform redirects to this server's callback
            oauth = running.fakes[platform].oauth  # type: ignore[attr-defined]
            oauth.redirect_uris.add(f"{running.url}/v1/oauth/callback/{platform}")
            running.sign_in_pages.add(running.fakes[platform].url)
        running.connect("bluesky")  # app passwords: no button
        yield running
    finally:
        running.close()


def press(page: Any, platform: str, name: str) -> None:
    card = page.locator(f"#account-{platform}")
    card.get_by_role("button", name=name).click()
    # leaving page -> the platform -> the callback -> the landing page -> /accounts,
    # or the chooser when the grant offers several (Facebook Pages)
    page.wait_for_url(re.compile(r"/accounts(\?|/choose/)"), timeout=20_000)
    if "/accounts/choose/" in page.url:
        expect(
            page.get_by_role("heading", name="Which one should Octopost post to?")
        ).to_be_visible()
        shoot(page, "choose")
        page.get_by_role("button", name="Connect this one").click()
        page.wait_for_url(re.compile(r"/accounts$"), timeout=20_000)


def test_every_oauth_platform_has_a_connect_button_that_connects(page: Any, stack: Stack) -> None:
    assert {"twitter", "tiktok", "youtube"} <= set(OAUTH)
    page.goto("/accounts")
    expect(page.locator("#account-bluesky").get_by_role("button")).to_have_count(0)
    for platform in OAUTH:
        label = ADAPTERS[platform].label
        card = page.locator(f"#account-{platform}")
        expect(card).to_contain_text("Not connected")
        expect(card.get_by_role("link", name="Paste tokens instead")).to_be_visible()
        flow = ADAPTERS[platform].oauth
        if flow is not None and flow.needs_instance:  # Mastodon: which server
            card.get_by_label("Server").fill(stack.fakes[platform].url)
        press(page, platform, f"Connect with {label}")
        expect(page.get_by_role("status")).to_contain_text(f"Connected {label} as @")
        expect(page.locator(f"#account-{platform}")).to_contain_text("Connected")
        expect(page.locator(f"#account-{platform}")).not_to_contain_text("Not connected")
    with stack.api() as http:
        accounts = http.get("/v1/accounts").json()["accounts"]
    assert {a["platform"] for a in accounts} == {*OAUTH, "bluesky"}
    assert all(a["status"] == "active" for a in accounts)
    shoot(page, "accounts-oauth")


def test_reconnect_is_offered_first_for_an_account_that_needs_it(page: Any, stack: Stack) -> None:
    fake = stack.fakes["youtube"]
    with stack.api() as http:
        before = next(
            a for a in http.get("/v1/accounts").json()["accounts"] if a["platform"] == "youtube"
        )
        fake.refresh_revoked = True  # type: ignore[attr-defined]
        fake.expire_access_tokens()  # type: ignore[attr-defined]
        body = {
            "content": "After the grant was revoked",
            "platforms": ["youtube"],
            "media": {"video": {"url": stack.media.at("video.mp4")}},
        }
        pid = http.post("/v1/posts", json=body).json()["id"]
        http.post(f"/v1/posts/{pid}/publish")
        for _ in range(200):
            status = http.get(f"/v1/accounts/{before['id']}").json()["status"]
            if status == "reauth_required":
                break
            page.wait_for_timeout(50)
        assert status == "reauth_required"
    fake.refresh_revoked = False  # type: ignore[attr-defined]  # a new grant is allowed
    page.goto("/accounts")
    card = page.locator("#account-youtube")
    expect(card).to_contain_text("Needs reconnecting")
    button = card.get_by_role("button", name="Reconnect with YouTube")
    expect(button).to_have_class(re.compile(r"\bprimary\b"))
    shoot(page, "accounts-reauth")
    press(page, "youtube", "Reconnect with YouTube")
    expect(page.get_by_role("status")).to_contain_text("Connected YouTube as @octochannel")
    expect(card).to_contain_text("Connected")
    with stack.api() as http:
        after = http.get(f"/v1/accounts/{before['id']}").json()
    assert after["status"] == "active"  # the same account, its credentials replaced


def test_a_refusal_on_the_platform_comes_back_as_an_alert(page: Any, stack: Stack) -> None:
    fake = stack.fakes["tiktok"]
    fake.oauth.deny = True  # type: ignore[attr-defined]
    try:
        page.goto("/accounts")
        press(page, "tiktok", "Reconnect with TikTok")
    finally:
        fake.oauth.deny = False  # type: ignore[attr-defined]
    expect(page.get_by_role("alert")).to_contain_text("Not connected")
    expect(page.get_by_role("alert")).to_contain_text("did not grant")
    expect(page.locator("#account-tiktok")).to_contain_text("Connected")  # the old one stays
