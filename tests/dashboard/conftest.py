"""Fixtures for the browser tests: one server stack and one Chromium for the module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.dashboard.rig import CHROMIUM_ARGS, SHOTS, Stack, chromium_path

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}

# An input is labelled when a <label>, aria-label or aria-labelledby names it.
UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length)
          && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.name || el.id)"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("dashboard"))
    try:
        for platform in ("mastodon", "bluesky", "twitter"):
            running.connect(platform)
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Watch:
    """Console errors and requests to any other origin, collected for one page."""

    def __init__(self, origin: str, also: frozenset[str] = frozenset()) -> None:
        self.origin = origin
        #: other origins the page may go to (the platforms' sign-in pages)
        self.also = also
        self.errors: list[str] = []
        self.foreign: list[str] = []

    def attach(self, page: Any) -> None:
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("request", self._request)

    def _request(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        if f"{parts.scheme}://{parts.netloc}" not in {self.origin, *self.also}:
            self.foreign.append(request.url)

    def check(self) -> None:
        assert not self.foreign, f"requests to another origin: {self.foreign}"
        assert not self.errors, f"console errors: {self.errors}"


def new_page(browser: Any, stack: Stack, storage: Any = None) -> tuple[Any, Any, Watch]:
    context = browser.new_context(
        base_url=stack.url,
        viewport=DESKTOP,
        timezone_id="Europe/Paris",
        locale="en-GB",
        storage_state=storage,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    watch = Watch(stack.url, frozenset(stack.sign_in_pages))
    watch.attach(page)
    return context, page, watch


def sign_in(page: Any, key: str) -> None:
    page.goto("/signin")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/signin" not in url)


@pytest.fixture(scope="module")
def signed_in(browser: Any, stack: Stack) -> Any:
    context, page, watch = new_page(browser, stack)
    sign_in(page, stack.key)
    state = context.storage_state()
    watch.check()
    context.close()
    return state


@pytest.fixture
def page(browser: Any, stack: Stack, signed_in: Any) -> Iterator[Any]:
    """A signed-in page; the test fails on any console error or foreign request."""
    context, tab, watch = new_page(browser, stack, signed_in)
    yield tab
    try:
        watch.check()
    finally:
        context.close()


def shoot(page: Any, name: str) -> None:
    """Photograph the page at desktop and phone widths, light and dark, and check what
    holds at every size: no sideways scrolling on a phone, every input labelled."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.screenshot(path=str(SHOTS / f"{name}-{size}-{scheme}.png"), full_page=True)
        if size == "phone":
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name}: {width}px wide on a 375px phone"
    assert page.evaluate(UNLABELLED) == [], f"{name}: inputs without a label"
    page.set_viewport_size(DESKTOP)
    page.emulate_media(color_scheme="light")
