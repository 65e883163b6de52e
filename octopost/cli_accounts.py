"""`octopost accounts connect|list|disconnect`: connected accounts from a terminal.

Like `octopost posts`, these talk to a running server (`serve` holds the data directory),
through octopost.client. `connect` runs the OAuth flow for a person at a terminal, the way
`gh auth login` and `rclone authorize` do: it prints the authorization URL (and opens a
browser when the machine has a display), then
- loopback: when the platform takes a redirect to this machine (Mastodon registers its
  app for the exact address; or `--listen PORT` for an address you registered with the
  platform), it listens on 127.0.0.1, receives the platform's redirect and hands the code
  to the server;
- paste-back: otherwise (a headless server), the browser ends on the server's callback;
  if that page says connected, press Enter; if it could not load, paste the address the
  browser ended on and the command hands it to the server.
A platform that asks to pick a Page or channel after the grant gets a numbered prompt.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import webbrowser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from octopost.cli_posts import FAILED, OK, USAGE, _err, _json, client_group, table
from octopost.client import ApiError, Client

#: seconds the loopback listener waits for the browser (the state lives 10 minutes)
WAIT = 600.0


def has_display() -> bool:
    """A browser can be opened here (not on a headless server or in a container)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _say(text: str) -> None:
    print(text, flush=True)


def _connected(account: dict[str, Any]) -> None:
    name = account.get("display_name") or account["username"]
    _say(f"Connected {account['platform']} as @{account['username']} ({name}): {account['id']}")


async def _finish(client: Client, platform: str, answer: dict[str, Any]) -> int:
    """A callback's answer: the account, or a prompt for the Page/channel to connect."""
    if answer.get("status") == "connected":
        _connected(answer["account"])
        return OK
    choices = answer.get("choices") or []
    _say("Pick one:")
    for number, choice in enumerate(choices, 1):
        handle = f" (@{choice['username']})" if choice.get("username") else ""
        _say(f"  {number}. {choice['name']}{handle}")
    while True:
        line = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if not line:
            _err("no choice made; nothing was connected")
            return FAILED
        if line.isdigit() and 1 <= int(line) <= len(choices):
            account = await client.choose(answer["connection"], choices[int(line) - 1]["id"])
            _connected(account)
            return OK
        _say(f"Type a number from 1 to {len(choices)}:")


def _loopback(platform: str) -> bool:
    from octopost.platforms import ADAPTERS

    flow = ADAPTERS[platform].oauth if platform in ADAPTERS else None
    return flow is not None and flow.loopback


def _show(url: str, *, browser: bool) -> None:
    _say("Open this address in a browser and allow Octopost access:")
    _say(url)
    if browser and has_display():
        webbrowser.open(url)


async def _listen(client: Client, args: argparse.Namespace, body: dict[str, Any], port: int) -> int:
    """The loopback path: a one-request server on 127.0.0.1 receives the redirect."""
    from aiohttp import web

    got: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def callback(request: web.Request) -> web.Response:
        if not got.done():
            got.set_result(dict(request.query))
        text = await outcome  # what the server made of it, for the person at the browser
        return web.Response(
            text=f"<!doctype html><meta charset=utf-8><title>Octopost</title><p>{text}</p>",
            content_type="text/html",
        )

    app = web.Application()
    app.router.add_get("/callback", callback)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))  # loopback only: nothing else can hand us a code
    bound = sock.getsockname()[1]
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        started = await client.start_connect(
            {**body, "redirect_uri": f"http://127.0.0.1:{bound}/callback"}
        )
        _show(started["authorize_url"], browser=not args.no_browser)
        _say(f"Waiting for the browser on http://127.0.0.1:{bound}/callback ...")
        try:
            query = await asyncio.wait_for(got, args.timeout)
        except TimeoutError:
            _err(f"no answer from the browser in {args.timeout:g} s; nothing was connected")
            return FAILED
        try:
            answer = await client.oauth_callback(args.platform, query)
        except ApiError as exc:
            outcome.set_result(f"Not connected: {exc.message}")
            raise
        outcome.set_result(
            "Connected. You can close this page and go back to the terminal."
            if answer.get("status") == "connected"
            else "Access granted: pick one in the terminal."
        )
        return await _finish(client, args.platform, answer)
    finally:
        if not outcome.done():
            outcome.set_result("Not connected: see the terminal.")
        await asyncio.sleep(0)  # let the page's answer go out
        await runner.cleanup()


