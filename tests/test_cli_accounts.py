"""`octopost accounts connect|list|disconnect` as a person at a terminal runs them: the
real server, the platform fakes, the command in a subprocess, a browser played by an
HTTP client (the paste-back path and the loopback path)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.fakes._base import FakePlatform
from tests.fakes.mastodon import Fake as Mastodon
from tests.fakes.twitter import Fake as Twitter
from tests.platform_env import platform_env
from tests.server import ServerProcess, free_port

URL = re.compile(r"^https?://\S+$", re.M)


@asynccontextmanager
async def serving(tmp_path: Path, *fakes: FakePlatform) -> AsyncIterator[tuple[ServerProcess, str]]:
    server = ServerProcess(tmp_path, platform_env(list(fakes)))
    server.env["OCTOPOST_SERVER_PUBLIC_URL"] = server.url
    for fake in fakes:
        fake.oauth.redirect_uris.add(f"{server.url}/v1/oauth/callback/{fake.platform}")  # type: ignore[attr-defined]
    try:
        await asyncio.to_thread(server.start)
        admin = re.search(r"oct_live_[A-Za-z0-9]+", server.stdout())
        assert admin
        yield server, admin.group(0)
    finally:
        server.kill()


class Terminal:
    """`octopost accounts ...` in a subprocess whose output is read as it comes."""

    def __init__(self, server: ServerProcess, key: str, tmp: Path) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("OCTOPOST_")},
            "OCTOPOST_URL": server.url,
            "OCTOPOST_KEY": key,
            "OCTOPOST_CREDENTIALS": str(tmp / "no-credentials.toml"),
        }
        self.env.pop("DISPLAY", None)  # a headless machine: no browser is opened
        self.env.pop("WAYLAND_DISPLAY", None)
        self.proc: asyncio.subprocess.Process | None = None
        self.seen = ""

    async def start(self, *args: str) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "octopost", "accounts", *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
        )  # fmt: skip

    async def until(self, pattern: re.Pattern[str], timeout: float = 60) -> re.Match[str]:
        assert self.proc is not None and self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while (found := pattern.search(self.seen)) is None:
                line = await self.proc.stdout.readline()
                assert line, f"the command ended early: {self.seen}"
                self.seen += line.decode()
        return found

    async def type(self, text: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()

    async def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        assert self.proc is not None
        out, err = await asyncio.wait_for(self.proc.communicate(), timeout)
        self.seen += out.decode()
        return int(self.proc.returncode or 0), self.seen, err.decode()

    async def run(self, *args: str) -> tuple[int, str, str]:
        await self.start(*args)
        return await self.finish()


def api(server: ServerProcess, key: str) -> httpx.AsyncClient:
    """Async: the server calls the fakes, which answer in this test's event loop."""
    return httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )


async def accounts(server: ServerProcess, key: str) -> list[dict[str, Any]]:
    async with api(server, key) as http:
        return (await http.get("/v1/accounts")).json()["accounts"]  # type: ignore[no-any-return]


async def test_paste_back_on_a_headless_server(tmp_path: Path) -> None:
    """The browser cannot reach the server: the person pastes the address it ended on."""
    async with Twitter() as fake, serving(tmp_path, fake) as (server, key):
        term = Terminal(server, key, tmp_path)
        await term.start("connect", "twitter")
        url = (await term.until(URL)).group(0)
        assert url.startswith(fake.url + "/i/oauth2/authorize?")
        async with httpx.AsyncClient() as browser:  # approves; does not follow to the server
            landed = (await browser.get(url)).headers["Location"]
        assert landed.startswith(f"{server.url}/v1/oauth/callback/twitter?code=")
        await term.until(re.compile("paste the whole address"))
        await term.type(landed)
        code, out, err = await term.finish()
        assert code == 0, (out, err)
        assert "Connected twitter as @octopost_dev" in out
        assert [a["username"] for a in await accounts(server, key)] == ["octopost_dev"]


async def test_paste_back_after_the_page_said_connected(tmp_path: Path) -> None:
    """The browser reached the server's callback itself: Enter is enough."""
    async with Twitter() as fake, serving(tmp_path, fake) as (server, key):
        term = Terminal(server, key, tmp_path)
        await term.start("connect", "twitter", "--paste")
        url = (await term.until(URL)).group(0)
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            page = await browser.get(url)
        assert page.status_code == 200 and "@octopost_dev" in page.text
        await term.type("")
        code, out, err = await term.finish()
        assert code == 0, (out, err)
        assert "Connected twitter as @octopost_dev" in out


async def test_loopback_receives_the_redirect(tmp_path: Path) -> None:
    """Mastodon's app is registered for the exact loopback address the command listens on."""
    async with Mastodon() as fake, serving(tmp_path, fake) as (server, key):
        term = Terminal(server, key, tmp_path)
        await term.start("connect", "mastodon", "--instance", fake.url)
        url = (await term.until(URL)).group(0)
        await term.until(re.compile(r"Waiting for the browser on http://127\.0\.0\.1:\d+"))
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            page = await browser.get(url)
        assert page.status_code == 200 and "Connected" in page.text
        code, out, err = await term.finish()
        assert code == 0, (out, err)
        assert "Connected mastodon as @alice" in out
        (app,) = fake.apps.values()
        assert app["redirect_uris"][0].startswith("http://127.0.0.1:")


async def test_loopback_on_a_registered_port(tmp_path: Path) -> None:
    """X wants the exact redirect URI: register http://127.0.0.1:PORT/callback, --listen PORT."""
    port = free_port()
    async with Twitter() as fake, serving(tmp_path, fake) as (server, key):
        fake.oauth.redirect_uris.add(f"http://127.0.0.1:{port}/callback")
        term = Terminal(server, key, tmp_path)
        await term.start("connect", "twitter", "--listen", str(port))
        url = (await term.until(URL)).group(0)
        await term.until(re.compile("Waiting for the browser"))
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            page = await browser.get(url)
        assert "Connected" in page.text
        code, out, err = await term.finish()
        assert code == 0, (out, err)
        assert "Connected twitter as @octopost_dev" in out


async def test_a_denial_in_the_browser_fails_the_command(tmp_path: Path) -> None:
    async with Mastodon() as fake, serving(tmp_path, fake) as (server, key):
        fake.oauth.deny = True
        term = Terminal(server, key, tmp_path)
        await term.start("connect", "mastodon", "--instance", fake.url)
        url = (await term.until(URL)).group(0)
        await term.until(re.compile("Waiting for the browser"))
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            page = await browser.get(url)
        assert "Not connected" in page.text
        code, _, err = await term.finish()
        assert code == 1 and "did not grant" in err
        assert await accounts(server, key) == []


async def test_list_and_disconnect(tmp_path: Path) -> None:
    async with Mastodon() as fake, serving(tmp_path, fake) as (server, key):
        async with api(server, key) as http:
            made = await http.post(
                "/v1/accounts", json={"platform": "mastodon", "credentials": fake.credentials()}
            )
        account_id = made.json()["id"]
        term = Terminal(server, key, tmp_path)
        code, out, _ = await term.run("list")
        assert code == 0 and account_id in out and "@alice" in out and "never" in out
        code, out, _ = await Terminal(server, key, tmp_path).run("disconnect", account_id)
        assert code == 0 and f"Disconnected {account_id}" in out
        code, out, _ = await Terminal(server, key, tmp_path).run("list")
        assert "No accounts connected" in out
        code, _, err = await Terminal(server, key, tmp_path).run("disconnect", account_id)
        assert code == 1 and "No account" in err
