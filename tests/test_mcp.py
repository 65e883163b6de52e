"""The MCP server, driven by the official SDK's own client over both transports:
streamable HTTP at /mcp of the real server, and `octopost mcp` on stdio, with the
platform fakes behind them."""

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
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.fakes._base import FakePlatform
from tests.platform_env import platform_env, started_fakes
from tests.server import ServerProcess, run_cli

TOOLS = {
    "create_post",
    "validate_post",
    "update_post",
    "publish_post",
    "retry_post",
    "list_posts",
    "get_post",
    "delete_post",
    "list_accounts",
}


def _text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, _text(result)
    data: dict[str, Any] = result.structured_content
    return data


class Stack:
    def __init__(self, server: ServerProcess, fakes: dict[str, FakePlatform]) -> None:
        self.server = server
        self.fakes = fakes
        match = re.search(r"oct_live_[A-Za-z0-9]+", server.stdout())
        assert match, server.stdout()
        self.admin = match.group(0)

    def key(self, *scopes: str, sandbox: bool = False) -> str:
        """A new key made with `octopost keys create` beside the running server."""
        args = ["keys", "create", "--name", "mcp-test"]
        args += [a for s in scopes for a in ("--scope", s)] + (["--test"] if sandbox else [])
        made = run_cli(
            *args, env={"OCTOPOST_DATABASE_PATH": str(self.server.data_dir / "octopost.db")}
        )
        assert made.returncode == 0, made.stderr
        return made.stdout.strip().splitlines()[-1]