async def _paste(client: Client, args: argparse.Namespace, body: dict[str, Any]) -> int:
    """The paste-back path: the browser ends on the server's callback."""
    before = {a["id"]: a.get("connected_at") for a in (await client.list_accounts())["accounts"]}
    started = await client.start_connect(body)
    _show(started["authorize_url"], browser=not args.no_browser)
    _say(
        "Then: if the page says connected, press Enter. If it could not load (this "
        "server is not reachable from that browser), paste the whole address the "
        "browser ended on here and press Enter."
    )
    line = (await asyncio.to_thread(sys.stdin.readline)).strip()
    if line:
        query = dict(parse_qsl(urlsplit(line).query))
        if "state" not in query:
            _err("that address has no state in it: paste the full address, with ?code=...")
            return USAGE
        return await _finish(
            client, args.platform, await client.oauth_callback(args.platform, query)
        )
    for account in (await client.list_accounts())["accounts"]:
        fresh = before.get(account["id"]) != account.get("connected_at")
        if account["platform"] == args.platform and fresh:
            _connected(account)
            return OK
    _err(f"no {args.platform} account was connected (the page said why)")
    return FAILED


async def cmd_connect(client: Client, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"platform": args.platform}
    if args.instance:
        body["instance_url"] = args.instance
    if args.extra:
        body["extra"] = args.extra
    if args.listen is not None:
        return await _listen(client, args, body, args.listen)
    if not args.paste and _loopback(args.platform):
        return await _listen(client, args, body, 0)
    return await _paste(client, args, body)


async def cmd_list(client: Client, args: argparse.Namespace) -> int:
    accounts = (await client.list_accounts())["accounts"]
    if args.json:
        _json(accounts)
        return OK
    if not accounts:
        _say("No accounts connected. Connect one with: octopost accounts connect <platform>")
        return OK
    rows = [["ID", "PLATFORM", "USERNAME", "STATUS", "LAST USED"]]
    for a in accounts:
        rows.append(
            [a["id"], a["platform"], "@" + a["username"], a["status"], a["last_used_at"] or "never"]
        )
    table(rows, sys.stdout)
    return OK


async def cmd_disconnect(client: Client, args: argparse.Namespace) -> int:
    await client.delete_account(args.id)
    _say(f"Disconnected {args.id}")
    return OK


def add_parser(sub: Any) -> None:
    """The `accounts` command group (called by octopost.cli.build_parser)."""
    command = client_group(
        sub,
        "accounts",
        "connect, list and disconnect accounts on a running server",
        "Connected platform accounts, through the API of a running Octopost.",
    )

    connect = command("connect", cmd_connect, "connect an account in a browser (OAuth)")
    connect.add_argument("platform", help="twitter, mastodon, linkedin, ...")
    connect.add_argument(
        "--instance", metavar="URL", help="Mastodon: your server, e.g. mastodon.social"
    )
    connect.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME",
        help="more access the platform offers (linkedin: organization, to post as a page)",
    )
    connect.add_argument(
        "--listen",
        type=int,
        metavar="PORT",
        help="receive the redirect on http://127.0.0.1:PORT/callback (register that "
        "address with the platform's app)",
    )
    connect.add_argument(
        "--paste", action="store_true", help="never listen: paste the final address back"
    )
    connect.add_argument("--no-browser", action="store_true", help="only print the address")
    connect.add_argument(
        "--timeout", type=float, default=WAIT, help="seconds to wait for the browser (600)"
    )

    command("list", cmd_list, "list connected accounts")
    disconnect = command("disconnect", cmd_disconnect, "disconnect an account (by id)")
    disconnect.add_argument("id")
