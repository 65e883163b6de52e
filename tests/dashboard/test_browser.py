"""The dashboard as a person uses it: headless Chromium against `octopost serve` and the
platform fakes. Each test fails on a console error or a request to another origin;
every page is photographed (see rig.SHOTS) at desktop and phone widths, light and dark."""

from __future__ import annotations

import os
import re
import shutil
import time
from typing import Any

import pytest

from tests.dashboard.conftest import new_page, shoot, sign_in
from tests.dashboard.rig import ROOT, SHOTS, Stack

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

DOCS = ROOT / "docs"


def publish_docs_shot(name: str) -> None:
    """`OCTOPOST_DOCS_SCREENSHOTS=1` refreshes the README's screenshots from this run."""
    if os.environ.get("OCTOPOST_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(SHOTS / f"{name}-desktop-light.png", DOCS / f"dashboard-{name}.png")


def compose(page: Any, text: str, platforms: list[str]) -> None:
    page.goto("/compose")
    page.get_by_label("Text", exact=True).fill(text)
    for platform in platforms:
        page.locator(f"#pf-{platform}").check()


def wait_final(page: Any) -> None:
    """The post page refreshes itself while publishing; wait until it has stopped."""
    expect(page.locator("main[data-refresh]")).to_have_count(0, timeout=20_000)
    expect(page.locator("h1 .badge").first).not_to_have_text("publishing")


def test_sign_in_with_a_key_then_sign_out(browser: Any, stack: Stack) -> None:
    context, page, watch = new_page(browser, stack)
    try:
        page.goto("/compose")
        expect(page).to_have_url(f"{stack.url}/signin?next=/compose")
        shoot(page, "signin")
        page.get_by_label("API key").fill("oct_live_" + "x" * 40)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("Invalid or revoked API key")
        page.get_by_label("API key").fill(stack.key)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{stack.url}/compose")
        cookies = {c["name"]: c for c in context.cookies()}
        session = cookies["octopost_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        assert stack.key not in str(context.storage_state())  # only the session token
        # Keyboard: the first Tab lands on the skip link, with a visible focus ring.
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => [document.activeElement.textContent.trim(), getComputedStyle(document.activeElement).outlineStyle]"
        )
        assert focused == ["Skip to content", "solid"]
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{stack.url}/signin")
        page.goto("/")
        expect(page).to_have_url(f"{stack.url}/signin")
        watch.check()
    finally:
        context.close()


def test_connect_and_disconnect_an_account(page: Any, stack: Stack) -> None:
    fake = stack.fakes["linkedin"]
    page.goto("/accounts")
    card = page.locator("#account-linkedin")
    expect(card).to_contain_text("Not connected")
    expect(page.locator("#account-mastodon")).to_contain_text("Connected")
    shoot(page, "accounts")
    # LinkedIn has an OAuth button (test_oauth_buttons.py); the credential form is its link
    card.get_by_role("link", name="Paste tokens instead").click()
    expect(page.get_by_role("heading", name="Connect LinkedIn")).to_be_visible()
    expect(page.locator(".help")).to_contain_text("w_member_social")  # the README's guide
    shoot(page, "connect")
    creds = fake.credentials()
    form = page.locator("form.connect")
    # A refused token: the platform's reason next to the form, what was typed kept.
    form.get_by_label("Access token").fill("not-a-valid-token")
    form.get_by_label("Client ID (optional)").fill(creds["client_id"])
    form.get_by_role("button", name="Check and connect").click()
    expect(page.get_by_role("alert")).to_contain_text("LinkedIn refused these credentials")
    expect(form.get_by_label("Client ID (optional)")).to_have_value(creds["client_id"])
    form.get_by_label("Access token").fill(creds["access_token"])
    form.get_by_label("Refresh token (optional)").fill(creds["refresh_token"])
    form.get_by_label("Client secret (optional)").fill(creds["client_secret"])
    form.get_by_role("button", name="Check and connect").click()
    expect(page).to_have_url(f"{stack.url}/accounts")
    expect(page.get_by_role("status")).to_contain_text("Connected LinkedIn as @")
    expect(card).to_contain_text("Connected")
    card.get_by_role("link", name="Disconnect").click()
    expect(page.get_by_role("heading", name="Disconnect LinkedIn?")).to_be_visible()
    shoot(page, "disconnect")
    page.get_by_role("button", name="Disconnect LinkedIn").click()
    expect(page.get_by_role("status")).to_contain_text("Disconnected LinkedIn.")
    expect(card).to_contain_text("Not connected")


def test_live_counter_crosses_the_limit(page: Any) -> None:
    compose(page, "a" * 270, ["twitter"])
    counter = page.locator("#count-twitter")
    expect(counter).to_have_text("270 / 280")
    page.get_by_label("Text", exact=True).press_sequentially("b" * 15)
    expect(counter).to_have_text("285 / 280 · 5 over")
    expect(page.locator('li.platform[data-platform="twitter"]')).to_have_class("platform over")
    expect(page.locator("#problems-twitter")).not_to_be_empty()
    # X counts a URL as 23 however long it is: the same rule as publishing.
    page.get_by_label("Text", exact=True).fill("see https://example.com/" + "p" * 60)
    expect(counter).to_have_text("27 / 280")
    shoot(page, "compose-counter")


def test_compose_and_publish_to_three_platforms_with_an_image(page: Any, stack: Stack) -> None:
    compose(page, "Hello from the dashboard! #octopost", ["mastodon", "bluesky", "twitter"])
    page.get_by_label("Image 1 URL").fill(stack.media.at("image.jpg"))
    page.get_by_label("Alt text for image 1").fill("A small test picture")
    expect(page.locator("#count-bluesky")).to_have_text("35 / 300")
    shoot(page, "compose")
    publish_docs_shot("compose")
    page.get_by_role("button", name="Publish now").click()
    expect(page).to_have_url(re.compile(r"/posts/post_\w+$"))
    wait_final(page)
    post_id = page.url.rsplit("/", 1)[-1]
    with stack.api() as http:
        results = http.get(f"/v1/posts/{post_id}").json()["platform_results"]
    for platform, label in (("mastodon", "Mastodon"), ("bluesky", "Bluesky"), ("twitter", "X")):
        result = page.locator(f"#result-{platform}")
        expect(result).to_contain_text("published")
        link = result.get_by_role("link", name=f"View on {label}")
        expect(link).to_have_attribute("href", results[platform]["post_url"])
        # the image went with its alt text
        bodies = b"".join(r.body for r in stack.fakes[platform].requests)
        assert b"A small test picture" in bodies, platform
    expect(page.locator("h1 .badge")).to_have_text("published")
    shoot(page, "post")
    publish_docs_shot("post")
    page.get_by_role("link", name="Posts").click()
    row = page.locator(".post-row").first
    expect(row).to_contain_text("Hello from the dashboard!")
    expect(row.locator(".chip.state-succeeded")).to_have_count(3)
    shoot(page, "posts")


def test_schedule_in_the_browser_time_zone(page: Any, stack: Stack) -> None:
    compose(page, "Later, in Paris time", ["mastodon"])
    page.get_by_label("Schedule for").fill("2031-06-01T09:30")
    expect(page.locator("#utc-preview")).to_contain_text("Stored as 2031-06-01 07:30 UTC")
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator("h1 .badge")).to_have_text("scheduled")
    post_id = page.url.rsplit("/", 1)[-1]
    with stack.api() as http:
        assert http.get(f"/v1/posts/{post_id}").json()["scheduled_for"] == "2031-06-01T07:30:00Z"
    # Editing shows the stored time back in the browser's zone.
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Schedule for")).to_have_value("2031-06-01T09:30")
    shoot(page, "edit")
    page.get_by_role("link", name="Posts").click()
    page.get_by_role("link", name="Scheduled").click()
    expect(page.locator(".post-row").first).to_contain_text("Later, in Paris time")


