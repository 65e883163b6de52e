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

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

from litestar import Litestar, asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send

from octopost.access import ANY_KEY, needs
from octopost.client import AppTransport, Client
from octopost.models import ApiKey

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    from octopost.mcp.server import Connection

PATH = "/mcp"


def _connect(ctx: ServerRequestContext[Any, Any]) -> Connection:
    from octopost.mcp.server import Connection

    request = ctx.request
    if request is None:  # never: this server is only reached over HTTP
        raise RuntimeError("an /mcp request without its HTTP request")
    key = request.scope.get("user")
    transport = AppTransport(request.scope["app"], request.headers.get("authorization", ""))
    return Connection(Client(transport), key.sandbox if isinstance(key, ApiKey) else None)


def _build(max_body: int) -> StreamableHTTPSessionManager:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    from octopost.mcp.server import build_server

    return StreamableHTTPSessionManager(
        app=build_server(_connect),
        stateless=True,
        json_response=True,
        max_request_body_size=max_body,
    )


class McpEndpoint:
    """The route and the lifespan part of `/mcp` (one per app).

    The MCP SDK is loaded when the first `/mcp` request comes, not at start-up: importing
    it costs ~1 s and ~30 MB, which a server nobody points an agent at should not pay. It
    is imported in a worker thread (the event loop keeps serving meanwhile), and its session
    manager then runs in a task of its own until the app shuts down.
    """

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self._manager: StreamableHTTPSessionManager | None = None
        self._up: asyncio.Future[StreamableHTTPSessionManager] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        endpoint = self

        # Every tool is an API call checked against its own route's permission;
        # the endpoint itself takes any valid key.
        @asgi(PATH, opt=needs(ANY_KEY), copy_scope=False)
        async def mcp_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
            manager = await endpoint.manager()
            await manager.handle_request(scope, receive, send)  # type: ignore[arg-type]

        self.handler: ASGIRouteHandler = mcp_endpoint

    async def manager(self) -> StreamableHTTPSessionManager:
        """The running session manager, started by the first request that needs it."""
        if self._manager is not None:
            return self._manager
        if self._stop is None:
            raise RuntimeError("/mcp called outside the app's lifespan")
        if self._up is None:
            self._up = asyncio.get_running_loop().create_future()
            self._runner = asyncio.create_task(self._run(self._up, self._stop))
        # shielded: a client that gives up does not cancel the start for the others
        return await asyncio.shield(self._up)

    async def _run(
        self, up: asyncio.Future[StreamableHTTPSessionManager], stop: asyncio.Event
    ) -> None:
        try:
            manager = await asyncio.to_thread(_build, self.max_body)
            async with manager.run():
                self._manager = manager
                up.set_result(manager)
                await stop.wait()
        except BaseException as exc:
            if not up.done():
                up.set_exception(exc)
            raise

    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        self._stop = asyncio.Event()
        try:
            yield
        finally:
            self._stop.set()
            runner, self._runner = self._runner, None
            if runner is not None:
                with suppress(Exception):
                    await runner
            if self._up is not None and self._up.done() and not self._up.cancelled():
                self._up.exception()  # retrieved: a failed start was answered to its callers
            self._manager = self._up = self._stop = None
