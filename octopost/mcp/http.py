"""`/mcp` inside `octopost serve`: MCP over streamable HTTP, with the API's Bearer keys.

The API key middleware authenticates `/mcp` like any API route (401 in the API's
error shape). Each tool call then goes into this same app as an API request with
the caller's own `Authorization` header (octopost.client.AppTransport), so a
key's permissions and sandbox apply to MCP exactly as to the API: a sandbox key
gets sandbox posts, a posts-only key cannot touch accounts.

Stateless and JSON answers: every MCP request stands alone (no session to keep or
to hijack; the key is checked on each one) and nothing streams.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from octopost.access import ANY_KEY, needs
from octopost.client import AppTransport, Client
from octopost.mcp.server import Connection, build_server
from octopost.models import ApiKey

PATH = "/mcp"


def _connect(ctx: ServerRequestContext[Any, Any]) -> Connection:
    request = ctx.request
    if request is None:  # never: this server is only reached over HTTP
        raise RuntimeError("an /mcp request without its HTTP request")
    key = request.scope.get("user")
    transport = AppTransport(request.scope["app"], request.headers.get("authorization", ""))
    return Connection(Client(transport), key.sandbox if isinstance(key, ApiKey) else None)


class McpEndpoint:
    """The route and the lifespan part of `/mcp` (one per app)."""

    def __init__(self, max_body: int) -> None:
        self.manager = StreamableHTTPSessionManager(
            app=build_server(_connect),
            stateless=True,
            json_response=True,
            max_request_body_size=max_body,
        )
        manager = self.manager

        # Every tool is an API call checked against its own route's permission;
        # the endpoint itself takes any valid key.
        @asgi(PATH, opt=needs(ANY_KEY), copy_scope=False)
        async def mcp_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
            await manager.handle_request(scope, receive, send)  # type: ignore[arg-type]

        self.handler: ASGIRouteHandler = mcp_endpoint

    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        async with self.manager.run():
            yield