def test_a_failed_platform_is_shown_and_retried(page: Any, stack: Stack) -> None:
    stack.fakes["bluesky"].fail_next("reject")
    compose(page, "Second try for one platform", ["mastodon", "bluesky"])
    page.get_by_role("button", name="Publish now").click()
    wait_final(page)
    failed = page.locator("#result-bluesky")
    expect(failed).to_contain_text("failed")
    expect(failed.locator(".error-text")).not_to_be_empty()
    expect(failed.locator(".tag").first).to_have_text("validation")
    expect(page.locator("#result-mastodon")).to_contain_text("published")
    shoot(page, "post-failed")
    page.get_by_role("button", name="Retry failed (1)").click()
    wait_final(page)
    expect(page.locator("#result-bluesky")).to_contain_text("published")
    expect(page.get_by_role("button", name="Retry failed (1)")).to_have_count(0)


def test_publish_double_click_makes_one_post(page: Any, stack: Stack) -> None:
    with stack.api() as http:
        before = http.get("/v1/posts?limit=1").json()["total"]
    compose(page, "Clicked twice", ["mastodon"])
    page.get_by_role("button", name="Publish now").dblclick()
    wait_final(page)
    with stack.api() as http:
        assert http.get("/v1/posts?limit=1").json()["total"] == before + 1


