"""`octopost accounts connect` for the Meta platforms at a terminal: the paste-back path
(Meta takes only registered redirect URIs, so there is no loopback listener), Facebook's
prompt for the Page, Instagram's redirect that ends in "#_"."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.fakes.facebook import Fake as Facebook
from tests.fakes.instagram import Fake as Instagram
from tests.test_cli_accounts import URL, Terminal, accounts, serving


async def test_facebook_asks_which_page(tmp_path: Path) -> None:
    async with Facebook() as fake, serving(tmp_path, fake) as (server, key):
        term = Terminal(server, key, tmp_path)
        await term.start("connect", "facebook")
        url = (await term.until(URL)).group(0)
        assert url.startswith(fake.url + "/v25.0/dialog/oauth?")
        async with httpx.AsyncClient() as browser:  # approves; does not follow to the server
            landed = (await browser.get(url)).headers["Location"]
        await term.until(re.compile("paste the whole address"))
        await term.type(landed)
        await term.until(re.compile(r"2\. Other Page"))
        assert "1. Octo Cafe (@octocafe)" in term.seen
        await term.type("3")  # not a choice: asked again
        await term.until(re.compile("Type a number from 1 to 2"))
        await term.type("1")
        code, out, err = await term.finish()
        assert code == 0, (out, err)
        assert "Connected facebook as @octocafe" in out
        listed = await accounts(server, key)
        assert [(a["username"], a["platform_user_id"]) for a in listed] == [
            ("octocafe", fake.PAGE_ID)
        ]


async def test_instagram_paste_back_with_the_trailing_fragment(tmp_path: Path) -> None:
    async with Instagram() as fake, serving(tmp_path, fake) as (server, key):
        term = Terminal(server, key, tmp_path)
        await term.start("connect", "instagram")
        url = (await term.until(URL)).group(0)
        async with httpx.AsyncClient() as browser:
            landed = (await browser.get(url)).headers["Location"]
        assert landed.endswith("#_")  # what the browser's address bar shows
        await term.until(re.compile("paste the whole address"))
        await term.type(landed)
        code, out, err = await term.finish()
        assert code == 0, (out, err)
        assert f"Connected instagram as @{fake.username}" in out
        assert [a["platform_user_id"] for a in await accounts(server, key)] == [fake.user_id]
