"""Bearer API-key authentication for every /v1 route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware._utils import should_bypass_middleware
from litestar.types import ASGIApp, Receive, Scope, Send

from octopost.access import check_route
from octopost.keys import KeyService
from octopost.models import ApiKey

#: paths that need no API key (everything else, /v1 and /mcp, does; the dashboard's
#: pages opt out with `exclude_from_auth` and sign in with a session instead)
AUTH_EXCLUDE = ["^/healthz", "^/schema"]


class ApiKeyAuth(AbstractAuthenticationMiddleware):
    """`keys` gives the running service's key checker (it exists only once the lifespan
    has started)."""

    def __init__(self, app: ASGIApp, *, keys: Callable[[], KeyService], **options: Any) -> None:
        super().__init__(app, **options)
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The base class's decision, without the connection and header objects it builds
        # per request (a tenth of a GET): the raw header is all a key check needs.
        if not should_bypass_middleware(
            exclude_http_methods=self.exclude_http_methods,
            exclude_opt_key=self.exclude_opt_key,
            exclude_path_pattern=self.exclude,
            scope=scope,
            scopes=self.scopes,
        ):
            header = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    header = value.decode("latin-1")
                    break
            key = await self.verify(header, self.keys())
            check_route(key, scope["route_handler"].opt)
            scope["user"] = key
            scope["auth"] = key
        await self.app(scope, receive, send)

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        key = await self.verify(connection.headers.get("authorization"), self.keys())
        return AuthenticationResult(user=key, auth=key)

    @staticmethod
    async def verify(header: str | None, keys: KeyService) -> ApiKey:
        if not header:
            raise NotAuthorizedException("Missing API key: send 'Authorization: Bearer <key>'")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthorizedException("Malformed Authorization header: expected 'Bearer <key>'")
        key = await keys.authenticate(secret.strip())
        if key is None:
            raise NotAuthorizedException("Invalid or revoked API key")
        return key


def current_key(connection: ASGIConnection) -> ApiKey:  # type: ignore[type-arg]
    key: ApiKey = connection.user
    return key