def test_webhook_created_pinged_and_delivered(page: Any, stack: Stack) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/webhooks")
    page.get_by_label("URL").fill(stack.receiver.url)
    page.get_by_label("post.published").check()
    page.get_by_label("Description (optional)").fill("browser test")
    page.get_by_role("button", name="Create webhook").click()
    secret = page.get_by_label("Your signing secret")
    expect(secret).to_have_value(re.compile(r"^whsec_"))
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == secret.input_value()
    shoot(page, "webhook-secret")
    page.get_by_role("link", name="Go to the webhook").click()
    page.get_by_role("button", name="Send test ping").click()
    expect(page.get_by_role("status")).to_contain_text("Test ping sent: answered 200")
    expect(page.locator(".delivery").first).to_contain_text("webhook.test")
    expect(page.locator(".delivery").first).to_contain_text("succeeded")
    hook_url = page.url
    # A real event: publishing a post delivers post.published to the receiver.
    compose(page, "Tell the webhook", ["mastodon"])
    page.get_by_role("button", name="Publish now").click()
    wait_final(page)
    page.goto(hook_url)
    deadline = time.monotonic() + 15
    while "post.published" not in page.locator(".deliveries").inner_text():
        assert time.monotonic() < deadline, "no post.published delivery"
        page.wait_for_timeout(200)
        page.reload()
    page.locator(".delivery summary").first.click()
    expect(page.locator(".attempts").first).to_contain_text("HTTP 200")
    shoot(page, "webhook")
    page.goto("/webhooks")
    shoot(page, "webhooks")


def test_api_keys_created_shown_once_and_revoked(page: Any, browser: Any, stack: Stack) -> None:
    page.goto("/keys")
    page.get_by_label("Name").fill("sandbox play")
    page.get_by_label("Sandbox key (oct_test_): posts are simulated").check()
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("Your API key").input_value()
    assert secret.startswith("oct_test_")
    shoot(page, "key-created")
    page.get_by_role("link", name="Back to API keys").click()
    expect(page.get_by_role("table")).not_to_contain_text(secret)
    shoot(page, "keys")

    # The sandbox key's session: a badge, sandbox posts only, accounts read-only.
    context, sandbox, watch = new_page(browser, stack)
    try:
        sign_in(sandbox, secret)
        expect(sandbox.locator("header .badge.sandbox")).to_have_text("Sandbox")
        expect(sandbox.locator(".post-row")).to_have_count(0)
        compose(sandbox, "Only pretend", ["linkedin", "tiktok"])
        sandbox.get_by_text("A video instead").click()
        sandbox.get_by_label("Video URL").fill(stack.media.at("video.mp4"))
        sandbox.get_by_role("button", name="Publish now").click()
        wait_final(sandbox)
        expect(sandbox.locator("#result-linkedin .tag").first).to_have_text("simulated")
        shoot(sandbox, "sandbox-post")
        sandbox.goto("/accounts/mastodon/connect")
        expect(sandbox.get_by_role("button", name="Check and connect")).to_be_disabled()
        watch.check()
    finally:
        context.close()

    row = page.get_by_role("row", name="sandbox play")
    page.reload()
    row.get_by_role("link", name="Revoke sandbox play").click()
    page.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_role("status")).to_contain_text("Revoked “sandbox play”")
    expect(page.get_by_role("row", name="sandbox play")).to_contain_text("revoked")


def test_a_thread_is_shown_edited_at_its_first_post_and_published(page: Any, stack: Stack) -> None:
    """A thread made with the API: its page lists every post; the edit form changes the
    first post's text and leaves the others as they are; each post's outcome is shown."""
    segments = [{"content": "Part one."}, {"content": "Part two."}, {"content": "Part three."}]
    with stack.api() as http:
        made = http.post("/v1/posts", json={"segments": segments, "platforms": ["mastodon"]})
        assert made.status_code == 201, made.text
        post_id = made.json()["id"]
    page.goto(f"/posts/{post_id}")
    expect(page.locator("#thread > li")).to_have_text(["Part one.", "Part two.", "Part three."])
    page.get_by_role("link", name="Edit").click()
    note = page.locator("#thread-note")
    expect(note).to_contain_text("This post is a thread of 3 posts")
    expect(note.locator("ol.thread > li")).to_have_text(["Part two.", "Part three."])
    expect(page.get_by_label("Text", exact=True)).to_have_value("Part one.")
    page.get_by_label("Text", exact=True).fill("Part one, edited in the dashboard.")
    expect(page.locator("#count-mastodon")).to_have_text("34 / 500")  # the first post
    shoot(page, "edit-thread")
    page.get_by_role("button", name="Save draft").click()
    expect(page).to_have_url(re.compile(rf"/posts/{post_id}$"))
    expect(page.locator("#thread > li")).to_have_text(
        ["Part one, edited in the dashboard.", "Part two.", "Part three."]
    )
    page.get_by_role("button", name="Publish now").click()
    wait_final(page)
    result = page.locator("#result-mastodon")
    expect(result).to_contain_text("published")
    expect(result.locator("ol.segments > li")).to_have_count(3)
    expect(result.locator("ol.segments > li.segment-published")).to_have_count(3)
    shoot(page, "post-thread")
    texts = [p["text"] for p in stack.fakes["mastodon"].posts[-3:]]
    assert texts == ["Part one, edited in the dashboard.", "Part two.", "Part three."]
