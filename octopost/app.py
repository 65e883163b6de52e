"""create_app(config) -> Litestar: the one wiring module."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from litestar import Litestar, get
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins import PluginProtocol
from litestar.plugins.core import MsgspecDIPlugin

from octopost import __version__
from octopost.config import Config
from octopost.dashboard import dashboard_routes, template_config
from octopost.mcp.http import McpEndpoint
from octopost.models import utcnow
from octopost.services import Services, build_services
from octopost.web.accounts import AccountController
from octopost.web.admission import Admission
from octopost.web.auth import AUTH_EXCLUDE, ApiKeyAuth
from octopost.web.connect import ConnectController, oauth_callback
from octopost.web.errors import EXCEPTION_HANDLERS
from octopost.web.fastpath import FastPath
from octopost.web.hooks import HeadAsGet, before_request
from octopost.web.idempotency import IdempotencyMiddleware
from octopost.web.openapi import OfflineSwagger, RefinedJson, docs_asset
from octopost.web.posts import PostController
from octopost.web.requestlog import RequestLog
from octopost.web.schemas import Health
from octopost.web.scopes import check_declared
from octopost.web.webhooks import WebhookController

if TYPE_CHECKING:
    from aiohttp.abc import AbstractResolver

MAX_BODY = 1024 * 1024


class App(Litestar):
    """Litestar without the pydantic plugins it adds whenever pydantic is importable (the
    MCP SDK installs it): no route of Octopost's takes or returns a pydantic model, and
    loading them cost ~0.2 s and ~7 MB of every start-up."""

    @staticmethod
    def _get_default_plugins(plugins: list[PluginProtocol]) -> list[PluginProtocol]:
        return [*plugins, MsgspecDIPlugin()]


@get(
    "/healthz",
    summary="Health check",
    description="Needs no API key. `version` is the running Octopost version.",
    tags=["Service"],
    security=[],
)
async def healthz() -> Health:
    return Health(status="ok", version=__version__)


def create_app(
    config: Config,
    *,
    clock: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    resolver: AbstractResolver | None = None,
    platform_clock: Callable[[], float] = time.time,
) -> Litestar:
    running: list[Services] = []  # filled by the lifespan
    mcp = McpEndpoint(MAX_BODY)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = await build_services(
            config, clock=clock, sleep=sleep, resolver=resolver, platform_clock=platform_clock
        )
        app.state.services = services  # for code that embeds the app (the tests)
        running.append(services)
        try:
            await services.start_background()
            yield
        finally:
            running.remove(services)
            await services.close()

    def provide_services() -> Services:
        # Not `state: State`: Litestar would copy the app state (and make a lock) per request.
        return running[-1]

    app = App(
        route_handlers=[
            healthz,
            docs_asset,
            PostController,
            AccountController,
            ConnectController,
            oauth_callback,
            WebhookController,
            mcp.handler,
            *dashboard_routes(),
        ],
        template_config=template_config(),
        lifespan=[lifespan, mcp.lifespan],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            DefineMiddleware(ApiKeyAuth, exclude=AUTH_EXCLUDE, keys=lambda: running[-1].keys),
            # after the key check: a replay belongs to the key that made the request
            DefineMiddleware(IdempotencyMiddleware, store=lambda: running[-1].store.idempotency),
        ],
        before_request=before_request,
        request_max_body_size=MAX_BODY,
        openapi_config=OpenAPIConfig(
            title="Octopost API",
            version=__version__,
            description="Self-hosted cross-posting: one post, many social platforms. "
            "Every /v1 route needs `Authorization: Bearer <API key>` with the permission it "
            "states (`x-permission`; a key made without scopes has all). An MCP server "
            "(streamable HTTP) answers at `/mcp` with the same keys.",
            path="/schema",
            # Offline Swagger UI at /schema (and /schema/swagger), JSON at /schema/openapi.json.
            render_plugins=[OfflineSwagger(), RefinedJson()],
            components=Components(
                security_schemes={
                    "ApiKey": SecurityScheme(
                        type="http", scheme="bearer", description="oct_live_… or oct_test_… key"
                    )
                }
            ),
            security=[{"ApiKey": []}],
        ),
        debug=False,
        logging_config=None,
    )
    check_declared(app)
    # One access line and one request id for every request, 404/405 included (its time
    # includes any wait for admission); HEAD is answered by the GET handler; a plain get
    # or create of a post is answered without Litestar's per-request work (web/fastpath.py).
    fast = FastPath(
        app.asgi_handler, services=lambda: running[-1] if running else None, limit=MAX_BODY
    )
    app.asgi_handler = RequestLog(Admission(HeadAsGet(fast), config.server.max_active_requests))
    return app