@asynccontextmanager
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with started_fakes("mastodon", "bluesky") as fakes:
        server = ServerProcess(tmp_path, platform_env(list(fakes.values())))
        try:
            await asyncio.to_thread(server.start)
            running = Stack(server, fakes)
            headers = {"Authorization": f"Bearer {running.admin}"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as http:
                for fake in fakes.values():
                    resp = await http.post(
                        "/v1/accounts",
                        json={"platform": fake.platform, "credentials": fake.credentials()},
                    )
                    assert resp.status_code == 201, resp.text
            yield running
        finally:
            server.kill()


def http_client(running: Stack, key: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
    return Client(streamable_http_client(f"{running.server.url}/mcp", http_client=http))


def stdio_client(running: Stack, key: str) -> Client:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCTOPOST_")}
    env.update({"OCTOPOST_URL": running.server.url, "OCTOPOST_KEY": key})
    params = StdioServerParameters(command=sys.executable, args=["-m", "octopost", "mcp"], env=env)
    return Client(params)


async def _draft_check_publish(client: Client, running: Stack) -> None:
    """What an agent does: look at the tools, draft, check, publish, read the outcome."""
    listed = await client.list_tools()
    by_name = {tool.name: tool for tool in listed.tools}
    assert set(by_name) == TOOLS
    create = by_name["create_post"]
    assert "twitter (X): up to 280 characters" in (create.description or "")
    # content: required unless segments (a thread) are given; the API says which
    assert create.input_schema["required"] == ["platforms"]
    assert {"segments", "overrides", "thread"} <= set(create.input_schema["properties"])
    assert "Publishing is REAL" in (by_name["publish_post"].description or "")
    assert by_name["publish_post"].annotations.destructive_hint is True
    assert by_name["get_post"].annotations.read_only_hint is True

    created = _data(
        await client.call_tool(
            "create_post", {"content": "Hello from an agent", "platforms": ["mastodon", "bluesky"]}
        )
    )
    assert created["status"] == "draft"
    checked = await client.call_tool("validate_post", {"post_id": created["id"]})
    report = _data(checked)
    assert report["valid"] is True
    assert report["platforms"]["bluesky"] == {
        "ok": True,
        "length": 19,
        "limit": 300,
        "account": "active",
    }
    assert "- bluesky: ok, 19/300 characters" in _text(checked)

    published = await client.call_tool("publish_post", {"post_id": created["id"]})
    post = _data(published)
    assert post["status"] == "published", post
    for platform, fake in running.fakes.items():
        assert [p["text"] for p in fake.posts] == ["Hello from an agent"], platform
        url = post["platform_results"][platform]["post_url"]
        assert url and url in _text(published)

    got = _data(await client.call_tool("get_post", {"post_id": created["id"]}))
    assert got["platform_results"] == post["platform_results"]
    listing = _data(await client.call_tool("list_posts", {"status": "published"}))
    assert [p["id"] for p in listing["posts"]] == [created["id"]]


async def _bad_calls(client: Client) -> None:
    """Bad input gets the API's own message as a tool error, never a traceback."""
    bad = await client.call_tool(
        "create_post", {"content": "x", "platforms": ["mastodon", "myspace"]}
    )
    assert bad.is_error
    assert "platforms[1]: unknown platform 'myspace'" in _text(bad)
    assert "Traceback" not in _text(bad)
    late = await client.call_tool(
        "create_post",
        {"content": "x", "platforms": ["mastodon"], "scheduled_for": "2020-01-01T00:00:00Z"},
    )
    assert late.is_error and "scheduled_for: must be in the future" in _text(late)
    long = await client.call_tool("validate_post", {"content": "x" * 290, "platforms": ["twitter"]})
    report = _data(long)
    assert report["valid"] is False
    assert "the limit is 280" in " ".join(report["platforms"]["twitter"]["problems"])
    missing = await client.call_tool("get_post", {"post_id": "post_nope"})
    assert missing.is_error and "No post with id 'post_nope'" in _text(missing)
    no_id = await client.call_tool("publish_post", {})
    assert no_id.is_error and "post_id: this field is required" in _text(no_id)
    unknown = await client.call_tool("tweet", {})
    assert unknown.is_error and "Unknown tool 'tweet'" in _text(unknown)


async def _accounts_refused(client: Client) -> None:
    refused = await client.call_tool("list_accounts", {})
    assert refused.is_error
    assert "This API key lacks the 'accounts:read' permission" in _text(refused)


async def test_mcp_over_http_posts_only_admin_reader_sandbox_and_no_key(tmp_path: Path) -> None:
    async with stack(tmp_path) as running:
        key = running.key("posts:read", "posts:write")
        async with http_client(running, key) as client:
            await _draft_check_publish(client, running)
            await _bad_calls(client)
            await _accounts_refused(client)
            # delete_post removes drafts only: the published post stays
            posts = _data(await client.call_tool("list_posts", {}))["posts"]
            kept = await client.call_tool("delete_post", {"post_id": posts[0]["id"]})
            assert kept.is_error and "removes drafts and scheduled posts only" in _text(kept)
            draft = _data(
                await client.call_tool("create_post", {"content": "d", "platforms": ["mastodon"]})
            )
            gone = _data(await client.call_tool("delete_post", {"post_id": draft["id"]}))
            assert gone == {"deleted": draft["id"], "status": "draft"}
        async with http_client(running, running.admin) as admin:
            accounts = _data(await admin.call_tool("list_accounts", {}))
            assert {a["platform"] for a in accounts["accounts"]} == {"mastodon", "bluesky"}
        resource_key = running.key("posts:read")
        async with http_client(running, resource_key) as reader:
            rules = await reader.read_resource("octopost://platforms")
            assert "youtube (YouTube): up to 5000 characters" in rules.contents[0].text
            refused = await reader.call_tool(
                "create_post", {"content": "x", "platforms": ["mastodon"]}
            )
            assert refused.is_error and "lacks the 'posts:write' permission" in _text(refused)
        await _sandbox(running)
        async with httpx.AsyncClient(base_url=running.server.url) as http:
            resp = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert resp.status_code == 401
            assert resp.json()["error"]["code"] == "unauthorized"
            assert resp.headers["www-authenticate"].startswith("Bearer")


async def _sandbox(running: Stack) -> None:
    """A sandbox key gets sandbox tools: told so, simulated, nothing reaches a platform."""
    async with http_client(running, running.key(sandbox=True)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert "SANDBOX key" in (tools["publish_post"].description or "")
        post = _data(
            await client.call_tool("create_post", {"content": "play", "platforms": ["mastodon"]})
        )
        done = _data(await client.call_tool("publish_post", {"post_id": post["id"]}))
        assert done["status"] == "published"
        assert done["platform_results"]["mastodon"]["simulated"] is True
        assert [p["text"] for p in running.fakes["mastodon"].posts] == ["Hello from an agent"]
        listed = _data(await client.call_tool("list_posts", {}))
        assert [p["id"] for p in listed["posts"]] == [post["id"]]  # sandbox posts only


async def test_mcp_over_stdio_against_the_running_server(tmp_path: Path) -> None:
    async with stack(tmp_path) as running:
        key = running.key("posts:read", "posts:write")
        async with stdio_client(running, key) as client:
            await _draft_check_publish(client, running)
            await _bad_calls(client)
            await _accounts_refused(client)


async def test_mcp_stdio_says_where_the_server_is_not(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCTOPOST_")}
    env.update({"OCTOPOST_URL": "http://127.0.0.1:9", "OCTOPOST_KEY": "oct_live_" + "a" * 40})
    params = StdioServerParameters(command=sys.executable, args=["-m", "octopost", "mcp"], env=env)
    async with Client(params) as client:
        result = await client.call_tool("list_posts", {})
        assert result.is_error
        assert "Cannot reach Octopost at http://127.0.0.1:9" in _text(result)
    no_key = run_cli(
        "mcp", env={"OCTOPOST_KEY": "", "OCTOPOST_CREDENTIALS": str(tmp_path / "none")}
    )
    assert no_key.returncode == 2 and "no API key: set OCTOPOST_KEY" in no_key.stderr


async def test_a_tool_that_breaks_inside_answers_without_a_traceback(api: Any) -> None:
    from octopost.client import AppTransport
    from octopost.client import Client as ApiClient
    from octopost.mcp.server import run_tool
    from octopost.mcp.tools import ToolSpec

    app = api.client._transport.app
    client = ApiClient(AppTransport(app, f"Bearer {api.key}"))
    created = await client.create_post({"content": "in process", "platforms": ["mastodon"]})
    assert (await client.get_post(created["id"]))["content"] == "in process"

    async def broken(_client: Any, _args: dict[str, Any]) -> Any:
        raise KeyError("secret internals")

    spec = ToolSpec("broken", "Broken", "", {"type": "object"}, broken, "posts:read")
    result = await run_tool(spec, client, {})
    assert result.is_error
    text = _text(result)
    assert text == "broken failed inside Octopost; the details are in its log."
    assert "secret internals" not in text and "Traceback" not in text


async def test_the_first_mcp_requests_at_once_all_start_the_same_sdk(tmp_path: Path) -> None:
    """The SDK loads on the first /mcp request (not at start-up); requests arriving while
    it loads wait for that one start and are all answered."""
    async with stack(tmp_path) as running:

        async def tools() -> set[str]:
            async with http_client(running, running.admin) as client:
                return {tool.name for tool in (await client.list_tools()).tools}

        answers = await asyncio.gather(*(tools() for _ in range(5)))
        assert answers == [TOOLS] * 5
        assert await tools() == TOOLS  # and later ones use the running one
