"""Connecting a Mastodon account: an app registered on the user's instance, then the
authorization code, with PKCE where the instance supports it.

Docs: https://docs.joinmastodon.org/methods/apps/#create,
https://docs.joinmastodon.org/methods/oauth/, https://docs.joinmastodon.org/spec/oauth/.
There is no app to pre-register: each instance gets its own, registered on the first
connect (POST /api/v1/apps) and remembered per (instance, redirect URI). The instance's
/.well-known/oauth-authorization-server (4.3+) says whether it takes PKCE (S256) and the
`profile` scope; an older instance answers 404: no PKCE, and `read:accounts` instead.
Tokens do not expire and there are no refresh tokens: a revoked token means reconnecting.
"""

from __future__ import annotations

import msgspec

from octopost.platforms._connect import App, Credentials, FlowContext, Grant, OAuthFlow
from octopost.platforms.errors import PlatformError, RejectedError
from octopost.platforms.mastodon.api import normalise_instance_url

#: verify_credentials (profile), statuses and media, and reading our own statuses back
#: to find a post whose answer was lost (read:statuses)
SCOPES = ("profile", "read:statuses", "write:statuses", "write:media")
#: before 4.3 there is no `profile` scope
OLD_SCOPES = ("read:accounts", "read:statuses", "write:statuses", "write:media")


class Discovery(msgspec.Struct):
    scopes_supported: list[str] = []
    code_challenge_methods_supported: list[str] = []


class Registered(msgspec.Struct):
    client_id: str
    client_secret: str


def _instance(ctx: FlowContext) -> str:
    base = normalise_instance_url(ctx.instance_url or "")
    if not base:
        raise RejectedError("Invalid instance_url: name your Mastodon server, e.g. mastodon.social")
    return base


async def _discover(ctx: FlowContext, base: str) -> tuple[bool, tuple[str, ...]]:
    """(PKCE S256 supported, the scopes to ask for) of the instance."""
    try:
        resp = await ctx.http.request(
            "GET", base + "/.well-known/oauth-authorization-server", safe_to_retry=True
        )
        found = resp.decode(Discovery)
    except (PlatformError, msgspec.DecodeError, msgspec.ValidationError):
        return False, OLD_SCOPES  # before 4.3: no discovery, no PKCE, no `profile`
    scopes = SCOPES if "profile" in found.scopes_supported else OLD_SCOPES
    return "S256" in found.code_challenge_methods_supported, scopes


async def _app(ctx: FlowContext, redirect_uri: str) -> App:
    base = _instance(ctx)
    ctx.instance_url = base
    known = await ctx.apps.get(base, redirect_uri)
    if known is not None:
        return known
    pkce, scopes = await _discover(ctx, base)
    resp = await ctx.http.request(
        "POST",
        base + "/api/v1/apps",
        json={
            "client_name": "Octopost",
            "redirect_uris": redirect_uri,
            "scopes": " ".join(scopes),
        },
        safe_to_retry=True,  # a second app is harmless; the first is simply unused
    )
    made = resp.decode(Registered)
    app = App(made.client_id, made.client_secret, pkce=pkce, scopes=scopes)
    await ctx.apps.put(base, redirect_uri, app)
    return app


async def _credentials(ctx: FlowContext, grant: Grant) -> Credentials:
    return {"instance_url": grant.instance_url or "", "access_token": grant.token.access_token}


FLOW = OAuthFlow(
    scopes=SCOPES,
    authorize_endpoint=lambda ctx: _instance(ctx) + "/oauth/authorize",
    token_endpoint=lambda ctx: _instance(ctx) + "/oauth/token",
    credentials=_credentials,
    register_url="https://docs.joinmastodon.org/client/token/ (Octopost registers the app)",
    pkce=True,
    client_auth="form",
    app=_app,
    needs_instance=True,
    # Octopost registers the app for the exact redirect URI it will use, so a command
    # line's loopback address works like the server's callback.
    loopback=True,
)
