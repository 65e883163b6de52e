"""The dashboard's browser rig: platform fakes in a thread, the real server, one Chromium.

Chromium is Debian's (`apt-get install chromium`, /usr/bin/chromium or $OCTOPOST_CHROMIUM)
driven by Playwright; Playwright's own browser download is never used. Without Chromium
the browser tests fail with a message saying how to install it, unless
OCTOPOST_SKIP_BROWSER_TESTS=1 says to skip them on purpose.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.fakes._base import FakePlatform
from tests.fakes.media import MediaServer
from tests.fakes.receiver import Receiver
from tests.platform_env import platform_env
from tests.platforms.harness import fake_class
from tests.server import ServerProcess

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
#: every page is photographed here during the run (desktop/phone x light/dark)
SHOTS = Path(os.environ.get("OCTOPOST_SCREENSHOTS", ROOT / "build" / "dashboard-screenshots"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--mute-audio",
]
PLATFORMS = ("mastodon", "bluesky", "twitter", "linkedin")


def chromium_path() -> str:
    """The system Chromium, or a failure (a skip only when explicitly asked for)."""
    wanted = os.environ.get("OCTOPOST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if Path(wanted).exists():
        return wanted
    message = (
        "The dashboard's browser tests need Debian's Chromium: apt-get install -y chromium "
        "(or point OCTOPOST_CHROMIUM at a Chromium binary). Set OCTOPOST_SKIP_BROWSER_TESTS=1 "
        "to skip them on purpose."
    )
    if os.environ.get("OCTOPOST_SKIP_BROWSER_TESTS") == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


class Loop:
    """An asyncio loop in a thread, for the aiohttp fakes while the tests drive a browser."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fakes", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Stack:
    """Fakes, a media server, a webhook receiver and `octopost serve` pointed at them."""

    def __init__(self, data_dir: Path, platforms: tuple[str, ...] = PLATFORMS) -> None:
        self.loop = Loop()
        self.fakes: dict[str, FakePlatform] = {}
        #: origins a page may navigate to besides the server (a platform's sign-in page)
        self.sign_in_pages: set[str] = set()
        for platform in platforms:
            self.fakes[platform] = self.loop.run(fake_class(platform)().start())
        self.media: MediaServer = self.loop.run(MediaServer().start())
        self.receiver: Receiver = self.loop.run(Receiver().start())
        env = platform_env(list(self.fakes.values()))
        env.update(
            {
                "OCTOPOST_PUBLISHING_BACKOFF_BASE": "0.01",
                "OCTOPOST_PUBLISHING_BACKOFF_MAX": "0.05",
                "OCTOPOST_SERVER_SHUTDOWN_GRACE": "2",
                "OCTOPOST_WEBHOOKS_POLL_INTERVAL": "0.2",
            }
        )
        self.server = ServerProcess(data_dir, env)
        self.server.start()
        match = re.search(r"oct_live_[A-Za-z0-9]+", self.server.stdout())
        assert match, self.server.stdout()
        self.key = match.group(0)

    @property
    def url(self) -> str:
        return self.server.url

    def connect(self, platform: str) -> None:
        """Connect through the API (tests of the pages start from connected accounts)."""
        fake = self.fakes[platform]
        with self.server.client(self.key) as http:
            resp = http.post(
                "/v1/accounts", json={"platform": platform, "credentials": fake.credentials()}
            )
            assert resp.status_code == 201, resp.text

    def api(self) -> Any:
        return self.server.client(self.key)

    def close(self) -> None:
        try:
            self.server.kill()
        finally:
            for fake in self.fakes.values():
                self.loop.run(fake.stop())
            self.loop.run(self.media.stop())
            self.loop.run(self.receiver.stop())
            self.loop.close()
