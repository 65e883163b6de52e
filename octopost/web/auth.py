"""Bearer API-key authentication for every /v1 route."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from octopost.keys import KeyService
from octopost.models import ApiKey

#: paths that need no API key (everything else, /v1 and /mcp, does; the dashboard's
#: pages opt out with `exclude_from_auth` and sign in with a session instead)
AUTH_EXCLUDE = ["^/healthz", "^/schema"]


class ApiKeyAuth(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        header = connection.headers.get("authorization")
        if not header:
            raise NotAuthorizedException("Missing API key: send 'Authorization: Bearer <key>'")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthorizedException("Malformed Authorization header: expected 'Bearer <key>'")
        keys: KeyService = connection.app.state.services.keys
        key = await keys.authenticate(secret.strip())
        if key is None:
            raise NotAuthorizedException("Invalid or revoked API key")
        return AuthenticationResult(user=key, auth=key)


def current_key(connection: ASGIConnection) -> ApiKey:  # type: ignore[type-arg]
    key: ApiKey = connection.user
    return key
