"""`octopost accounts connect tiktok|youtube` at a terminal: the real server, the fakes,
the command in a subprocess, a browser played by an HTTP client. Both platforms' desktop
apps take a loopback redirect on any port (TikTok: registered as `:*`; Google: any
loopback address), so the command listens; `--paste` is the headless path."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.fakes.tiktok import Fake as Tiktok
from tests.fakes.youtube import Fake as Youtube
from tests.test_cli_accounts import URL, Terminal, accounts, serving


async def test_tiktok_loopback_with_a_hex_pkce_challenge(tmp_path: Path) -> None:
    async with Tiktok() as fake, serving(tmp_path, fake) as (server, key):
        term = Terminal(server, key, tmp_path)
        await term.start("connect", "tiktok")
        url = (await term.until(URL)).group(0)
        await term.until(re.compile(r"Waiting for the browser on http://127\.0\.0\.1:\d+"))
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            page = await browser.get(url)
        assert page.status_code == 200 and "Connected" in page.text
        code, out, err = await term.finish()
        assert code == 0, (out, err)
        assert "Connected tiktok as @octo.demo" in out
    asked = fake.oauth.authorize_requests[0]  # type: ignore[attr-defined]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", asked["redirect_uri"])
    assert re.fullmatch(r"[0-9a-f]{64}", asked["code_challenge"])


async def test_youtube_loopback_on_any_port(tmp_path: Path) -> None:
    async with Youtube() as fake, serving(tmp_path, fake) as (server, key):
        term = Terminal(server, key, tmp_path)
        await term.start("connect", "youtube")
        url = (await term.until(URL)).group(0)
        await term.until(re.compile("Waiting for the browser"))
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            page = await browser.get(url)
        assert "Connected" in page.text
        code, out, err = await term.finish()
        assert code == 0, (out, err)
        assert "Connected youtube as @octochannel" in out
        assert [a["platform_user_id"] for a in await accounts(server, key)] == [
            "UCfakeChannel0123456789"
        ]


async def test_youtube_paste_back_on_a_headless_server(tmp_path: Path) -> None:
    async with Youtube() as fake, serving(tmp_path, fake) as (server, key):
        term = Terminal(server, key, tmp_path)
        await term.start("connect", "youtube", "--paste")
        url = (await term.until(URL)).group(0)
        async with httpx.AsyncClient() as browser:  # approves; does not follow to the server
            landed = (await browser.get(url)).headers["Location"]
        assert landed.startswith(f"{server.url}/v1/oauth/callback/youtube?code=")
        await term.until(re.compile("paste the whole address"))
        await term.type(landed)
        code, out, err = await term.finish()
        assert code == 0, (out, err)
        assert "Connected youtube as @octochannel" in out
