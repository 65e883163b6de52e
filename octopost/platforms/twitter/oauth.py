"""Connecting an X account: OAuth 2.0 authorization code with PKCE (S256).

Docs: https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code,
https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token.
`offline.access` brings the refresh token (rotating, single-use: `api.py` refreshes);
`media.write` is needed by every /2/media endpoint. A confidential client (one with a
client secret) authenticates with HTTP Basic, a public one sends its client_id.
"""

from __future__ import annotations

from octopost.platforms._connect import Credentials, FlowContext, Grant, OAuthFlow
from octopost.platforms.twitter.api import TOKEN_LIFETIME, TOKEN_PATH


def _token_endpoint(ctx: FlowContext) -> str:
    return (ctx.settings.auth_url or ctx.settings.base_url) + TOKEN_PATH


async def _credentials(ctx: FlowContext, grant: Grant) -> Credentials:
    token = grant.token
    creds: Credentials = {
        "kind": "oauth2",
        "access_token": token.access_token,
        "refresh_token": token.refresh_token or "",
        "client_id": grant.app.client_id,
        "expires_at": grant.now + float(token.expires_in or TOKEN_LIFETIME),
    }
    if grant.app.client_secret:
        creds["client_secret"] = grant.app.client_secret
    return creds


FLOW = OAuthFlow(
    scopes=("tweet.read", "tweet.write", "users.read", "media.write", "offline.access"),
    token_endpoint=_token_endpoint,
    credentials=_credentials,
    register_url="https://developer.x.com/en/portal/projects-and-apps",
    client_auth="basic",
)
